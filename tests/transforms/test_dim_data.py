"""dim_data: whole years around the source's dates; names exactly as the DDL's CHECKs."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from dwetl.entities.registry import domains, get_entity
from transforms import dim_data


def _bounds(
    vmin: datetime | None, vmax: datetime | None, mmin: int | None, mmax: int | None
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "data_venda_min": [vmin],
            "data_venda_max": [vmax],
            "ano_mes_min": [mmin],
            "ano_mes_max": [mmax],
            "atualizado_em": [datetime(2025, 1, 1)],
        },
        schema=dim_data.SOURCE_SCHEMA,
    )


def test_names_are_the_ddl_domains_in_calendar_order() -> None:
    allowed = domains("dw.dim_data")
    assert allowed["nome_mes"] == dim_data.MONTH_NAMES
    assert allowed["nome_dia_semana"] == dim_data.WEEKDAY_NAMES


def test_calendar_spans_whole_years_of_sales_and_targets() -> None:
    out = get_entity("dim_data").transform(
        _bounds(datetime(2023, 6, 15, 10), datetime(2024, 2, 1), 202201, 202312)
    )
    assert out["data"].min() == date(2022, 1, 1)
    assert out["data"].max() == date(2024, 12, 31)
    assert out.height == 365 + 365 + 366
    assert out["sk_data"].is_unique().all()


def test_one_day_in_detail() -> None:
    out = dim_data.transform(_bounds(datetime(2024, 3, 9), datetime(2024, 3, 9), None, None))
    row = out.filter(pl.col("data") == date(2024, 3, 9)).row(0, named=True)
    assert row == {
        "sk_data": 20240309,
        "data": date(2024, 3, 9),
        "ano": 2024,
        "trimestre": 1,
        "mes": 3,
        "nome_mes": "Março",
        "dia": 9,
        "dia_semana": 7,
        "nome_dia_semana": "Sábado",
        "fim_de_semana": True,
    }
    sunday = out.filter(pl.col("data") == date(2024, 3, 10)).row(0, named=True)
    assert (sunday["dia_semana"], sunday["nome_dia_semana"], sunday["fim_de_semana"]) == (
        1,
        "Domingo",
        True,
    )
    monday = out.filter(pl.col("data") == date(2024, 3, 11)).row(0, named=True)
    assert (monday["dia_semana"], monday["fim_de_semana"]) == (2, False)
    assert out.filter(pl.col("mes") == 12)["trimestre"].unique().to_list() == [4]


def test_empty_source_gives_an_empty_calendar_with_the_table_columns() -> None:
    out = dim_data.transform(_bounds(None, None, None, None))
    assert out.height == 0
    assert out.schema == pl.Schema(dim_data.OUTPUT_SCHEMA)
