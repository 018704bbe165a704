"""The extract contract: what each extract file must return, derived from the code and the DDL.

    build.build_contract(sets, ddl="shipped") -> model.Contract (entities -> files -> columns)

Nothing here is written by hand. For each entity (`dwetl.entities.registry`) the files it
reads are its `extract_parts` (or its one `extract_sql`), the columns and their order each
file's schema (the transform's `SOURCE_SCHEMA`, a part's schema). What the warehouse makes of a
column is found by running the entity's own pipeline (transform, surrogate-key lookups,
`transforms.validate.split` against the constraint sets of the DDL) on an example row: a column
is *required* when a NULL in it gets the row rejected (the rules that reject it are named), and
it *feeds* the warehouse columns it lands in (same name, its lookup's surrogate key, or a
column whose value changes with it), whose type, length and CHECKs are its rules.

The example rows are the shipped extracts' first rows on a small generated sample ERP
(`dwetl.sample.generate`), read with DuckDB in memory: real rows that load.

Its modules: `model` (the contract and its JSON), `build` (probing each entity's pipeline),
`examples` (the example rows), `template` (starting extract files).
"""
