"""dim_produto: category repaired to CK_DIM_PRODUTO_categoria, ativo as boolean."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import polars as pl

from dwetl.entities.registry import get_entity
from transforms import dim_produto


def test_category_brand_price_and_active_flag() -> None:
    frame = pl.DataFrame(
        {
            "id_produto_origem": [1, 2, 3],
            "nome": ["Geladeira", "Sofá", "Tênis"],
            "categoria": ["ELETRODOMESTICOS", "MÃ³veis", "Cal?ados"],
            "marca": ["Brastemp", " Tok  Stok ", None],
            "preco_lista": ["1999.90", "0.10", None],
            "ativo": [1, 0, None],
            "atualizado_em": [datetime(2024, 1, 1)] * 3,
        },
        schema=dim_produto.SOURCE_SCHEMA,
    )
    out = get_entity("dim_produto").transform(frame)
    assert out["categoria"].to_list() == ["Eletrodomésticos", "Móveis", "Calçados"]
    assert out["marca"].to_list() == ["Brastemp", "Tok Stok", None]
    assert out["ativo"].to_list() == [True, False, None]
    assert out["preco_lista"].to_list() == [Decimal("1999.90"), Decimal("0.10"), None]
    assert out.schema["ativo"] == pl.Boolean
