"""Shared infrastructure: settings, connecting, errors, logging, masking, paths, SQL text."""
