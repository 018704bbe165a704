"""Imports every command module so that each registers its commands on the app."""

# One line per command group; keep alphabetical.
from dwetl.cli import version  # noqa: F401
