"""dwetl: a Polars in-memory batch ETL from a retail ERP into a star-schema sales warehouse."""

__version__ = "0.1.0"
