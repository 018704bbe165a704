"""Damage at rate R: exact counts per table, disjoint rows, versions, and a truthful record."""

from __future__ import annotations

import polars as pl
import pytest

from dwetl.sample import Sample, generate_sample
from dwetl.sample.damage import ROW_DAMAGE, TEXT_COLUMNS
from dwetl.sample.generate import generate_clean
from dwetl.sample.textdamage import damage_text

ROWS, SEED, RATE = 20_000, 5, 0.05


@pytest.fixture(scope="module")
def sample() -> Sample:
    return generate_sample(ROWS, SEED, RATE)


@pytest.fixture(scope="module")
def clean() -> dict[str, pl.DataFrame]:
    return generate_clean(ROWS, SEED)


def test_row_damage_count_is_rate_times_rows(
    sample: Sample, clean: dict[str, pl.DataFrame]
) -> None:
    row_classes = {spec.classe for specs in ROW_DAMAGE.values() for spec in specs}
    truth = sample.truth.filter(pl.col("classe").is_in(row_classes))
    for table, frame in clean.items():
        expected = round(RATE * frame.height) if table in ROW_DAMAGE else 0
        got = truth.filter(pl.col("tabela") == table)
        assert got.height == expected, table
        assert got["id"].n_unique() == expected, table  # one row damage per row


def test_text_damage_count_per_column(sample: Sample, clean: dict[str, pl.DataFrame]) -> None:
    row_classes = {spec.classe for specs in ROW_DAMAGE.values() for spec in specs}
    text = sample.truth.filter(~pl.col("classe").is_in(row_classes))
    for table, columns in TEXT_COLUMNS.items():
        for column in columns:
            got = text.filter((pl.col("tabela") == table) & (pl.col("coluna") == column))
            assert got.height == round(RATE * clean[table].height), (table, column)
            assert got["recuperavel"].all()


def test_text_and_row_damage_never_share_a_row(sample: Sample) -> None:
    row_classes = {spec.classe for specs in ROW_DAMAGE.values() for spec in specs}
    t = sample.truth.with_columns(row=pl.col("classe").is_in(row_classes))
    mixed = t.group_by("tabela", "id").agg(rows=pl.col("row").sum(), texts=(~pl.col("row")).sum())
    assert mixed.filter((pl.col("rows") > 0) & (pl.col("texts") > 0)).height == 0


def test_versions_add_rows_with_same_id(sample: Sample, clean: dict[str, pl.DataFrame]) -> None:
    for table, frame in sample.tables.items():
        versions = sample.truth.filter(
            (pl.col("tabela") == table) & pl.col("classe").is_in(["chave_duplicada", "atualizacao"])
        )
        assert frame.height == clean[table].height + versions.height, table
        assert frame["id"].n_unique() == clean[table].height, table
    itens = sample.tables["venda_itens"]
    dup = sample.truth.filter(
        (pl.col("tabela") == "venda_itens") & (pl.col("classe") == "chave_duplicada")
    ).row(0, named=True)
    rows = itens.filter(pl.col("id") == dup["id"]).sort("atualizado_em")
    assert rows.height == 2
    assert rows["atualizado_em"][0] == dup["atualizado_em"]  # the older one is the extra row
    assert str(rows["quantidade"][0]) == dup["valor_danificado"]
    assert str(rows["quantidade"][1]) == dup["valor_limpo"]


def test_recorded_damage_is_in_the_frames(sample: Sample) -> None:
    for table, frame in sample.tables.items():
        truth = sample.truth.filter(pl.col("tabela") == table)
        if truth.is_empty():
            continue
        for coluna in truth["coluna"].unique().to_list():
            t = truth.filter(pl.col("coluna") == coluna, pl.col("classe") != "codificacao_legada")
            src = frame.select("id", "atualizado_em", pl.col(coluna).cast(pl.String).alias("v"))
            joined = t.join(src, on=["id", "atualizado_em"], how="left")
            assert joined.height == t.height
            same = joined.select(pl.col("v").eq_missing(pl.col("valor_danificado")).all()).item()
            assert same, (table, coluna)


def test_text_truth_recomputes(sample: Sample) -> None:
    text = sample.truth.filter(
        pl.col("valor_limpo").is_not_null()
        & pl.col("coluna").is_in([c for cols in TEXT_COLUMNS.values() for c in cols])
    )
    row_classes = {spec.classe for specs in ROW_DAMAGE.values() for spec in specs}
    text = text.filter(~pl.col("classe").is_in(row_classes))
    assert text.height > 100
    for row in text.iter_rows(named=True):
        expected = row["valor_danificado_bytes"] or row["valor_danificado"]
        assert damage_text(row["valor_limpo"], row["classe"], row["id"]) == expected, row


def test_every_class_is_present(sample: Sample) -> None:
    classes = set(sample.truth["classe"].to_list())
    assert {
        "mojibake",
        "mojibake_duplo",
        "mojibake_lower",
        "acento_perdido",
        "acento_perdido_duplo",
        "acento_perdido_fffd",
        "nfd",
        "sem_acento",
        "espacos",
        "caixa",
        "codificacao_legada",
        "fora_do_dominio",
        "nulo_obrigatorio",
        "quantidade_negativa",
        "desconto_acima_bruto",
        "fk_orfa",
        "chave_duplicada",
        "atualizacao",
        "vigencia_invertida",
    } <= classes


def test_orphans_point_above_the_largest_id(sample: Sample) -> None:
    orphans = sample.truth.filter(pl.col("classe") == "fk_orfa")
    refs = {
        "id_produto": "produtos",
        "id_cliente": "clientes",
        "id_desconto": "descontos",
        "id_loja": "lojas",
    }
    for row in orphans.iter_rows(named=True):
        biggest = sample.tables[refs[row["coluna"]]]["id"].max()
        assert int(row["valor_danificado"]) > biggest  # type: ignore[operator]
        assert row["recuperavel"]


def test_no_legacy_bytes_where_unsupported() -> None:
    s = generate_sample(5_000, 1, 0.1, legacy_bytes=False)
    assert "codificacao_legada" not in set(s.truth["classe"].to_list())
    assert not s.legacy


def test_rate_zero_is_clean(clean: dict[str, pl.DataFrame]) -> None:
    s = generate_sample(ROWS, SEED, 0.0)
    assert s.truth.is_empty()
    for name, frame in clean.items():
        assert s.tables[name].equals(frame)


def test_same_seed_same_damage() -> None:
    a, b = generate_sample(3_000, 9, 0.1), generate_sample(3_000, 9, 0.1)
    assert a.truth.equals(b.truth)
    assert generate_sample(3_000, 10, 0.1).truth.height > 0
    assert not a.truth.equals(generate_sample(3_000, 10, 0.1).truth)
