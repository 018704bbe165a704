"""Throughput of `transforms.validate.split` on fact rows, side by side with its floor.

uv run python -m benchmarks.validate_split --rows 5000000

Columns: `split` on a clean batch and on one with 0.1% bad rows and 0.01% duplicated keys; the
floor of any in-batch key check (one `is_duplicated` on the primary key) and of any CHECK pass
(one `is_in` on the channel); and the per-row reason list design DESIGN.md rejected.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from transforms.constraints import constraint_sets_from_ddl
from transforms.validate import split

DDL = Path(__file__).resolve().parents[1] / "sql" / "ddl"
CANAIS = ["Loja Física", "E-commerce", "Aplicativo", "Televendas"]


def fact_rows(n: int, *, bad_every: int | None = None) -> pl.DataFrame:
    """`n` fact_vendas rows; every `bad_every`-th has a bad channel and a duplicated key."""
    i = pl.int_range(0, n, eager=True)
    frame = pl.DataFrame(
        {
            "id_item_origem": i,
            "id_venda_origem": i // 3,
            "sk_data": pl.Series([20240101] * n, dtype=pl.Int64),
            "sk_cliente": i % 1000,
            "sk_produto": i % 500,
            "sk_loja": i % 50,
            "sk_vendedor": i % 200,
            "canal": pl.Series(CANAIS * (n // 4) + CANAIS[: n % 4]),
            "quantidade": i % 5 + 1,
            "preco_unitario": ((i % 1000 + 1).cast(pl.Decimal(38, 2)) / 10).cast(pl.Decimal(38, 2)),
        }
    )
    frame = frame.with_columns(
        valor_bruto=(pl.col("quantidade") * pl.col("preco_unitario")).cast(pl.Decimal(38, 2)),
        valor_desconto=pl.lit(0).cast(pl.Decimal(38, 2)),
    ).with_columns(
        valor_liquido=pl.col("valor_bruto") - pl.col("valor_desconto"),
        atualizado_em=pl.lit(dt.datetime(2024, 1, 1)),
        id_execucao=pl.lit(1, dtype=pl.Int64),
    )
    if bad_every:
        bad = pl.col("id_item_origem") % bad_every == 0
        frame = frame.with_columns(
            canal=pl.when(bad).then(pl.lit("Loja Fisica")).otherwise(pl.col("canal")),
            id_item_origem=pl.when(pl.col("id_item_origem") % (bad_every * 10) == 1)
            .then(pl.lit(0, dtype=pl.Int64))
            .otherwise(pl.col("id_item_origem")),
        )
    return frame


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = [p.read_text(encoding="utf-8") for p in sorted(DDL.glob("*.sql"))]
    cs = constraint_sets_from_ddl(texts)["dw.fact_vendas"]
    clean = fact_rows(args.rows)
    dirty = fact_rows(args.rows, bad_every=1000)
    names = [f"r{i}" for i in range(3)]
    per_row = clean.lazy().with_columns(
        (pl.col("quantidade") <= 0).alias("r0"),
        ~pl.col("canal").is_in(pl.Series(CANAIS).implode()).alias("r1"),
        pl.col("id_item_origem").is_duplicated().alias("r2"),
    )
    seconds = {
        "split_clean": best_of(lambda: split(clean, cs), args.repeat),
        "split_dirty": best_of(lambda: split(dirty, cs), args.repeat),
        "floor_pk_is_duplicated": best_of(
            lambda: clean.select(pl.col("id_item_origem").is_duplicated()), args.repeat
        ),
        "floor_one_in_list": best_of(
            lambda: clean.select(pl.col("canal").is_in(pl.Series(CANAIS).implode())),
            args.repeat,
        ),
        "per_row_concat_list_3_rules": best_of(
            lambda: per_row.select(
                pl.concat_list(
                    [pl.when(pl.col(n)).then(pl.lit(n)) for n in names]
                ).list.drop_nulls()
            ).collect(),
            args.repeat,
        ),
    }
    print(json.dumps({"rows": args.rows, "seconds": {k: round(v, 3) for k, v in seconds.items()}}))


if __name__ == "__main__":
    main()
