"""pandas + SQLAlchemy: the naive script a team writes first (`read_sql` + `to_sql`).

The fact table only (`venda_itens`, optionally its first `--limit` rows), read whole into a
DataFrame and appended to a new table with pandas' defaults.

    python -m benchmarks.tools.pandas_load --source URL --dw URL [--limit N]
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.databases import FACT_SOURCE_TABLE, sqlalchemy_url


def main(argv: list[str] | None = None) -> None:
    """read_sql, to_sql; print {"phases": {"extract": s, "load": s}, "rows": n}."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--dw", required=True)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)

    import pandas as pd
    import sqlalchemy as sa

    source = sa.create_engine(sqlalchemy_url(args.source))
    target = sa.create_engine(sqlalchemy_url(args.dw))
    query = f"SELECT * FROM {FACT_SOURCE_TABLE}"
    if args.limit:
        query += f" ORDER BY id LIMIT {args.limit}"

    started = time.perf_counter()
    frame = pd.read_sql(query, source)
    extracted = time.perf_counter()
    frame.to_sql("fact_vendas_pandas", target, if_exists="append", index=False)
    loaded = time.perf_counter()
    print(
        json.dumps(
            {
                "phases": {"extract": extracted - started, "load": loaded - extracted},
                "rows": len(frame),
            }
        )
    )


if __name__ == "__main__":
    main()
