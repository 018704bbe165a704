"""extract() against real SQLite source files built in tmp folders from sql/source/oltp.sql."""

from __future__ import annotations

import dataclasses
import math
import random
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from dwetl.core.config import Settings, load_settings
from dwetl.core.errors import DwetlError, UsageError
from dwetl.core.paths import extract_root, sql_root
from dwetl.entities.registry import get_entity
from dwetl.source.conform import ORIGINAL
from dwetl.source.dialects import bind_since, since_spans, source_dialect, uses_since
from dwetl.source.extract import extract


def _source(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript((sql_root() / "source" / "oltp.sql").read_text(encoding="utf-8"))
    return path


def _settings(tmp_path: Path, source: Path, **changes: object) -> Settings:
    settings = load_settings(
        source=f"sqlite:///{source}", dw=f"duckdb:///{tmp_path / 'dw.duckdb'}", cwd=tmp_path, env={}
    )
    return dataclasses.replace(settings, connect_backoff_seconds=0, **changes)  # type: ignore[arg-type]


DESCONTO = (
    "INSERT INTO descontos (id, codigo, descricao, tipo_desconto, metodo_desconto, aplica_em, "
    "valor, inicio_vigencia, fim_vigencia, atualizado_em) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return _source(tmp_path / "oltp.sqlite")


def test_legacy_cp1252_bytes_in_a_text_column_load_decoded(tmp_path: Path, source: Path) -> None:
    with sqlite3.connect(source) as conn:
        conn.executemany(
            DESCONTO,
            [
                # A legacy ERP wrote cp1252 bytes into the TEXT column: not valid UTF-8.
                (1, "A", "Promoção".encode("cp1252"), "Cupom", "Percentual", "Item", "10.00",
                 "2024-01-01", None, "2024-01-01 10:00:00"),
                (2, None, "Ação", "Promo\x81".encode("latin-1"), "Percentual", "Item", "5",
                 "2024-01-01", "2024-12-31", "2024-01-01 10:00:00.250000"),
            ],
        )  # fmt: skip
    got = extract(get_entity("dim_desconto"), _settings(tmp_path, source), None)
    frame = got.frame.sort("id_desconto_origem")
    assert frame["descricao"].to_list() == ["Promoção", "Ação"]
    assert frame["tipo_desconto"].to_list() == ["Cupom", "Promo\x81"]  # 0x81: no cp1252 letter
    assert frame["codigo"].to_list() == ["A", None]
    assert got.legacy_decoded == 2
    assert frame["inicio_vigencia"].to_list() == [date(2024, 1, 1)] * 2
    assert frame["fim_vigencia"].to_list() == [None, date(2024, 12, 31)]
    assert frame.schema["atualizado_em"] == pl.Datetime("us")
    assert got.watermark_to == datetime(2024, 1, 1, 10, 0, 0, 250000)


def test_decimals_stay_exact_at_the_warehouse_scale(tmp_path: Path, source: Path) -> None:
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO metas VALUES (?, 2024, 1, 1, NULL, ?, '2024-01-01 00:00:00')",
            [(1, "123456789012.34"), (2, "0.1"), (3, "99999999999.99"), (4, None)],
        )
    frame = extract(get_entity("fact_metas"), _settings(tmp_path, source), None).frame
    values = dict(frame.select("id_meta_origem", "valor_meta").iter_rows())
    assert values == {
        1: Decimal("123456789012.34"),
        2: Decimal("0.10"),
        3: Decimal("99999999999.99"),
        4: None,
    }
    assert frame.schema["valor_meta"] == pl.Decimal(38, 2)
    assert frame.schema["ano"] == pl.Int32


def test_decimals_come_out_as_sqlites_own_text_of_them(tmp_path: Path, source: Path) -> None:
    """SQLite keeps a DECIMAL column's numbers as doubles; dwetl reads them as doubles (cheaper
    than text) and must get the decimal that SQLite's CAST(... AS TEXT) prints: 15 significant
    digits, so 0.7 + 0.1 is 0.80. A value whose text has more decimals than the warehouse's
    scale (the double just below 1.015 prints 1.015) would be rounded: it is quarantined, NULL
    in the frame and its text in `ORIGINAL`, never 1.01 (its shortest text is
    1.0149999999999997) nor 1.02."""
    rng = random.Random(5)
    values: list[object] = [0.7 + 0.1, 0.1 + 0.2, 1.005, 2.675, 0.015, 12, -3, 0.0, -0.0]
    values += [math.nextafter(half, 0) for half in (1.015, 3.035, 10.105, -0.045)]
    values += [
        round(rng.uniform(0, 1000) * rng.uniform(0, 3), rng.randint(2, 12)) for _ in range(300)
    ]
    values += [rng.uniform(-1e9, 1e9) for _ in range(300)]
    values += [rng.randint(-(10**12), 10**12) / 100 for _ in range(300)]
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO metas VALUES (?, 2024, 1, 1, NULL, ?, '2024-01-01 00:00:00')",
            list(enumerate(values, start=1)),
        )
        printed = conn.execute("SELECT id, CAST(valor_meta AS TEXT) FROM metas ORDER BY id")
        texts = [text for _, text in printed.fetchall()]

    frame = extract(get_entity("fact_metas"), _settings(tmp_path, source), None).frame

    frame = frame.sort("id_meta_origem")
    exact = [Decimal(t) == Decimal(t).quantize(Decimal("0.01")) for t in texts]
    want = [
        Decimal(t).quantize(Decimal("0.01")) if ok else None
        for t, ok in zip(texts, exact, strict=True)
    ]
    assert frame["valor_meta"].to_list() == want
    kept = frame[ORIGINAL].struct.field("valor_meta").to_list()
    assert [k is None for k in kept] == exact
    for text, held in zip(texts, kept, strict=True):  # SQLite's 15 digits (the last may be 1 off)
        if held is not None:
            digit = Decimal(1).scaleb(Decimal(text).adjusted() - 14)
            assert abs(Decimal(held) - Decimal(text)) <= digit, (held, text)
    assert want[0] == Decimal("0.80") and want[9] is None and kept[9] == "1.015"
    assert 100 < sum(exact) < len(exact)  # both kinds are there


def test_a_decimal_that_is_text_in_sqlite_is_read_as_its_text(tmp_path: Path, source: Path) -> None:
    """'12,50' is not a number SQLite converts: as a double it would be 12.0 and load as 12.00;
    read as its text it cannot be a decimal: that row's value is NULL and its text kept in
    `ORIGINAL` (the run quarantines the row); the other row reads as it is."""
    with sqlite3.connect(source) as conn:
        conn.execute("INSERT INTO metas VALUES (1, 2024, 1, 1, NULL, '12,50', '2024-01-01')")
        conn.execute("INSERT INTO metas VALUES (2, 2024, 1, 1, NULL, 7, '2024-01-01')")

    frame = extract(get_entity("fact_metas"), _settings(tmp_path, source), None).frame
    frame = frame.sort("id_meta_origem")
    assert frame["valor_meta"].to_list() == [None, Decimal("7.00")]
    assert frame[ORIGINAL].struct.field("valor_meta").to_list() == ["12,50", None]


def test_money_kept_as_text_in_the_erp_is_read_as_its_text(tmp_path: Path, source: Path) -> None:
    """An ERP that keeps money in a TEXT column: '1,5' must not be compared with the bounds of
    a double as text (where it sorts below '1.0e+15' and would load as 1.00): it is text, no
    decimal, and kept as such; '10.05' as text is read as 10.05."""
    with sqlite3.connect(source) as conn:
        conn.executescript(
            """
            DROP TABLE metas;
            CREATE TABLE metas (id BIGINT NOT NULL, ano INTEGER, mes INTEGER, id_loja BIGINT,
                id_vendedor BIGINT, valor_meta TEXT, atualizado_em TIMESTAMP NOT NULL);
            INSERT INTO metas VALUES (1, 2024, 1, 1, NULL, '10.05', '2024-01-01');
            """
        )
    frame = extract(get_entity("fact_metas"), _settings(tmp_path, source), None).frame
    assert frame["valor_meta"].to_list() == [Decimal("10.05")]

    with sqlite3.connect(source) as conn:
        conn.execute("INSERT INTO metas VALUES (2, 2024, 1, 1, NULL, '1,5', '2024-01-01')")
    frame = extract(get_entity("fact_metas"), _settings(tmp_path, source), None).frame
    frame = frame.sort("id_meta_origem")
    assert frame["valor_meta"].to_list() == [Decimal("10.05"), None]
    assert frame[ORIGINAL].struct.field("valor_meta").to_list() == [None, "1,5"]


def test_watermark_filter_reads_back_the_overlap_window(tmp_path: Path, source: Path) -> None:
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO clientes (id, nome, atualizado_em) VALUES (?, 'x', ?)",
            [
                (1, "2024-01-01 11:00:00"),  # before the window
                (2, "2024-01-01 11:55:00"),  # inside the 10-minute overlap
                (3, "2024-01-01 12:00:00.5"),  # after the watermark
            ],
        )
    settings = _settings(tmp_path, source, watermark_overlap_seconds=600.0)
    watermark = datetime(2024, 1, 1, 12, 0)
    got = extract(get_entity("dim_cliente"), settings, watermark)
    assert sorted(got.frame["id_cliente_origem"]) == [2, 3]
    assert got.watermark_to == datetime(2024, 1, 1, 12, 0, 0, 500000)
    none_new = extract(get_entity("dim_cliente"), settings, datetime(2024, 1, 2))
    assert none_new.frame.height == 0
    assert none_new.watermark_to == datetime(2024, 1, 2)  # unchanged when nothing was read
    everything = extract(get_entity("dim_cliente"), _settings(tmp_path, source), None)
    assert everything.frame.height == 3


def test_facts_take_the_newest_header_and_the_latest_change(tmp_path: Path, source: Path) -> None:
    with sqlite3.connect(source) as conn:
        conn.executescript(
            """
            INSERT INTO vendas VALUES (1, 4, 2, 9, '2024-03-05 10:00', 'Loja', '2024-03-05 10:00');
            INSERT INTO vendas VALUES (1, 5, 2, 9, '2024-03-05 10:00', 'Loja', '2024-03-07 08:00');
            INSERT INTO venda_itens VALUES (10, 1, 3, 2, 10.5, 0, '2024-03-06 00:00:00');
            INSERT INTO venda_itens VALUES (11, 77, 3, 1, 1, NULL, '2024-03-06 00:00:00');
            INSERT INTO venda_descontos VALUES (100, 1, 10, 2, 1.25, '2024-03-01 00:00:00');
            INSERT INTO venda_descontos VALUES (101, 1, NULL, 2, 3, '2024-03-08 00:00:00');
            """
        )
    settings = _settings(tmp_path, source)
    vendas = extract(get_entity("fact_vendas"), settings, None).frame.sort("id_item_origem")
    assert vendas["id_cliente"].to_list() == [5, None]  # newest header; orphan item kept
    assert vendas["atualizado_em"].to_list() == [
        datetime(2024, 3, 7, 8),  # the header changed after the item
        datetime(2024, 3, 6),
    ]
    assert vendas["preco_unitario"].to_list() == [Decimal("10.50"), Decimal("1.00")]
    descontos = extract(get_entity("fact_descontos"), settings, None).frame.sort(
        "id_venda_desconto_origem"
    )
    assert descontos.select("id_produto", "id_cliente", "data_venda", "atualizado_em").rows() == [
        (3, 5, datetime(2024, 3, 5, 10), datetime(2024, 3, 7, 8)),
        (None, 5, datetime(2024, 3, 5, 10), datetime(2024, 3, 8)),
    ]
    since = extract(get_entity("fact_descontos"), settings, datetime(2024, 3, 7, 12))
    assert since.frame["id_venda_desconto_origem"].to_list() == [101]


def test_calendar_bounds_come_as_one_row(tmp_path: Path, source: Path) -> None:
    settings = _settings(tmp_path, source)
    empty = extract(get_entity("dim_data"), settings, None).frame
    assert empty.height == 1 and empty.row(0) == (None, None, None, None, None)
    with sqlite3.connect(source) as conn:
        conn.executescript(
            """
            INSERT INTO vendas VALUES (1, 1, 1, 1, '2023-05-02 10:00:00', 'x', '2024-01-01 00:00');
            INSERT INTO vendas VALUES (2, 1, 1, 1, '2024-02-01 10:00:00', 'x', '2024-01-02 00:00');
            INSERT INTO metas VALUES (1, 2022, 11, 1, NULL, 1, '2024-02-01 00:00:00');
            INSERT INTO metas VALUES (2, 9999, 1, 1, NULL, 1, '2023-02-01 00:00:00');
            """
        )
    row = extract(get_entity("dim_data"), settings, None).frame.row(0)
    assert row == (
        datetime(2023, 5, 2, 10),
        datetime(2024, 2, 1, 10),
        202211,
        202211,  # year 9999 is outside CK_FACT_METAS_ano: it must not stretch the calendar
        datetime(2024, 2, 1),
    )


def _sql_dir(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "my_sql"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_missing_extract_file_names_it(tmp_path: Path, source: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(UsageError, match=r"empty/dim_loja\.sql not found"):
        extract(get_entity("dim_loja"), _settings(tmp_path, source), None, sql_dir=folder)


def test_missing_and_extra_columns_name_the_file(tmp_path: Path, source: Path) -> None:
    shipped = (extract_root() / "dim_loja.sql").read_text(encoding="utf-8")
    folder = _sql_dir(
        tmp_path,
        "dim_loja.sql",
        shipped.replace("l.regiao         AS regiao", "l.regiao AS region") + "-- my ERP\n;",
    )
    with pytest.raises(UsageError) as error:
        extract(get_entity("dim_loja"), _settings(tmp_path, source), None, sql_dir=folder)
    message = str(error.value)
    assert "my_sql/dim_loja.sql" in message
    assert "missing column(s) regiao" in message
    assert "unexpected column(s) region" in message


def test_a_broken_query_names_the_file(tmp_path: Path, source: Path) -> None:
    folder = _sql_dir(tmp_path, "dim_loja.sql", "SELECT * FROM lojas_antigas")
    with pytest.raises(DwetlError, match=r"my_sql/dim_loja\.sql: .*lojas_antigas"):
        extract(get_entity("dim_loja"), _settings(tmp_path, source), None, sql_dir=folder)


def test_a_value_that_is_no_date_is_kept_as_text_for_its_row(tmp_path: Path, source: Path) -> None:
    with sqlite3.connect(source) as conn:
        conn.execute(
            "INSERT INTO lojas VALUES (1, 'L', 'C', 'SP', 'Sudeste', 'ontem', '2024-01-01')"
        )
        conn.execute(
            "INSERT INTO lojas VALUES (2, 'L', 'C', 'SP', 'Sudeste', '2020-02-03', '2024-01-01')"
        )
    frame = extract(get_entity("dim_loja"), _settings(tmp_path, source), None).frame
    frame = frame.sort("id_loja_origem")
    assert frame["data_abertura"].to_list() == [None, date(2020, 2, 3)]
    assert frame[ORIGINAL].struct.field("data_abertura").to_list() == ["ontem", None]


def _shipped_into(folder: Path, *names: str) -> None:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text((extract_root() / name).read_text(encoding="utf-8"))


def _sales(source: Path) -> None:
    with sqlite3.connect(source) as conn:
        conn.executescript(
            """
            INSERT INTO vendas VALUES (1, 4, 2, 9, '2024-03-05 10:00', 'Loja', '2024-03-05 10:00');
            INSERT INTO vendas VALUES (1, 5, 2, 9, '2024-03-05 10:00', 'Web', '2024-03-07 08:00');
            INSERT INTO vendas VALUES (2, 6, 2, 9, '2024-03-01 10:00', 'Loja', '2024-03-01 10:00');
            INSERT INTO vendas VALUES (2, 7, 2, 9, '2024-03-01 10:00', 'Web', '2024-03-02 10:00');
            INSERT INTO vendas VALUES (3, 8, 2, 9, '2024-03-01 10:00', 'Loja', '2024-03-01 10:00');
            INSERT INTO venda_itens VALUES (10, 1, 3, 2, 10.5, 0, '2024-03-06 00:00:00');
            INSERT INTO venda_itens VALUES (11, 1, 3, 1, 1, NULL, '2024-03-01 00:00:00');
            INSERT INTO venda_itens VALUES (20, 2, 3, 1, 1, NULL, '2024-03-01 00:00:00');
            INSERT INTO venda_itens VALUES (20, 2, 3, 4, 1, NULL, '2024-03-08 00:00:00');
            INSERT INTO venda_itens VALUES (30, 3, 3, 1, 1, NULL, '2024-03-01 00:00:00');
            INSERT INTO venda_itens VALUES (40, 77, 3, 1, 1, NULL, '2024-03-09 00:00:00');
            """
        )


def test_an_incremental_fact_read_sends_what_its_rows_or_headers_changed(
    tmp_path: Path, source: Path
) -> None:
    _sales(source)
    settings = _settings(tmp_path, source, watermark_overlap_seconds=0.0)
    got = extract(get_entity("fact_vendas"), settings, datetime(2024, 3, 6, 12)).frame
    rows = got.sort("id_item_origem", "atualizado_em").select(
        "id_item_origem", "quantidade", "id_cliente", "canal", "atualizado_em"
    )
    assert rows.rows() == [
        (10, 2, 5, "Web", datetime(2024, 3, 7, 8)),  # only its header changed
        (11, 1, 5, "Web", datetime(2024, 3, 7, 8)),  # ... and its header's other item
        (20, 4, 7, "Web", datetime(2024, 3, 8)),  # the item changed: its newest header
        (40, 1, None, None, datetime(2024, 3, 9)),  # no header: kept, for validation to reject
    ]  # item 30 and order 3 did not change; the old version of item 20 is not after `since`
    assert extract(get_entity("fact_vendas"), settings, datetime(2024, 3, 9)).frame.height == 0


def test_a_part_with_a_missing_or_extra_column_names_that_file(
    tmp_path: Path, source: Path
) -> None:
    folder = tmp_path / "my_sql"
    _shipped_into(folder, "fact_vendas.itens.sql", "fact_vendas.vendas.sql")
    part = folder / "fact_vendas.vendas.sql"
    part.write_text(part.read_text().replace("AS canal", "AS channel"), encoding="utf-8")
    with pytest.raises(UsageError) as error:
        extract(get_entity("fact_vendas"), _settings(tmp_path, source), None, sql_dir=folder)
    message = str(error.value)
    assert "my_sql/fact_vendas.vendas.sql:" in message
    assert "missing column(s) canal; unexpected column(s) channel" in message
    assert "(expected: id_venda_origem, data_venda, id_cliente, id_loja, id_vendedor, canal, " in (
        message
    )
    assert "\n" not in message


def test_a_missing_part_names_it(tmp_path: Path, source: Path) -> None:
    folder = tmp_path / "my_sql"
    _shipped_into(folder, "fact_vendas.itens.sql")
    with pytest.raises(UsageError, match=r"my_sql/fact_vendas\.vendas\.sql not found"):
        extract(get_entity("fact_vendas"), _settings(tmp_path, source), None, sql_dir=folder)


def test_parts_without_since_are_read_whole_and_give_the_same_rows(
    tmp_path: Path, source: Path
) -> None:
    _sales(source)
    folder = tmp_path / "my_sql"
    folder.mkdir()
    (folder / "fact_vendas.itens.sql").write_text(
        "SELECT id AS id_item_origem, id_venda AS id_venda_origem, id_produto, quantidade, "
        "preco_unitario, valor_desconto, atualizado_em FROM venda_itens"
    )
    (folder / "fact_vendas.vendas.sql").write_text(
        "SELECT id AS id_venda_origem, data_venda, id_cliente, id_loja, id_vendedor, canal, "
        "atualizado_em FROM vendas"
    )
    settings = _settings(tmp_path, source, watermark_overlap_seconds=0.0)
    for watermark in (None, datetime(2024, 3, 1), datetime(2024, 3, 6, 12), datetime(2024, 3, 8)):
        mine = extract(get_entity("fact_vendas"), settings, watermark, sql_dir=folder)
        shipped = extract(get_entity("fact_vendas"), settings, watermark)
        assert mine.frame.sort(pl.all()).equals(shipped.frame.sort(pl.all())), watermark
        assert mine.watermark_to == shipped.watermark_to


def test_a_folder_written_before_the_split_reads_its_one_file(tmp_path: Path, source: Path) -> None:
    _sales(source)
    folder = _sql_dir(
        tmp_path,
        "fact_vendas.sql",
        """
        SELECT i.id AS id_item_origem, i.id_venda AS id_venda_origem, v.data_venda, v.id_cliente,
               i.id_produto, v.id_loja, v.id_vendedor, v.canal, i.quantidade, i.preco_unitario,
               i.valor_desconto, i.atualizado_em
        FROM venda_itens i LEFT JOIN vendas v ON v.id = i.id_venda AND v.id_cliente = 4
        """,
    )
    settings = _settings(tmp_path, source, watermark_overlap_seconds=0.0)
    got = extract(get_entity("fact_vendas"), settings, datetime(2024, 3, 5), sql_dir=folder)
    # the one file, wrapped with the watermark filter on its own atualizado_em
    assert got.frame.select("id_item_origem", "id_cliente").sort("id_item_origem").rows() == [
        (10, 4),
        (20, None),
        (40, None),
    ]


def test_a_file_with_since_filters_itself(tmp_path: Path, source: Path) -> None:
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO lojas (id, nome, atualizado_em) VALUES (?, 'L', ?)",
            [(1, "2024-01-01 00:00:00"), (2, "2024-01-01 00:00:00"), (3, "2024-02-01 00:00:00")],
        )
    shipped = (extract_root() / "dim_loja.sql").read_text(encoding="utf-8")
    # a site's rule: store 2 is always re-read; bound on a full run to NULL
    folder = _sql_dir(
        tmp_path, "dim_loja.sql", shipped + "\nWHERE :since IS NULL OR l.atualizado_em > :since "
        "OR l.id = 2\n-- :since is dwetl's\n",
    )  # fmt: skip
    settings = _settings(tmp_path, source, watermark_overlap_seconds=0.0)
    spec = get_entity("dim_loja")
    since = extract(spec, settings, datetime(2024, 1, 15), sql_dir=folder)
    assert sorted(since.frame["id_loja_origem"]) == [2, 3]  # not wrapped: store 2 stays
    assert sorted(extract(spec, settings, None, sql_dir=folder).frame["id_loja_origem"]) == [
        1,
        2,
        3,
    ]


@pytest.mark.parametrize("scheme", ["sqlite", "postgresql", "mysql", "mssql"])
def test_since_in_a_comment_or_a_string_is_no_placeholder(scheme: str) -> None:
    dialect = source_dialect(scheme).sqlglot_dialect
    for text in (
        "/* :since */ SELECT 1",
        "SELECT 1 -- filtered by :since\n",
        "SELECT ':since' AS note",
        "SELECT x::since_type FROM t",  # a cast, not the parameter
        "SELECT 1 FROM t WHERE a = :since_x",
    ):
        assert not uses_since(text, dialect), (scheme, text)
        assert bind_since(text, datetime(2024, 1, 2), dialect) == text  # never rewritten
    text = "/* :since */ SELECT ':since' FROM t WHERE :since IS NULL OR t.a > :since -- :since\n"
    assert uses_since(text, dialect)
    assert bind_since(text, None, dialect) == (
        "/* :since */ SELECT ':since' FROM t WHERE NULL IS NULL OR t.a > NULL -- :since\n"
    )


@pytest.mark.parametrize("scheme", ["sqlite", "postgresql", "mysql", "mssql"])
def test_the_shipped_parts_bind_every_since_outside_their_comments(scheme: str) -> None:
    dialect = source_dialect(scheme).sqlglot_dialect
    for name in ("fact_vendas.itens.sql", "fact_vendas.vendas.sql", "fact_descontos.itens.sql"):
        text = (extract_root() / name).read_text(encoding="utf-8")
        code = "\n".join(line.split("--")[0] for line in text.splitlines())
        bound = bind_since(text, datetime(2024, 1, 2), dialect)
        assert len(since_spans(text, dialect)) == code.count(":since") > 0, name
        comments = [line for line in bound.splitlines() if line.startswith("--")]
        assert comments == [line for line in text.splitlines() if line.startswith("--")]
        assert ":since" not in "\n".join(line.split("--")[0] for line in bound.splitlines())


def test_a_file_that_names_since_only_in_comments_and_strings_is_wrapped(
    tmp_path: Path, source: Path
) -> None:
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO lojas (id, nome, atualizado_em) VALUES (?, ?, ?)",
            [(1, "L", "2024-01-01 00:00:00"), (2, ":since", "2024-02-01 00:00:00")],
        )
    shipped = (extract_root() / "dim_loja.sql").read_text(encoding="utf-8")
    folder = _sql_dir(
        tmp_path,
        "dim_loja.sql",
        "/* not filtered by :since here: dwetl wraps it */\n"
        + shipped
        + "\nWHERE l.nome <> ':since -- x' OR l.id > 0\n",
    )
    settings = _settings(tmp_path, source, watermark_overlap_seconds=0.0)
    got = extract(get_entity("dim_loja"), settings, datetime(2024, 1, 15), sql_dir=folder)
    assert got.frame["id_loja_origem"].to_list() == [2]  # wrapped: only the row after `since`
    assert got.frame["nome"].to_list() == [":since"]  # the literal was not rewritten


def test_an_unreadable_extract_file_names_it(tmp_path: Path, source: Path) -> None:
    folder = _sql_dir(tmp_path, "dim_loja.sql", "SELECT 'never closed FROM lojas")
    with pytest.raises(UsageError, match=r"dim_loja\.sql: cannot be read as sqlite"):
        extract(get_entity("dim_loja"), _settings(tmp_path, source), None, sql_dir=folder)


def test_sqlite_integers_that_are_not_integers_keep_their_text(
    tmp_path: Path, source: Path
) -> None:
    """SQLite's CAST to INTEGER reads 'xyz' as 0, 17.5 as 17 and '12abc' as 12: those are NULL
    with their text in `ORIGINAL` (the run quarantines them); 17.0 and '18' are integers."""
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO venda_itens VALUES (?, 1, ?, ?, 1, 0, '2024-03-06 00:00:00')",
            [(10, 3, 2), (11, "xyz", 17.5), (12, 3, 17.0), (13, "12abc", "18"), (14, None, None)],
        )
        conn.execute("INSERT INTO vendas VALUES (1, 4, 2, 9, '2024-03-05', 'Loja', '2024-03-05')")
    frame = extract(get_entity("fact_vendas"), _settings(tmp_path, source), None).frame
    frame = frame.sort("id_item_origem")
    assert frame["id_produto"].to_list() == [3, None, 3, None, None]
    assert frame["quantidade"].to_list() == [2, None, 17, 18, None]
    texts = frame[ORIGINAL].struct.unnest().select("id_produto", "quantidade").rows()
    assert texts == [(None, None), ("xyz", "17.5"), (None, None), ("12abc", None), (None, None)]
    assert frame.schema["quantidade"] == pl.Int32


def test_bytes_in_a_number_or_date_column_are_kept_as_hex_for_their_row(
    tmp_path: Path, source: Path
) -> None:
    """A blob that is no UTF-8 in an integer, a decimal or a timestamp column made connectorx
    fail the whole read ('Conversion error from type Text'), and the entity with it. Each is
    now its row's own: NULL, its hex kept for the quarantine, as MariaDB's BIT(1) is."""
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO venda_itens VALUES (?, 1, ?, 2, ?, 0, ?)",
            [
                (10, 3, 10.5, "2024-03-06 00:00:00"),
                (11, b"\xe7", 10.5, "2024-03-06 00:00:00"),
                (12, 3, b"\xff\x00", "2024-03-06 00:00:00"),
                (13, 3, 10.5, b"\xe7"),
            ],
        )
        conn.execute("INSERT INTO vendas VALUES (1, 4, 2, 9, '2024-03-05', 'Loja', '2024-03-05')")
    frame = extract(get_entity("fact_vendas"), _settings(tmp_path, source), None).frame
    frame = frame.sort("id_item_origem")
    assert frame["id_item_origem"].to_list() == [10, 11, 12, 13]
    kept = frame[ORIGINAL].struct.unnest().select("id_produto", "preco_unitario", "atualizado_em")
    assert kept.rows() == [
        (None, None, None),
        ("0xE7", None, None),
        (None, "0xFF00", None),
        (None, None, "0xE7"),
    ]
    assert frame["id_produto"].to_list() == [3, None, 3, 3]


@pytest.mark.parametrize(
    "ending", [";\n-- fim do arquivo\n", "; -- fim", ";\n/* fim */\n", "\n;\n"]
)
def test_a_comment_after_the_final_semicolon_is_left_out_of_the_wrapped_query(
    tmp_path: Path, source: Path, ending: str
) -> None:
    """The query is wrapped (`SELECT * FROM (...) src`): a `;` followed by a comment stayed
    inside the parentheses, a syntax error on every source."""
    with sqlite3.connect(source) as conn:
        conn.execute(
            "INSERT INTO lojas VALUES (1, 'Centro', 'Recife', 'PE', 'Nordeste', '2019-05-01', "
            "'2024-01-01 00:00:00')"
        )
    shipped = (extract_root() / "dim_loja.sql").read_text(encoding="utf-8")
    folder = _sql_dir(tmp_path, "dim_loja.sql", shipped.rstrip() + ending)

    frame = extract(get_entity("dim_loja"), _settings(tmp_path, source), None, sql_dir=folder)

    assert frame.frame.get_column("id_loja_origem").to_list() == [1]


def test_a_file_of_comments_only_is_an_empty_extract_file(tmp_path: Path, source: Path) -> None:
    folder = _sql_dir(tmp_path, "dim_loja.sql", "-- SELECT * FROM lojas;\n/* to do */ ;\n")
    with pytest.raises(UsageError, match=r"my_sql/dim_loja\.sql is empty"):
        extract(get_entity("dim_loja"), _settings(tmp_path, source), None, sql_dir=folder)
