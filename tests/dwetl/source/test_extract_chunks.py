"""A SQLite read comes in record batches, each restored as it comes (a 6.7M-row part read whole
held its 0.7 GB Arrow table beside the frames made of it). In any batches, the rows, their
types and what a row keeps for its quarantine are those of one read of them all: a batch where
SQLite's CAST changed a value restores that column as text, and the others come as text too."""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from dwetl.core.config import load_settings
from dwetl.core.errors import DwetlError
from dwetl.core.paths import sql_root
from dwetl.entities.registry import get_entity
from dwetl.source import extract as extract_module
from dwetl.source.conform import ORIGINAL
from dwetl.source.extract import extract

# what a foreign ERP writes into `metas`: clean values, and the ones SQLite's typeless columns
# let in (text and fractions in the integers, more decimals than the scale, bytes)
YEARS = st.sampled_from([2024, 2025, "2024", "xyz", 17.5, 2024.0, None])
GOALS = st.sampled_from(["10.05", "0.1", 12, 12.5, "17.505", "abc", "12,50", None, b"\xe7"])
ROWS = st.lists(st.tuples(YEARS, GOALS), min_size=1, max_size=40)


def _read(folder: Path, rows: Sequence[tuple[object, object]], chunk_rows: int):
    source = folder / "oltp.sqlite"
    if not source.exists():
        with sqlite3.connect(source) as conn:
            conn.executescript((sql_root() / "source" / "oltp.sql").read_text(encoding="utf-8"))
            conn.executemany(
                "INSERT INTO metas VALUES (?, ?, 3, 1, NULL, ?, '2024-01-01 00:00:00')",
                [(i, year, goal) for i, (year, goal) in enumerate(rows, 1)],
            )
    found = load_settings(
        source=f"sqlite:///{source}", dw=f"duckdb:///{folder / 'dw.duckdb'}", cwd=folder, env={}
    )
    found = dataclasses.replace(found, connect_backoff_seconds=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(extract_module, "READ_CHUNK_ROWS", chunk_rows)
        return extract(get_entity("fact_metas"), found, None).frame.sort("id_meta_origem")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS, chunk_rows=st.integers(1, 41))
def test_a_read_in_batches_gives_the_rows_of_one_read(rows, chunk_rows) -> None:
    with tempfile.TemporaryDirectory() as folder:
        whole, whole_error = _outcome(Path(folder), rows, 1_000_000)
        batched, batched_error = _outcome(Path(folder), rows, chunk_rows)
    # bytes in a decimal column fail the read (connectorx cannot convert them), in one
    # read or in batches alike, and say so the same way
    assert batched_error == whole_error
    if whole is not None:
        assert_frame_equal(batched, whole)


def _outcome(folder: Path, rows: Sequence[tuple[object, object]], chunk_rows: int):
    try:
        return _read(folder, rows, chunk_rows), None
    except DwetlError as exc:
        return None, str(exc)


def test_a_batch_whose_integers_all_cast_still_keeps_another_batchs_text() -> None:
    """The first batch's years are integers, the second's are text ('xyz'): the year of the
    second is quarantined keeping its text, those of the first load as integers."""
    rows = [(2024, "10.00"), (2025, "11.00"), ("xyz", "12.00"), (2026, "13.00")]
    with tempfile.TemporaryDirectory() as folder:
        frame = _read(Path(folder), rows, 2)
    assert frame["ano"].to_list() == [2024, 2025, None, 2026]
    kept = frame[ORIGINAL].struct.field("ano").to_list()
    assert kept == [None, None, "xyz", None]
