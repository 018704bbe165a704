"""A run: the runner, the load of one entity, and what the run did (`summary`)."""
