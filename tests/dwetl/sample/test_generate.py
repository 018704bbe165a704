"""Clean sample frames: proportions, determinism, and every warehouse CHECK satisfied."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from dwetl.sample.generate import generate_clean, sizes_for


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return generate_clean(rows=30_000, seed=11)


def test_item_count_and_proportions(frames: dict[str, pl.DataFrame]) -> None:
    sizes = sizes_for(30_000)
    assert frames["venda_itens"].height == 30_000
    assert frames["venda_itens"]["id"].n_unique() == 30_000
    assert frames["vendas"].height == sizes.vendas == 10_000
    assert frames["clientes"].height == 1_500
    assert frames["produtos"].height == 2_000
    assert frames["vendedores"].height == 8 * frames["lojas"].height
    # every order has at least one item, and items point at existing orders
    assert frames["venda_itens"]["id_venda"].n_unique() == frames["vendas"].height
    share = frames["venda_descontos"]["id_item"].is_not_null().sum() / 30_000
    assert 0.12 < share < 0.18
    assert frames["metas"].height == 24 * (frames["lojas"].height + frames["vendedores"].height)


def test_sizes_are_capped() -> None:
    big = sizes_for(10_000_000)
    assert (big.clientes, big.produtos, big.lojas, big.descontos) == (500_000, 20_000, 200, 300)
    assert sizes_for(1).lojas == 50


def test_deterministic_per_seed() -> None:
    a, b, c = generate_clean(2_000, 3), generate_clean(2_000, 3), generate_clean(2_000, 4)
    for name in a:
        assert a[name].equals(b[name]), name
    assert not a["clientes"].equals(c["clientes"])
    assert not a["venda_itens"].equals(c["venda_itens"])


@pytest.mark.parametrize(
    ("table", "constraint"),
    [
        ("produtos", "CK_DIM_PRODUTO_categoria"),
        ("descontos", "CK_DIM_DESCONTO_tipo"),
        ("descontos", "CK_DIM_DESCONTO_metodo"),
        ("descontos", "CK_DIM_DESCONTO_aplica_em"),
        ("vendas", "CK_FACT_VENDAS_canal"),
        ("clientes", "CK_DIM_CLIENTE_uf"),
        ("lojas", "CK_DIM_LOJA_uf"),
        ("lojas", "CK_DIM_LOJA_regiao"),
    ],
)
def test_domains_are_the_ddl_checks(
    frames: dict[str, pl.DataFrame],
    table: str,
    constraint: str,
    ddl_domains: dict[str, tuple[str, set[str]]],
) -> None:
    column, allowed = ddl_domains[constraint]
    values = set(frames[table][column].unique().to_list())
    assert values <= allowed
    assert len(values) >= min(len(allowed), 4)  # the domain is used, not one value


def test_money_and_date_checks(frames: dict[str, pl.DataFrame]) -> None:
    itens = frames["venda_itens"]
    gross = itens["quantidade"].cast(pl.Float64) * itens["preco_unitario"].cast(pl.Float64)
    desconto = itens["valor_desconto"].cast(pl.Float64)
    assert (itens["quantidade"] > 0).all()
    assert (desconto >= 0).all() and (desconto <= gross).all()
    assert (frames["venda_descontos"]["valor"].cast(pl.Float64) > 0).all()
    d = frames["descontos"]
    assert (d["fim_vigencia"] >= d["inicio_vigencia"]).all()
    assert (d["valor"].cast(pl.Float64) >= 0).all()
    pct = d.filter(pl.col("metodo_desconto") == "Percentual")["valor"].cast(pl.Float64)
    assert (pct <= 100).all()
    assert (frames["produtos"]["preco_lista"].cast(pl.Float64) >= 0).all()
    m = frames["metas"]
    assert m["mes"].is_between(1, 12).all()
    assert m.select(pl.struct("ano", "mes", "id_loja", "id_vendedor").is_unique().all()).item()
    c = frames["clientes"]
    assert (c["cpf"].str.len_chars() == 11).all()
    assert c["email"].str.contains(r".@.").all()


def test_dates_and_watermarks(frames: dict[str, pl.DataFrame]) -> None:
    v = frames["vendas"]
    assert v["data_venda"].min() >= datetime(2024, 1, 1)  # type: ignore[operator]
    assert v["data_venda"].max() < datetime(2026, 1, 1)  # type: ignore[operator]
    assert (v["atualizado_em"] > v["data_venda"]).all()
    joined = frames["venda_itens"].join(v, left_on="id_venda", right_on="id", suffix="_venda")
    assert (joined["atualizado_em"] > joined["atualizado_em_venda"]).all()
    c = frames["clientes"]
    assert (c["atualizado_em"].dt.date() >= c["data_cadastro"]).all()
    assert c["data_cadastro"].max() <= date(2025, 12, 31)  # type: ignore[operator]


def test_reads_brazilian(frames: dict[str, pl.DataFrame]) -> None:
    c = frames["clientes"]
    assert c["nome"].str.contains(r"[ãáâçéêíóôõúÁÉÍÓÚÂÊÔÃÕÇ]").mean() > 0.2  # type: ignore[operator]
    lojas = frames["lojas"]
    assert {"SP", "RJ", "MG"} & set(lojas["uf"].to_list())
    sp = frames["clientes"].filter(pl.col("uf") == "SP")["cidade"].unique().to_list()
    assert "São Paulo" in sp and "Belo Horizonte" not in sp
    known = {"SP": "Sudeste", "BA": "Nordeste", "RS": "Sul", "AM": "Norte", "GO": "Centro-Oeste"}
    pairs = set(zip(lojas["uf"], lojas["regiao"], strict=True))
    checked = [(uf, regiao) for uf, regiao in pairs if uf in known]
    assert checked and all(known[uf] == regiao for uf, regiao in checked)
