"""dim_desconto: the production regression (`Promo??o Autom?tica` broke CK_DIM_DESCONTO_tipo)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import polars as pl

from dwetl.entities.registry import domains, get_entity
from transforms import dim_desconto

DAMAGED_TIPOS = [
    "Promo??o Autom?tica",
    "PromoÃ§Ã£o AutomÃ¡tica",
    "PROMOCAO AUTOMATICA",
    "Promoção  Automática ",
]


def _frame(**columns: Sequence[object]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, list[object]] = {
        "id_desconto_origem": list(range(1, n + 1)),
        "codigo": ["C"] * n,
        "descricao": [None] * n,
        "tipo_desconto": ["Cupom"] * n,
        "metodo_desconto": ["Percentual"] * n,
        "aplica_em": ["Item"] * n,
        "valor": ["10.00"] * n,
        "inicio_vigencia": [date(2024, 1, 1)] * n,
        "fim_vigencia": [None] * n,
        "atualizado_em": [datetime(2024, 1, 1)] * n,
    }
    return pl.DataFrame({**base, **columns}, schema=dim_desconto.SOURCE_SCHEMA)


def test_every_damaged_form_of_promocao_automatica_is_repaired() -> None:
    out = get_entity("dim_desconto").transform(_frame(tipo_desconto=DAMAGED_TIPOS))
    assert out["tipo_desconto"].to_list() == ["Promoção Automática"] * 4


def test_repaired_values_are_in_the_ddl_domains() -> None:
    frame = _frame(
        tipo_desconto=["negociacao manual", "Programa de Fidelidade", "ATACADO"],
        metodo_desconto=["Preco Fixo", "valor  fixo", "Leve Mais Pague Menos"],
        aplica_em=[" pedido", "FRETE", "Categoria"],
    )
    out = dim_desconto.transform(frame, domains=domains("dw.dim_desconto"))
    allowed = domains("dw.dim_desconto")
    for column in ("tipo_desconto", "metodo_desconto", "aplica_em"):
        assert set(out[column]) <= set(allowed[column]), column
    assert out["metodo_desconto"].to_list() == ["Preço Fixo", "Valor Fixo", "Leve Mais Pague Menos"]


def test_unknown_value_is_left_for_validation_not_guessed() -> None:
    out = get_entity("dim_desconto").transform(_frame(tipo_desconto=["Brinde"]))
    assert out["tipo_desconto"].to_list() == ["Brinde"]


def test_output_columns_values_and_blank_text() -> None:
    out = get_entity("dim_desconto").transform(
        _frame(codigo=["  BF24 "], descricao=["  "], valor=["12.34"])
    )
    assert out.columns == list(dim_desconto.SOURCE_SCHEMA)
    assert out.row(0)[1:3] == ("BF24", None)
    assert out["valor"].to_list() == [Decimal("12.34")]
