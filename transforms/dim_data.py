"""dim_data: a calendar of whole years spanning the source's dates, with Portuguese names.

>>> f = pl.DataFrame({"data_venda_min": [datetime(2024, 5, 2)],
...     "data_venda_max": [datetime(2024, 6, 1)], "ano_mes_min": [202401],
...     "ano_mes_max": [202412], "atualizado_em": [None]}, schema_overrides=SOURCE_SCHEMA)
>>> t = transform(f)
>>> t.height, t.row(0)
(366, (20240101, datetime.date(2024, 1, 1), 2024, 1, 1, 'Janeiro', 1, 2, 'Segunda-feira', False))
"""

from __future__ import annotations

from datetime import date, datetime  # noqa: F401  (datetime: used by the doctest)

import polars as pl

from transforms.columns import TIMESTAMP, date_key

SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "data_venda_min": TIMESTAMP,
    "data_venda_max": TIMESTAMP,
    "ano_mes_min": pl.Int64(),  # yyyymm of the earliest sales target
    "ano_mes_max": pl.Int64(),
    "atualizado_em": TIMESTAMP,
}
# As CK_DIM_DATA_nome_mes / CK_DIM_DATA_nome_dia_semana spell them (a test compares with the DDL).
MONTH_NAMES = (
    "Janeiro", "Fevereiro", "Março", "Abril", "Maio", "Junho",
    "Julho", "Agosto", "Setembro", "Outubro", "Novembro", "Dezembro",
)  # fmt: skip
WEEKDAY_NAMES = (
    "Domingo", "Segunda-feira", "Terça-feira", "Quarta-feira", "Quinta-feira", "Sexta-feira",
    "Sábado",
)  # fmt: skip
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "sk_data": pl.Int32(),
    "data": pl.Date(),
    "ano": pl.Int16(),
    "trimestre": pl.Int16(),
    "mes": pl.Int16(),
    "nome_mes": pl.String(),
    "dia": pl.Int16(),
    "dia_semana": pl.Int16(),  # 1 = Domingo ... 7 = Sábado
    "nome_dia_semana": pl.String(),
    "fim_de_semana": pl.Boolean(),
}


def _year_span(frame: pl.DataFrame) -> tuple[int, int] | None:
    years = frame.select(
        pl.min_horizontal(
            pl.col("data_venda_min").min().dt.year(), (pl.col("ano_mes_min").min() // 100)
        ).alias("first"),
        pl.max_horizontal(
            pl.col("data_venda_max").max().dt.year(), (pl.col("ano_mes_max").max() // 100)
        ).alias("last"),
    ).row(0)
    if years[0] is None or years[1] is None:
        return None
    return int(years[0]), int(years[1])


def transform(frame: pl.DataFrame) -> pl.DataFrame:
    """Every day of the years from the earliest to the latest source date (empty source: none)."""
    span = _year_span(frame)
    if span is None:
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    days = pl.date_range(date(span[0], 1, 1), date(span[1], 12, 31), "1d", eager=True)
    weekday = (pl.col("data").dt.weekday() % 7 + 1).cast(pl.Int16)  # ISO Monday=1 -> Sunday=1
    return (
        days.alias("data")
        .to_frame()
        .select(
            date_key(pl.col("data")).alias("sk_data"),
            pl.col("data"),
            pl.col("data").dt.year().cast(pl.Int16).alias("ano"),
            pl.col("data").dt.quarter().cast(pl.Int16).alias("trimestre"),
            pl.col("data").dt.month().cast(pl.Int16).alias("mes"),
            pl.col("data")
            .dt.month()
            .replace_strict(list(range(1, 13)), list(MONTH_NAMES), return_dtype=pl.String)
            .alias("nome_mes"),
            pl.col("data").dt.day().cast(pl.Int16).alias("dia"),
            weekday.alias("dia_semana"),
            weekday.replace_strict(
                list(range(1, 8)), list(WEEKDAY_NAMES), return_dtype=pl.String
            ).alias("nome_dia_semana"),
            weekday.is_in([1, 7]).alias("fim_de_semana"),
        )
        .cast(OUTPUT_SCHEMA)  # type: ignore[arg-type]
    )
