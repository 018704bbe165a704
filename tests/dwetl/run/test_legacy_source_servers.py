"""A MariaDB source whose text columns are latin1 (a legacy ERP), holding clean accents and
UTF-8-read-as-latin1 mojibake, or bytes: the run into PostgreSQL loads them repaired, none
rejected."""

from __future__ import annotations

import pymysql
import pytest

pytestmark = pytest.mark.pairs("mysql-postgresql")

CLEAN = "Promoção Automática"
MOJIBAKE = CLEAN.encode("utf-8").decode("latin-1")  # 'PromoÃ§Ã£o AutomÃ¡tica'


def _source(etl) -> pymysql.Connection:
    """The sample's MariaDB source, to alter it as a legacy ERP has it."""
    url = etl.settings.source
    return pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.user, database=url.database,
        charset="utf8mb4", autocommit=True,
    )  # fmt: skip


def test_latin1_columns_load_repaired(etl):
    etl.sample(600, 41, 0.0)
    etl.init()
    with _source(etl) as con, con.cursor() as cur:
        for column, width in (("tipo_desconto", 80), ("descricao", 250)):
            cur.execute(
                f"ALTER TABLE descontos MODIFY {column} VARCHAR({width}) "
                "CHARACTER SET latin1 COLLATE latin1_swedish_ci"
            )
        cur.execute("SELECT id FROM descontos ORDER BY id")
        ids = [row[0] for row in cur.fetchall()]
        clean, damaged = ids[0::2], ids[1::2]
        # the server converts from the connection's utf8mb4 to the column's latin1 bytes
        cur.execute(
            "UPDATE descontos SET tipo_desconto = %s, descricao = %s WHERE id IN %s",
            [CLEAN, "Desconto de Páscoa", clean],
        )
        cur.execute("UPDATE descontos SET tipo_desconto = %s WHERE id IN %s", [MOJIBAKE, damaged])
        cur.execute(
            "SELECT COUNT(*) FROM descontos "
            "WHERE HEX(tipo_desconto) = HEX(CONVERT(%s USING latin1))",
            [CLEAN],
        )
        assert cur.fetchone()[0] == len(clean)  # stored as latin1 bytes (ç = E7)

    summary = etl.run("dim_desconto")

    (result,) = summary.entities
    assert (result.status, result.rejected) == ("success", 0), result.error
    loaded = dict(
        etl.dw("SELECT tipo_desconto, COUNT(*) FROM dw.dim_desconto GROUP BY tipo_desconto")
    )
    assert loaded[CLEAN] == len(ids)
    assert etl.dw(
        "SELECT COUNT(*) FROM dw.dim_desconto WHERE descricao = %s", ["Desconto de Páscoa"]
    ) == [(len(clean),)]
    assert result.repairs and result.repairs["tipo_desconto"]["changed"] >= len(damaged)


def test_a_binary_text_column_with_one_legacy_value_loads_every_row_decoded(etl):
    """A VARBINARY `nome` (an ERP keeping text as bytes): UTF-8 in every row but one, which is
    cp1252. Before, that one value made every customer a TYPE reject (hex kept); now the
    column is decoded as a SQLite source's bytes are (UTF-8, else cp1252, else latin-1)."""
    etl.sample(400, 43, 0.0)
    etl.init()
    with _source(etl) as con, con.cursor() as cur:
        cur.execute("ALTER TABLE clientes MODIFY nome VARBINARY(300)")
        cur.execute("SELECT MIN(id), COUNT(*) FROM clientes")
        legacy_id, customers = cur.fetchone()
        cur.execute(
            "UPDATE clientes SET nome = %s WHERE id = %s", [b"Jo\xe3o Gon\xe7alves", legacy_id]
        )
        cur.execute(
            "UPDATE clientes SET nome = %s WHERE id = %s + 1",
            ["Conceição Ávila".encode(), legacy_id],
        )

    summary = etl.run("dim_cliente")

    (result,) = summary.entities
    assert (result.status, result.rejected) == ("success", 0), (result.error, result.reject_reasons)
    assert result.inserted == customers
    names = dict(
        etl.dw(
            "SELECT id_cliente_origem, nome FROM dw.dim_cliente "
            "WHERE id_cliente_origem IN (%s, %s)",
            [legacy_id, legacy_id + 1],
        )
    )
    assert names == {legacy_id: "João Gonçalves", legacy_id + 1: "Conceição Ávila"}
