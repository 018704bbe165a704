"""One small interface per warehouse dialect (DuckDB, PostgreSQL): see `base.Warehouse`."""
