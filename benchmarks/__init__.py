"""Full-reload and incremental benchmarks of dwetl, side by side with the floor, dlt and pandas."""
