"""The contract's example rows: the shipped extracts' first rows on a small generated sample
ERP, read with DuckDB in memory (real rows that load)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import polars as pl

from dwetl.entities.registry import MODULES, all_entities
from dwetl.entities.spec import EntitySpec


def combined_example(spec: EntitySpec, examples: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The entity's example as its SOURCE_SCHEMA frame: the first row (of the first part,
    joined with the other parts by `combine`)."""
    if not spec.extract_parts:
        return examples[spec.extract_sql or f"{spec.name}.sql"].head(1)
    assert spec.combine is not None
    return spec.combine(*part_examples(spec, examples))


def part_examples(spec: EntitySpec, examples: Mapping[str, pl.DataFrame]) -> list[pl.DataFrame]:
    """The first part's first row, and the rows of each other part that it joins."""
    first = examples[spec.extract_parts[0].sql].head(1)
    frames = [first]
    for part in spec.extract_parts[1:]:
        frame = examples[part.sql]
        if part.batch_join is not None:
            wanted = first.get_column(part.batch_join).implode()
            frame = frame.filter(pl.col(part.batch_join).is_in(wanted))
        frames.append(frame)
    return frames


@cache
def example_frames() -> dict[str, pl.DataFrame]:
    """Each shipped extract file's rows on a small generated sample ERP (read by DuckDB in
    memory, `:since` bound to NULL), typed as the file's schema."""
    import duckdb

    from dwetl.core.paths import extract_root
    from dwetl.sample.generate import generate_clean
    from dwetl.source.conform import conform
    from dwetl.source.dialects import bind_since

    tables = generate_clean(rows=30, seed=1)
    folder = extract_root()
    con = duckdb.connect()
    try:
        for name, frame in tables.items():
            con.register(name, frame.to_arrow())
        out = {}
        for spec in all_entities():
            files = [(p.sql, p.schema) for p in spec.extract_parts] or [
                (spec.extract_sql or f"{spec.name}.sql", MODULES[spec.name].SOURCE_SCHEMA)
            ]
            for file, schema in files:
                sql = bind_since((folder / file).read_text(encoding="utf-8"), None)
                read = pl.from_arrow(con.sql(sql).to_arrow_table())
                assert isinstance(read, pl.DataFrame)
                out[file] = conform(read, schema).select(list(schema))
        return out
    finally:
        con.close()
