"""Every shipped extract against a generated, damaged sample source (SQLite), checked against
counts and values computed here from the source and the sample's ground truth."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from dwetl.core.config import Settings, load_settings
from dwetl.entities.registry import get_entity
from dwetl.sample import Sample, generate_sample, write_sample
from dwetl.source.extract import Extracted, extract

# entity -> (source table, extract column holding the table's id)
SOURCES = {
    "dim_cliente": ("clientes", "id_cliente_origem"),
    "dim_produto": ("produtos", "id_produto_origem"),
    "dim_loja": ("lojas", "id_loja_origem"),
    "dim_vendedor": ("vendedores", "id_vendedor_origem"),
    "dim_desconto": ("descontos", "id_desconto_origem"),
    "fact_vendas": ("venda_itens", "id_item_origem"),
    "fact_descontos": ("venda_descontos", "id_venda_desconto_origem"),
    "fact_metas": ("metas", "id_meta_origem"),
}


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Sample, Path, Settings]:
    folder = tmp_path_factory.mktemp("sample")
    sample = generate_sample(rows=1500, seed=11, damage=0.05)
    path = folder / "oltp.sqlite"
    write_sample(sample, f"sqlite:///{path}")
    settings = load_settings(
        source=f"sqlite:///{path}", dw=f"duckdb:///{folder / 'dw.duckdb'}", cwd=folder, env={}
    )
    return sample, path, settings


@pytest.fixture(scope="module")
def extracted(sampled: tuple[Sample, Path, Settings]) -> dict[str, Extracted]:
    settings = sampled[2]
    return {name: extract(get_entity(name), settings, None) for name in [*SOURCES, "dim_data"]}


@pytest.mark.parametrize("entity", list(SOURCES))
def test_every_source_row_version_is_extracted(
    entity: str, sampled: tuple[Sample, Path, Settings], extracted: dict[str, Extracted]
) -> None:
    table, id_column = SOURCES[entity]
    with sqlite3.connect(sampled[1]) as conn:
        ids = sorted(r[0] for r in conn.execute(f"SELECT id FROM {table}"))
    assert ids, table
    assert sorted(extracted[entity].frame.get_column(id_column).to_list()) == ids


def test_legacy_encoded_cells_arrive_as_their_clean_text(
    sampled: tuple[Sample, Path, Settings], extracted: dict[str, Extracted]
) -> None:
    truth = sampled[0].truth.filter(pl.col("classe") == "codificacao_legada")
    by_table = {table: entity for entity, (table, _) in SOURCES.items() if entity.startswith("dim")}
    checked = 0
    for row in truth.filter(pl.col("tabela").is_in(list(by_table))).iter_rows(named=True):
        entity = by_table[row["tabela"]]
        frame = extracted[entity].frame
        hit = frame.filter(
            (pl.col(SOURCES[entity][1]) == row["id"])
            & (pl.col("atualizado_em") == row["atualizado_em"])
        )
        assert row["valor_limpo"] in hit.get_column(row["coluna"]).to_list(), row
        checked += 1
    assert checked > 0
    assert sum(e.legacy_decoded for e in extracted.values()) > 0


def test_calendar_bounds_match_the_source(
    sampled: tuple[Sample, Path, Settings], extracted: dict[str, Extracted]
) -> None:
    with sqlite3.connect(sampled[1]) as conn:
        first, last = conn.execute("SELECT MIN(data_venda), MAX(data_venda) FROM vendas").fetchone()
    row = extracted["dim_data"].frame.row(0, named=True)
    assert str(row["data_venda_min"]) == first
    assert str(row["data_venda_max"]) == last


def test_transforms_keep_every_row_and_key(extracted: dict[str, Extracted]) -> None:
    for name, (_, id_column) in SOURCES.items():
        frame = extracted[name].frame
        out = get_entity(name).transform(frame)
        assert out.get_column(id_column).to_list() == frame.get_column(id_column).to_list(), name
    calendar = get_entity("dim_data").transform(extracted["dim_data"].frame)
    assert calendar.height >= 365
    assert calendar["data"].is_unique().all()
