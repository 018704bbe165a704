"""The Spark engine (`dwetl run --engine spark`, docs/spark.md): the batches of a large fact read,
transformed and validated by Spark tasks, the rest of the run as in this process. pyspark is
imported in these modules only, and only when the engine runs (`dwetl --help` stays fast)."""
