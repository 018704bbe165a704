"""The entities dwetl loads: one small declaration each (see `spec.EntitySpec`, `registry`)."""
