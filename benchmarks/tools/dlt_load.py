"""dlt's `sql_database` pipeline: what a team would pick instead of dwetl.

Every source table, merged on `id` (the ERP's natural key; the newest `atualizado_em` wins when
a row has several versions, as in dwetl), with dlt's fastest reading backend. Its state and
load packages live in a throwaway folder; telemetry is off.

    python -m benchmarks.tools.dlt_load --source URL --dw URL --work DIR
        [--backend connectorx|pyarrow] [--file-format parquet|insert_values|csv]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks.databases import SOURCE_TABLES, sqlalchemy_url


def _with_password(url: str) -> str:
    # dlt refuses PostgreSQL credentials without a password; the local server trusts the user
    # and ignores whatever is sent.
    parts = urlsplit(url)
    if parts.password is not None or "@" not in parts.netloc:
        return url
    user, host = parts.netloc.split("@", 1)
    return urlunsplit(parts._replace(netloc=f"{user}:unused@{host}"))


def _source_options(url: str) -> dict[str, Any]:
    """How dlt reaches the source; for SQLite, the workaround a team needs on a damaged ERP copy.

    As-is, dlt stops on the first legacy-encoded (non-UTF-8) text value ("Invalid UTF8
    payload") or BLOB value in a text column. The workaround reads text columns as TEXT and
    decodes them with errors="replace": the data loads, but damaged letters become U+FFFD.
    """
    if not url.startswith("sqlite://"):
        return {"credentials": sqlalchemy_url(url)}
    import sqlalchemy as sa

    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _lenient_text(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.text_factory = lambda raw: raw.decode("utf-8", "replace")

    def _text_as_text(query: Any, table: Any) -> Any:
        return sa.select(
            *[
                sa.cast(c, sa.Text()).label(c.name) if isinstance(c.type, sa.String) else c
                for c in table.c
            ]
        )

    return {"credentials": engine, "query_adapter_callback": _text_as_text}


def main(argv: list[str] | None = None) -> None:
    """Extract, normalize, load (timed apart); print {"phases": {...}, "rows": n}."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--dw", required=True)
    parser.add_argument("--work", required=True, help="folder for dlt's pipelines and state")
    parser.add_argument("--backend", default="pyarrow")
    parser.add_argument("--file-format", default=None)
    parser.add_argument("--tables", default=",".join(SOURCE_TABLES))
    args = parser.parse_args(argv)

    os.environ["DLT_DATA_DIR"] = args.work
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    import dlt
    from dlt.sources.sql_database import sql_database

    destination: Any
    if args.dw.startswith("duckdb:///"):
        destination = dlt.destinations.duckdb(args.dw.removeprefix("duckdb:///"))
    else:
        destination = dlt.destinations.postgres(_with_password(args.dw))

    started = time.perf_counter()
    source = sql_database(
        table_names=args.tables.split(","),
        backend=args.backend,
        **_source_options(args.source),
    )
    for resource in source.resources.values():
        resource.apply_hints(
            primary_key="id",
            write_disposition="merge",
            columns={"atualizado_em": {"dedup_sort": "desc"}},
        )
    pipeline = dlt.pipeline(
        pipeline_name="bench",
        pipelines_dir=os.path.join(args.work, "pipelines"),
        destination=destination,
        dataset_name="dlt_dw",
    )
    pipeline.extract(source, loader_file_format=args.file_format)
    extracted = time.perf_counter()
    pipeline.normalize()
    normalized = time.perf_counter()
    info = pipeline.load()
    loaded = time.perf_counter()
    info.raise_on_failed_jobs()
    normalize_info: Any = pipeline.last_trace.last_normalize_info  # type: ignore[union-attr]
    rows = sum(int(normalize_info.row_counts.get(t, 0)) for t in SOURCE_TABLES)
    print(
        json.dumps(
            {
                "phases": {
                    "extract": extracted - started,
                    "normalize": normalized - extracted,
                    "load": loaded - normalized,
                },
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
