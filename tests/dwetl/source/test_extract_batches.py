"""extract_batches(): batches of key ranges that together hold exactly extract()'s rows, every
version of a key in one batch, NULL keys and keys written after counting included;
plan_batches() from one query of the batched query's rows and key span."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dwetl.core.config import Settings, load_settings
from dwetl.core.errors import DwetlError
from dwetl.core.paths import sql_root
from dwetl.entities.registry import get_entity
from dwetl.entities.spec import EntitySpec, ExtractPart
from dwetl.source.dialects import Partition, bind_since
from dwetl.source.extract import _Part, extract, extract_batches, plan_batches
from transforms import fact_vendas


def _settings(tmp_path: Path, source: Path, **changes: Any) -> Settings:
    settings = load_settings(
        source=f"sqlite:///{source}", dw=f"duckdb:///{tmp_path / 'dw.duckdb'}", cwd=tmp_path, env={}
    )
    return dataclasses.replace(settings, connect_backoff_seconds=0, **changes)


def _identity(frame: pl.DataFrame) -> pl.DataFrame:
    return frame


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(pl.all(), nulls_last=True)


def _spans(frames: list[pl.DataFrame], key: str) -> list[tuple[Any, Any]]:
    """(smallest, largest) key of each batch that holds a key."""
    keys = [frame.get_column(key).drop_nulls() for frame in frames]
    return [(k.min(), k.max()) for k in keys if len(k)]


def _in_ranges(frames: list[pl.DataFrame], key: str, ranges: list[Partition]) -> bool:
    """Whether each batch holds only keys of its range (NULL only in an open-below one)."""
    for frame, part in zip(frames, ranges, strict=True):
        keys = frame.get_column(key)
        inside = pl.lit(True) if part.low is None else pl.col(key) >= part.low
        if part.high is not None:
            inside = inside & (pl.col(key) < part.high)
        if part.low is not None and keys.null_count():
            return False
        if not frame.filter(pl.col(key).is_not_null()).select(inside.all()).item():
            return False
    return True


@pytest.mark.parametrize("ranged", [False, True], ids=["parts-read-once", "ranged"])
@pytest.mark.parametrize("entity", ["fact_vendas", "fact_descontos"])
def test_the_batches_hold_every_row_of_one_read_and_each_key_in_one_batch(
    tmp_path: Path, sample_file, entity: str, ranged: bool
) -> None:
    """Also where the plan reads none of the parts a batch joins (`ranged`, the Spark engine's
    plan) and each batch reads them for the span of its own rows."""
    source = sample_file(2000, 3, 0.02)
    settings = _settings(tmp_path, source, watermark_overlap_seconds=0.0)
    spec = get_entity(entity)
    assert spec.batch_key is not None
    with sqlite3.connect(source) as conn:
        (middle,), *_ = conn.execute(
            "SELECT atualizado_em FROM venda_itens ORDER BY atualizado_em "
            "LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM venda_itens)"
        )
    for watermark in (None, datetime.fromisoformat(middle)):
        whole = extract(spec, settings, watermark)
        plan = plan_batches(spec, settings, watermark, 60, ranged=ranged)
        batches = plan.count
        assert batches > 2, (watermark, whole.frame.height)
        # the plan holds the rows of a part only where it read the part
        held = [p for p in plan.rest if isinstance(p, _Part)]
        assert len(held) == (0 if ranged else len(spec.extract_parts) - 1), plan.rest
        read = list(extract_batches(plan))

        assert len(read) == batches
        together = pl.concat([b.frame for b in read])
        assert _sorted(together).equals(_sorted(whole.frame)), watermark
        keys = [set(b.frame.get_column(spec.batch_key).to_list()) for b in read]
        assert sum(len(k) for k in keys) == len(set().union(*keys))  # no key in two batches
        # each batch is one key range, after the batch before it: not a key modulo P, which
        # spreads over the whole span in every batch
        spans = _spans([b.frame for b in read], spec.batch_key)
        assert all(a[1] < b[0] for a, b in pairwise(spans)), spans
        if watermark is None:  # every key: dense, so no range is empty
            assert len(spans) == batches
        if not ranged:  # ranged, a part's text decoded for two batches counts in each
            assert sum(b.legacy_decoded for b in read) == whole.legacy_decoded
        assert max(b.watermark_to for b in read if b.watermark_to) == whole.watermark_to


@pytest.mark.parametrize("entity", ["fact_vendas", "fact_descontos"])
def test_an_entity_of_one_batch_reads_as_one_extract(tmp_path: Path, sample_file, entity) -> None:
    """Where the rows come to one batch, the run reads that batch from the plan, with the parts
    the plan read while counting (not again): it must hold what one extract() reads."""
    source = sample_file(2000, 3, 0.02)
    settings = _settings(tmp_path, source)
    spec = get_entity(entity)
    plan = plan_batches(spec, settings, None, 10**9, ranged=True)  # ranged: read here all the same
    assert plan.count == 1 and len(plan.rest) == len(spec.extract_parts) - 1 > 0
    assert all(isinstance(p, _Part) for p in plan.rest)

    (read,) = list(extract_batches(plan))
    whole = extract(spec, settings, None)
    assert whole.frame.height > 0
    assert _sorted(read.frame).equals(_sorted(whole.frame))
    assert (read.legacy_decoded, read.watermark_to) == (whole.legacy_decoded, whole.watermark_to)


def test_the_plan_s_count_is_the_batched_query_s_rows_over_batch_rows(
    tmp_path: Path, sample_file
) -> None:
    source = sample_file(2000, 3, 0.02)
    settings = _settings(tmp_path, source)
    spec = get_entity("fact_vendas")
    (items, low, high), *_ = sqlite3.connect(source).execute(
        "SELECT COUNT(*), MIN(id), MAX(id) FROM venda_itens"
    )
    plan = plan_batches(spec, settings, None, 300)
    assert (plan.low, plan.high) == (low, high)

    def batches_for(*args) -> int:
        return plan_batches(*args).count

    # rounded to the nearest number of batches of about batch_rows (at most 1.5x it)
    assert batches_for(spec, settings, None, items) == 1
    assert batches_for(spec, settings, None, items - 1) == 1
    assert batches_for(spec, settings, None, 2 * items // 3 + 1) == 1
    assert batches_for(spec, settings, None, 2 * items // 3) == 2
    assert batches_for(spec, settings, None, 300) == (2 * items + 300) // 600
    assert batches_for(spec, settings, None, 0) == 1  # 0: never batch
    assert batches_for(get_entity("fact_metas"), settings, None, 1) == 1  # no batch_key
    # incremental: only the rows the batched part would return are counted
    assert batches_for(spec, settings, datetime(2100, 1, 1), 1) == 1


def _source(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript((sql_root() / "source" / "oltp.sql").read_text(encoding="utf-8"))
    return path


def test_negative_and_null_keys_of_a_single_file_fall_in_exactly_one_batch(
    tmp_path: Path,
) -> None:
    source = _source(tmp_path / "oltp.sqlite")
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO venda_itens VALUES (?, 1, 3, ?, 1, NULL, ?)",
            [(key, n, f"2024-03-0{1 + n % 8} 00:00:00") for n, key in enumerate(
                [-7, -7, -3, 0, 1, 2, 5, 5, 11, 1000001, 999, 999]
            )],
        )  # fmt: skip
        conn.execute("INSERT INTO vendas VALUES (1, 4, 2, 9, '2024-03-05', 'Loja', '2024-03-05')")
    # a folder written before the facts were read in parts: the one file is the batched query
    # (its key 999 is read as NULL)
    folder = _single_file(tmp_path, key="NULLIF(i.id, 999)")
    settings = _settings(tmp_path, source, watermark_overlap_seconds=0.0)
    spec = get_entity("fact_vendas")
    for watermark in (None, datetime(2024, 3, 3)):
        whole = extract(spec, settings, watermark, sql_dir=folder).frame
        plan = plan_batches(spec, settings, watermark, 3, sql_dir=folder)
        batches = plan.count
        assert batches == -(-whole.height // 3)
        read = [b.frame for b in extract_batches(plan)]
        assert _sorted(pl.concat(read)).equals(_sorted(whole)), watermark
        nulls = [frame.get_column("id_item_origem").null_count() for frame in read]
        assert nulls[1:] == [0] * (batches - 1)  # a NULL key is in batch 0
        assert nulls[0] == whole.get_column("id_item_origem").null_count() > 0
        assert _in_ranges(read, "id_item_origem", plan.partitions)
        spans = _spans(read, "id_item_origem")
        assert all(a[1] < b[0] for a, b in pairwise(spans)), spans


def test_keys_written_after_counting_are_read_by_the_open_first_and_last_batches(
    tmp_path: Path,
) -> None:
    source = _source(tmp_path / "oltp.sqlite")
    item = "INSERT INTO venda_itens VALUES (?, 1, 3, 1, 1, NULL, '2024-03-01 00:00:00')"
    with sqlite3.connect(source) as conn:
        conn.executemany(item, [(key,) for key in range(10, 50)])
    folder = _single_file(tmp_path, key="NULLIF(i.id, 999)")
    settings = _settings(tmp_path, source)
    spec = get_entity("fact_vendas")
    plan = plan_batches(spec, settings, None, 10, sql_dir=folder)
    assert (plan.count, plan.low, plan.high) == (4, 10, 49)
    counted = Partition.ranges("id_item_origem", 10, 49, 4)
    with sqlite3.connect(source) as conn:  # written between the count and the reads
        conn.executemany(item, [(5,), (999,), (30,), (100,)])  # 999: a NULL key

    read = [b.frame for b in extract_batches(plan)]
    whole = extract(spec, settings, None, sql_dir=folder).frame
    assert whole.height == 44
    assert _sorted(pl.concat(read)).equals(_sorted(whole))
    # the plan's counted span splits the keys: below it and NULL in the first batch, above it
    # in the last
    assert _in_ranges(read, "id_item_origem", counted)
    assert 5 in read[0].get_column("id_item_origem") and read[0]["id_item_origem"].null_count()
    assert 100 in read[-1].get_column("id_item_origem")
    assert read[2].get_column("id_item_origem").to_list().count(30) == 2  # both versions
    # a new plan counts again: the span is then 5..100, sparse for its 44 rows, so it is cut
    # at the keys' quantiles (equal widths, cut at 29, 53 and 77, would hold 21, 22, 0, 1 rows)
    replanned = plan_batches(spec, settings, None, 10, sql_dir=folder)
    assert (replanned.count, replanned.low, replanned.high) == (4, 5, 100)
    again = [b.frame for b in extract_batches(replanned)]
    assert _in_ranges(again, "id_item_origem", replanned.partitions)
    assert [f.height for f in again] == [11, 11, 11, 11]


def test_clustered_keys_are_cut_at_their_quantiles_not_in_equal_widths(tmp_path: Path) -> None:
    # an incremental run's changed rows: two old items corrected, and a hundred new ones
    source = _source(tmp_path / "oltp.sqlite")
    keys = [1, 2, *range(1_000_000, 1_000_100)]
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO venda_itens VALUES (?, 1, 3, 1, 1, NULL, '2024-03-01 00:00:00')",
            [(key,) for key in keys],
        )
    settings = _settings(tmp_path, source)
    spec = get_entity("fact_vendas")
    plan = plan_batches(spec, settings, None, 25, sql_dir=_single_file(tmp_path))

    read = [b.frame for b in extract_batches(plan)]
    assert plan.count == 4
    assert _sorted(pl.concat(read)).get_column("id_item_origem").to_list() == keys
    # equal widths over 1..1,000,099 would put 2 rows in the first batch and 100 in the last
    assert [f.height for f in read] == [25, 26, 25, 26]
    assert _in_ranges(read, "id_item_origem", plan.partitions)


@pytest.mark.parametrize("keys", [range(1, 41), [1, 2, *range(1_000_000, 1_000_038)]])
def test_a_key_stored_as_text_is_read_by_the_last_batch_not_an_error(
    tmp_path: Path, keys: range | list[int]
) -> None:
    # SQLite keeps whatever it is given: 'abc' in an INTEGER key column sorts above every number
    source = _source(tmp_path / "oltp.sqlite")
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO venda_itens VALUES (?, 1, 3, 1, 1, NULL, '2024-03-01 00:00:00')",
            [(key,) for key in [*keys, "abc", "12x"]],
        )
    settings = _settings(tmp_path, source)
    spec = get_entity("fact_vendas")
    folder = _single_file(tmp_path)

    plan = plan_batches(spec, settings, None, 10, sql_dir=folder)
    read = [b.frame for b in extract_batches(plan)]

    assert (plan.count, plan.low, plan.high) == (4, min(keys), max(keys))
    whole = extract(spec, settings, None, sql_dir=folder).frame
    assert whole.height == 42
    # the same rows; the batch with the text keys also keeps their text, for the TYPE_ reason
    keys_read = pl.concat([f.select(whole.columns[:12]) for f in read])
    assert _sorted(keys_read).equals(_sorted(whole.select(whole.columns[:12])))
    texts = read[-1].filter(pl.col("id_item_origem").is_null()).get_column("__dwetl_original")
    assert sorted(texts.struct.field("id_item_origem").to_list()) == ["12x", "abc"]


#: what SQLite keeps in an INTEGER key column: integers (repeated, negative, far apart), NULL,
#: text, a fraction
_KEYS = st.one_of(
    st.integers(-50, 50), st.integers(10**9, 10**9 + 20), st.none(),
    st.sampled_from(["abc", "12x", "", "7"]), st.sampled_from([2.5, -0.5]),
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=st.lists(_KEYS, min_size=1, max_size=40), batch_rows=st.integers(1, 15))
def test_any_keys_are_read_once_by_the_batches_as_by_one_extract(
    tmp_path_factory: pytest.TempPathFactory, keys: list[Any], batch_rows: int
) -> None:
    tmp_path = tmp_path_factory.mktemp("keys")
    source = _source(tmp_path / "oltp.sqlite")
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO venda_itens VALUES (?, 1, 3, 1, 1, NULL, '2024-03-01 00:00:00')",
            [(999 if key is None else key,) for key in keys],  # 999: read as NULL
        )
    settings_ = _settings(tmp_path, source)
    spec = get_entity("fact_vendas")
    folder = _single_file(tmp_path, key="NULLIF(i.id, 999)")

    plan = plan_batches(spec, settings_, None, batch_rows, sql_dir=folder)
    read = [b.frame for b in extract_batches(plan)]

    whole = extract(spec, settings_, None, sql_dir=folder).frame
    columns = [c for c in whole.columns if not c.startswith("__dwetl")]
    assert _sorted(pl.concat([f.select(columns) for f in read])).equals(
        _sorted(whole.select(columns))
    )


def test_a_batch_reads_its_key_range_from_the_index_on_the_key(tmp_path: Path, sample_file) -> None:
    """SQLite pushes the range down through the wrapped query (a UNION ALL) onto the index:
    each batch reads its own rows, not the whole table as a key modulo P would. (The first
    batch, which also takes the NULL keys, is one scan.)"""
    from dwetl.source.extract import _prepare  # the query a batch runs, to EXPLAIN it

    source = sample_file(2000, 3, 0.02)  # with the source's indexes
    settings = _settings(tmp_path, source)
    spec = get_entity("fact_vendas")
    reading = _prepare(spec, settings, None, None)
    _, schema, sql = reading.files[0]
    for partition in Partition.ranges("id_item_origem", 1, 1000, 3)[1:]:
        query = reading.dialect.query(bind_since(sql, None), schema, None, None, partition)
        with sqlite3.connect(source) as conn:
            plan = " | ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
        assert "SEARCH i USING INDEX ix_venda_itens_id (id" in plan, (partition, plan)


def test_a_batch_key_that_is_no_integer_column_of_the_batched_query_is_an_error(
    tmp_path: Path,
) -> None:
    source = _source(tmp_path / "oltp.sqlite")
    settings = _settings(tmp_path, source)
    spec = dataclasses.replace(get_entity("fact_vendas"), batch_key="preco_unitario")
    with pytest.raises(DwetlError, match=r"fact_vendas\.sql: batch key preco_unitario must be an"):
        plan_batches(spec, settings, None, 10, sql_dir=_single_file(tmp_path))
    with pytest.raises(
        ValueError, match=r"batch_key canal is not a column of fact_vendas\.itens\.sql"
    ):
        EntitySpec(
            "f", "fact", "dw.f", 1, ("k",), _identity, batch_key="canal",
            extract_parts=(ExtractPart("fact_vendas.itens.sql", fact_vendas.ITENS_SCHEMA),),
            combine=fact_vendas.combine,
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"batch_join canal of v\.sql is not a column of both"):
        EntitySpec(
            "f", "fact", "dw.f", 1, ("k",), _identity, batch_key="id_item_origem",
            extract_parts=(
                ExtractPart("fact_vendas.itens.sql", fact_vendas.ITENS_SCHEMA),
                ExtractPart("v.sql", fact_vendas.VENDAS_SCHEMA, batch_join="canal"),
            ),
            combine=fact_vendas.combine,
        )  # fmt: skip


def _single_file(tmp_path: Path, key: str = "i.id") -> Path:
    folder = tmp_path / "single"
    folder.mkdir(exist_ok=True)
    text = (
        f"SELECT {key} AS id_item_origem, i.id_venda AS id_venda_origem, v.data_venda, "
        "v.id_cliente, i.id_produto, v.id_loja, v.id_vendedor, v.canal, i.quantidade, "
        "i.preco_unitario, i.valor_desconto, i.atualizado_em "
        "FROM venda_itens i LEFT JOIN vendas v ON v.id = i.id_venda"
    )
    (folder / "fact_vendas.sql").write_text(text, encoding="utf-8")
    return folder


def test_a_part_that_fails_while_the_others_are_read_fails_the_plan_naming_it(
    tmp_path: Path, sample_file
) -> None:
    """The parts after the first are read at once, each on a thread of its own, while the rows
    are counted: one that fails is the plan's error, named by its file, not a lost thread's."""
    import shutil

    source = sample_file(500, 3, 0.0)
    settings = _settings(tmp_path, source)
    folder = tmp_path / "extract"
    shutil.copytree(sql_root() / "extract", folder)
    broken = folder / "fact_descontos.vendas.sql"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("h.id_loja ", "h.id_lojas "), encoding="utf-8"
    )
    spec = get_entity("fact_descontos")
    with pytest.raises(DwetlError, match=r"fact_descontos\.vendas\.sql: .*id_lojas"):
        plan_batches(spec, settings, None, 100, sql_dir=folder)
    # the same folder, mended: the plan reads both parts
    shutil.copy(sql_root() / "extract" / broken.name, broken)
    plan = plan_batches(spec, settings, None, 100, sql_dir=folder)
    assert [isinstance(part, _Part) and part.frame.height > 0 for part in plan.rest] == [True] * 2


_JOIN_KEYS = st.one_of(st.none(), st.integers(-3, 12))


@settings(max_examples=60, deadline=None)
@given(
    part_keys=st.lists(_JOIN_KEYS, max_size=30),
    batch_keys=st.lists(_JOIN_KEYS, max_size=15),
    ordered=st.booleans(),
)
def test_a_part_gives_a_batch_exactly_the_rows_it_joins_in_any_order(
    part_keys: list[int | None], batch_keys: list[int | None], ordered: bool
) -> None:
    """A part read in its key order is kept as read (no copy); any other order, NULL keys and
    repeated keys included, is sorted first. Either way a batch gets each row of the part whose
    key it holds, once, and no other."""
    if ordered:
        part_keys = [*sorted(k for k in part_keys if k is not None)]
    part = pl.DataFrame(
        {"k": part_keys, "row": list(range(len(part_keys)))},
        schema={"k": pl.Int64, "row": pl.Int64},
    )
    batch = pl.DataFrame({"k": batch_keys}, schema={"k": pl.Int64})

    got = _Part.of(part, "k").rows_for(batch)

    wanted = {k for k in batch_keys if k is not None}
    expected = part.filter(pl.col("k").is_in(list(wanted)))
    assert sorted(got.rows()) == sorted(expected.rows())
    assert got.get_column("k").is_sorted()


def test_an_incremental_batched_read_takes_the_rows_without_a_stamp_too(tmp_path: Path) -> None:
    """A single-file fact read in batches on an incremental run: its count, its keys and every
    batch take the rows without a stamp, as one extract does (`SourceDialect.rows`)."""
    source = _source(tmp_path / "oltp.sqlite")
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO venda_itens VALUES (?, 1, 3, 1, 1, NULL, '2024-03-01 00:00:00')",
            [(key,) for key in range(1, 41)],
        )
    folder = _single_file(tmp_path)
    text = (folder / "fact_vendas.sql").read_text(encoding="utf-8")
    # items 2 and 4 without a stamp, item 3 changed after the bound, the rest before it
    stamp = (
        "CASE WHEN i.id IN (2, 4) THEN NULL WHEN i.id = 3 THEN '2024-03-09 00:00:00' "
        "ELSE i.atualizado_em END AS atualizado_em FROM"
    )
    (folder / "fact_vendas.sql").write_text(
        text.replace("i.atualizado_em FROM", stamp), encoding="utf-8"
    )
    settings_ = _settings(tmp_path, source, watermark_overlap_seconds=0.0)
    spec = get_entity("fact_vendas")
    since = datetime(2024, 3, 5)

    plan = plan_batches(spec, settings_, since, 1, sql_dir=folder)
    read = pl.concat([b.frame for b in extract_batches(plan)])
    whole = extract(spec, settings_, since, sql_dir=folder).frame

    assert plan.count == 3
    assert sorted(read.get_column("id_item_origem").to_list()) == [2, 3, 4]
    assert sorted(whole.get_column("id_item_origem").to_list()) == [2, 3, 4]
