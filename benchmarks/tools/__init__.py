"""The tools measured side by side; each module runs as its own process and prints one JSON line."""
