"""PostgreSQL warehouse load paths, side by side in one run: how to stage, how to merge.

Staging (N rows shaped like dw.fact_vendas into an empty table):
  load_arrow      dwetl's load_arrow: psycopg 3 COPY FROM STDIN (FORMAT binary), encoded from
                  Arrow by pgpq (results before 2026-12-04: CSV written by Arrow, `copy_csv`)
  copy_binary     psycopg 3 COPY (FORMAT binary), rows from Arrow through write_row
  adbc_ingest     adbc-driver-postgresql `adbc_ingest` (binary COPY in C; its own connection)
each into a logged table, an UNLOGGED one and a TEMP one (copy paths; ADBC cannot see a table
of another session or one created in an open transaction of another connection).

Merge (target with the DDL's key and CHECKs, no FKs; staging = what a run stages):
  first load      empty target, N staged rows
  delta 10%, 25%  N-row target, N/10 (N/4) staged rows all changed (an incremental run)
  snapshot 10%    N-row target, N staged rows of which N/10 changed (a --full run)
  strategies      MERGE (dwetl's merge_sql) and INSERT ... ON CONFLICT DO UPDATE ... WHERE
                  (cols) IS DISTINCT FROM (excluded cols); plain INSERT ... SELECT as the floor
                  on the first load. After each, rows whose xmin changed are counted: an
                  unchanged row must never be rewritten.

    uv run --group bench python -m benchmarks.pg_load_paths --rows 500000 --repeat 3

Every figure is the median of --repeat rounds (min and max kept); results go to
benchmarks/results/pg_load_paths-<UTC time>.json. A fresh database is created and dropped.
"""

from __future__ import annotations

import argparse
import json
import platform
import secrets
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import pyarrow as pa

from dwetl.core.urls import parse_url
from dwetl.run.merge import MergePlan, merge_sql, upsert_sql
from dwetl.warehouse.postgresql import PostgreSQLWarehouse

ADMIN = "host=localhost port=5432 user=postgres dbname=postgres"
RESULTS = Path(__file__).parent / "results"

TABLE_DDL = """
CREATE TABLE {name} (
    id_item_origem   BIGINT        NOT NULL,
    id_venda_origem  BIGINT        NOT NULL,
    sk_data          INTEGER       NOT NULL,
    sk_cliente       BIGINT        NOT NULL,
    sk_produto       BIGINT        NOT NULL,
    sk_loja          BIGINT        NOT NULL,
    sk_vendedor      BIGINT        NOT NULL,
    canal            VARCHAR(20)   NOT NULL,
    quantidade       INTEGER       NOT NULL,
    preco_unitario   DECIMAL(12,2) NOT NULL,
    valor_bruto      DECIMAL(14,2) NOT NULL,
    valor_desconto   DECIMAL(14,2) NOT NULL,
    valor_liquido    DECIMAL(14,2) NOT NULL,
    atualizado_em    TIMESTAMP     NOT NULL,
    id_execucao      BIGINT        NOT NULL
    {constraints}
)"""
CONSTRAINTS = """,
    CONSTRAINT pk_alvo PRIMARY KEY (id_item_origem),
    CONSTRAINT ck_alvo_quantidade CHECK (quantidade > 0),
    CONSTRAINT ck_alvo_bruto CHECK (valor_bruto = quantidade * preco_unitario),
    CONSTRAINT ck_alvo_liquido CHECK (valor_liquido = valor_bruto - valor_desconto)"""
CANAIS = ["Loja Física", "E-commerce", "Aplicativo", "Televendas"]


def frame(rows: int, seed: int, *, run_id: int = 1, first_id: int = 1) -> pl.DataFrame:
    """`rows` fact rows that satisfy the table's CHECKs, ids from `first_id`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    qty = rng.integers(1, 10, rows)
    cents = rng.integers(100, 500_000, rows)
    disc = (cents * qty * rng.integers(0, 20, rows)) // 100
    gross = cents * qty
    return pl.DataFrame(
        {
            "id_item_origem": np.arange(first_id, first_id + rows, dtype=np.int64),
            "id_venda_origem": np.arange(first_id, first_id + rows, dtype=np.int64) // 3,
            "sk_data": rng.integers(20200101, 20201231, rows).astype(np.int32),
            "sk_cliente": rng.integers(1, 100_000, rows),
            "sk_produto": rng.integers(1, 10_000, rows),
            "sk_loja": rng.integers(1, 200, rows),
            "sk_vendedor": rng.integers(1, 2_000, rows),
            "canal": np.array(CANAIS)[rng.integers(0, 4, rows)],
            "quantidade": qty.astype(np.int32),
            "preco_unitario": cents,
            "valor_bruto": gross,
            "valor_desconto": disc,
            "valor_liquido": gross - disc,
            "atualizado_em": rng.integers(1_577_836_800, 1_609_459_199, rows) * 1_000_000,
            "id_execucao": np.full(rows, run_id, dtype=np.int64),
        }
    ).with_columns(
        *(
            # exact cents: Polars' decimal division keeps the dividend's scale (0)
            pl.format("{}.{}", pl.col(c) // 100, (pl.col(c) % 100).cast(pl.String).str.zfill(2))
            .cast(pl.Decimal(14, 2))
            .alias(c)
            for c in ("preco_unitario", "valor_bruto", "valor_desconto", "valor_liquido")
        ),
        pl.col("atualizado_em").cast(pl.Datetime("us")),
    )


def changed(base: pl.DataFrame, share: float, run_id: int) -> pl.DataFrame:
    """Every 1/share-th row of `base` with another customer and lineage (every one differs)."""
    step = round(1 / share)
    picked = base.filter(pl.col("id_item_origem") % step == 0)
    return picked.with_columns(
        pl.col("sk_cliente") + 1_000_000,
        pl.lit(run_id, dtype=pl.Int64).alias("id_execucao"),
    )


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(values), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
    }


class Bench:
    """One fresh database and the connections the paths use."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.name = f"dwetl_bench_{secrets.token_hex(4)}"
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {self.name}")  # type: ignore[arg-type]
        self.url = f"postgresql://postgres@localhost:5432/{self.name}"
        self.wh = PostgreSQLWarehouse.connect(parse_url(self.url, setting="bench", cwd=Path()))
        self.wh.execute("CREATE SCHEMA stg")
        self.wh.execute("CREATE SCHEMA dw")

    def close(self) -> None:
        self.wh.close()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")  # type: ignore[arg-type]

    def table(self, name: str, kind: str = "", constraints: bool = False) -> None:
        self.wh.execute(f"DROP TABLE IF EXISTS {name}")
        ddl = TABLE_DDL.format(name=name, constraints=CONSTRAINTS if constraints else "")
        self.wh.execute(ddl.replace("CREATE TABLE", f"CREATE {kind} TABLE".replace("  ", " ")))


def copy_binary(wh: PostgreSQLWarehouse, name: str, data: pa.Table) -> None:
    """COPY (FORMAT binary) through psycopg: types set once, each row from Arrow's Python."""
    con = wh._con
    types = [
        "int8", "int8", "int4", "int8", "int8", "int8", "int8", "text", "int4",
        "numeric", "numeric", "numeric", "numeric", "timestamp", "int8",
    ]  # fmt: skip
    columns = ", ".join(data.column_names)
    with con.cursor() as cur, cur.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT binary)") as cp:
        cp.set_types(types)
        for batch in data.to_batches(max_chunksize=100_000):
            for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                cp.write_row(row)


def adbc_ingest(url: str, schema: str, table: str, data: pa.Table) -> None:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(url) as con, con.cursor() as cur:
        cur.adbc_ingest(table, data, mode="append", db_schema_name=schema)
        con.commit()


def staging_paths(bench: Bench, data: pa.Table, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    wh = bench.wh
    cases: list[tuple[str, str, Callable[[str], None]]] = []
    for kind in ("", "UNLOGGED", "TEMP"):
        label = kind.lower() or "logged"
        cases.append((f"load_arrow/{label}", kind, lambda n: wh.load_arrow(n, data)))
        cases.append((f"copy_binary/{label}", kind, lambda n: copy_binary(wh, n, data)))
    for kind in ("", "UNLOGGED"):
        label = kind.lower() or "logged"
        cases.append(
            (
                f"adbc_ingest/{label}",
                kind,
                lambda n: adbc_ingest(bench.url, *n.split("."), data),
            )
        )
    for label, kind, load in cases:
        times = []
        for _ in range(repeat):
            name = "stg_bench" if kind == "TEMP" else "stg.stg_bench"
            bench.table(name, kind)
            if kind == "TEMP" or label.startswith("adbc"):
                times.append(timed(lambda load=load, name=name: load(name)))
            else:  # dwetl stages inside the entity's transaction

                def in_tx(load: Callable[[str], None] = load, name: str = name) -> None:
                    with wh.transaction():
                        load(name)

                times.append(timed(in_tx))
            (loaded,), *_ = wh.fetchall(f"SELECT COUNT(*) FROM {name}")
            assert loaded == data.num_rows, (label, loaded)
            wh.execute(f"DROP TABLE {name}")
        out[label] = summary(times)
        print(f"  stage {label:24s} {out[label]['median_s']:7.3f} s", flush=True)
    return out


def merge_paths(bench: Bench, base: pl.DataFrame, repeat: int) -> dict[str, Any]:
    wh = bench.wh
    columns = tuple(base.columns)
    plan = MergePlan("dw.alvo", "stg.lote", columns, ("id_item_origem",))
    delta = changed(base, 0.10, run_id=2)
    snapshot = (
        pl.concat([base.join(delta, on="id_item_origem", how="anti"), delta])
        .with_columns(pl.lit(2, dtype=pl.Int64).alias("id_execucao"))
        .sort("id_item_origem")
    )
    bench.table("dw.alvo_base", constraints=False)
    wh.load_arrow("dw.alvo_base", base.to_arrow())
    quarter = changed(base, 0.25, run_id=2)
    scenarios = {
        "first_load": (False, base, base.height),
        "delta_10pct": (True, delta, delta.height),
        "delta_25pct": (True, quarter, quarter.height),
        "snapshot_10pct": (True, snapshot, delta.height),
    }
    strategies = {
        "merge": merge_sql(plan),
        "analyze_merge": f"ANALYZE {plan.staging}; {merge_sql(plan)}",
        "on_conflict": upsert_sql(plan),
        "insert_select": f"INSERT INTO dw.alvo SELECT * FROM {plan.staging}",
    }
    out: dict[str, Any] = {}
    for scenario, (filled, staged, expect_written) in scenarios.items():
        for strategy, sql in strategies.items():
            if strategy == "insert_select" and filled:
                continue
            times, rewritten = [], []
            for _ in range(repeat):
                bench.table("dw.alvo", constraints=True)
                if filled:
                    wh.execute("INSERT INTO dw.alvo SELECT * FROM dw.alvo_base")
                wh.execute("VACUUM ANALYZE dw.alvo")
                bench.table("stg.lote", "UNLOGGED")
                wh.load_arrow("stg.lote", staged.to_arrow())
                wh.execute("CHECKPOINT")
                before = wh.fetch_polars("SELECT id_item_origem, xmin::text AS x FROM dw.alvo")

                def apply(sql: str = sql) -> None:
                    with wh.transaction():
                        for statement in sql.split("; "):
                            wh.execute(statement)

                times.append(timed(apply))
                after = wh.fetch_polars("SELECT id_item_origem, xmin::text AS x FROM dw.alvo")
                (total,), *_ = wh.fetchall("SELECT COUNT(*) FROM dw.alvo")
                assert total == base.height, (scenario, strategy, total)
                if before.height:
                    moved = before.join(after, on="id_item_origem").filter(
                        pl.col("x") != pl.col("x_right")
                    )
                    rewritten.append(moved.height)
                else:
                    rewritten.append(after.height)
            assert set(rewritten) == {expect_written}, (scenario, strategy, rewritten)
            out[f"{scenario}/{strategy}"] = {**summary(times), "rows_written": rewritten[0]}
            median = out[f"{scenario}/{strategy}"]["median_s"]
            print(
                f"  {scenario:15s} {strategy:14s} {median:7.3f} s  rows written {rewritten[0]}",
                flush=True,
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("stage", "merge"), default=None)
    args = parser.parse_args()

    base = frame(args.rows, seed=7)
    bench = Bench(args.rows)
    results: dict[str, Any] = {
        "benchmark": "pg_load_paths",
        "rows": args.rows,
        "repeat": args.repeat,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.node(),
        "postgresql": bench.wh.fetchall("SHOW server_version")[0][0],
    }
    try:
        print(f"PostgreSQL load paths, {args.rows} rows, median of {args.repeat}", flush=True)
        if args.only in (None, "stage"):
            results["stage"] = staging_paths(bench, base.to_arrow(), args.repeat)
        if args.only in (None, "merge"):
            results["merge"] = merge_paths(bench, base, args.repeat)
    finally:
        bench.close()
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"pg_load_paths-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
