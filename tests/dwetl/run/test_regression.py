"""The production regression: `Promo??o Autom?tica` & co. load as `Promoção Automática`, and a
source whose only damage is repairable runs `success` end to end."""

from __future__ import annotations

RIGHT = "Promoção Automática"
VARIANTS = (
    "Promo??o Autom?tica",
    "PromoÃ§Ã£o AutomÃ¡tica",
    "PROMOCAO AUTOMATICA",
    "Promoção  Automática ",
)


def test_damaged_discount_types_load_repaired(etl):
    etl.sample(300, 5, 0.0)
    (top,), *_ = etl.src("SELECT MAX(id) FROM descontos")
    for i, variant in enumerate(VARIANTS, start=1):
        etl.src(
            "INSERT INTO descontos (id, codigo, descricao, tipo_desconto, metodo_desconto, "
            "aplica_em, valor, inicio_vigencia, fim_vigencia, atualizado_em) VALUES "
            "(?, ?, 'Regressão', ?, 'Percentual', 'Item', 10.00, '2025-01-01', '2025-12-31', "
            "'2025-01-01 10:00:00')",
            (top + i, f"REG{i}", variant),
        )
    etl.init()
    summary = etl.run("dim_desconto")

    assert summary.status == "success", summary.to_dict()
    rows = etl.dw("SELECT tipo_desconto FROM dw.dim_desconto WHERE id_desconto_origem > %s", [top])
    assert [r[0] for r in rows] == [RIGHT] * len(VARIANTS)


def test_run_all_is_success_when_every_damage_is_repairable(etl):
    etl.sample(2000, 21, 0.05)
    # Put back the clean value wherever the ground truth says no repair can save the row; what
    # stays is text damage, versions and orphan keys: all repairable.
    fixes = etl.src("SELECT DISTINCT tabela, coluna FROM sample_damage WHERE NOT recuperavel")
    assert fixes
    for table, column in fixes:
        etl.src(
            f"UPDATE {table} SET {column} = (SELECT d.valor_limpo FROM sample_damage d "
            f"WHERE d.tabela = '{table}' AND d.coluna = '{column}' AND d.id = {table}.id "
            f"AND d.atualizado_em = {table}.atualizado_em AND NOT d.recuperavel) "
            f"WHERE EXISTS (SELECT 1 FROM sample_damage d WHERE d.tabela = '{table}' "
            f"AND d.coluna = '{column}' AND d.id = {table}.id "
            f"AND d.atualizado_em = {table}.atualizado_em AND NOT d.recuperavel)"
        )
    repairable = etl.src("SELECT COUNT(*) FROM sample_damage WHERE recuperavel")[0][0]
    assert repairable > 0
    etl.init()

    summary = etl.run("all")

    assert summary.status == "success", [
        (e.entity, e.error, e.reject_reasons) for e in summary.entities if e.status != "success"
    ]
    assert summary.exit_code == 0
    assert sum(e.folded for e in summary.entities) > 0
    assert sum(e.inferred for e in summary.entities) > 0
