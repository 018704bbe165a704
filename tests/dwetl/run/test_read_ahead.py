"""Reading ahead: each entity gets its own reads in order, a failed read is that entity's
failure only, and no more than `slots` large reads are held at once.

The reads here are plain generators of frames (no database is involved: this is the hand-over
between two threads, which the run tests then exercise on real sources).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import polars as pl
import pytest

from dwetl.core.errors import DwetlError
from dwetl.run.read_ahead import SMALL_ROWS, Opener, ReadAhead
from dwetl.source.extract import Extracted

WAIT_S = 10  # generous: a slow machine must not fail a correct reader


class Log:
    """The reads the reader began, by name, each with an event that it began."""

    def __init__(self) -> None:
        self.begun: list[str] = []
        self.events: dict[str, threading.Event] = {}

    def event(self, name: str) -> threading.Event:
        return self.events.setdefault(name, threading.Event())

    def opener(self, entity: str, sizes: list[int]) -> Opener:
        def open_reads() -> tuple[int, Iterator[Extracted]]:
            def reads() -> Iterator[Extracted]:
                for number, rows in enumerate(sizes, start=1):
                    name = f"{entity}{number}"
                    self.begun.append(name)
                    self.event(name).set()
                    yield Extracted(pl.DataFrame({"batch": [name] * rows}), None)

            return len(sizes), reads()

        return open_reads


def _batch(read_ahead: ReadAhead, entity: str) -> list[str]:
    reads = read_ahead.reads(entity)
    names = []
    for _ in range(reads.count()):
        names.append(reads.next().extracted.frame.item(0, "batch"))
    reads.close()
    return names


def test_every_entity_gets_its_own_reads_in_order():
    log = Log()
    openers = [("a", log.opener("a", [3, 2])), ("b", log.opener("b", [1]))]
    openers.append(("c", log.opener("c", [5, 5, 5])))
    with ReadAhead(openers) as read_ahead:
        assert [_batch(read_ahead, e) for e in ("a", "b", "c")] == [
            ["a1", "a2"],
            ["b1"],
            ["c1", "c2", "c3"],
        ]
    assert log.begun == ["a1", "a2", "b1", "c1", "c2", "c3"]


def test_no_more_than_two_large_reads_are_held_at_once():
    log = Log()
    large = SMALL_ROWS
    with ReadAhead([("fact", log.opener("fact", [large, large, large]))], slots=2) as read_ahead:
        reads = read_ahead.reads("fact")
        assert reads.count() == 3
        first = reads.next()
        assert log.event("fact2").wait(WAIT_S)  # read ahead while the first is loaded
        # the first (being loaded) and the second (read) hold both slots: no third read
        assert not log.event("fact3").wait(0.5)
        assert log.begun == ["fact1", "fact2"]
        assert first.extracted.frame.height == large
        reads.done()
        assert log.event("fact3").wait(WAIT_S)
        assert [reads.next().extracted.frame.item(0, "batch") for _ in range(2)] == [
            "fact2",
            "fact3",
        ]
        reads.close()


def test_small_reads_hold_no_slot():
    log = Log()
    openers = [(name, log.opener(name, [10])) for name in ("d1", "d2", "d3", "d4")]
    with ReadAhead(openers, slots=1) as read_ahead:
        # nothing taken yet: every small read is done all the same
        assert log.event("d41").wait(WAIT_S)
        assert [_batch(read_ahead, e) for e in ("d1", "d2", "d3", "d4")] == [
            ["d11"],
            ["d21"],
            ["d31"],
            ["d41"],
        ]


def test_a_failed_read_is_its_entity_failure_only():
    log = Log()

    def broken() -> tuple[int, Iterator[Extracted]]:
        raise DwetlError("fact_vendas.itens.sql: the source rejected the query: no such table")

    def fails_in_batch_two() -> tuple[int, Iterator[Extracted]]:
        def reads() -> Iterator[Extracted]:
            yield Extracted(pl.DataFrame({"batch": ["m1"]}), None)
            raise DwetlError("fact_metas.sql: the source failed the query: gone")

        return 3, reads()

    openers = [
        ("dim", log.opener("dim", [2])),
        ("fact", broken),
        ("metas", fails_in_batch_two),
        ("last", log.opener("last", [1])),
    ]
    with ReadAhead(openers) as read_ahead:
        assert _batch(read_ahead, "dim") == ["dim1"]
        with pytest.raises(DwetlError, match="no such table"):
            read_ahead.reads("fact").count()
        metas = read_ahead.reads("metas")
        assert metas.next().extracted.frame.item(0, "batch") == "m1"
        with pytest.raises(DwetlError, match="gone"):
            metas.next()
        metas.close()
        assert _batch(read_ahead, "last") == ["last1"]


def test_an_entity_that_stops_early_lets_the_reader_go_on():
    log = Log()
    large = SMALL_ROWS
    openers = [
        ("fact", log.opener("fact", [large] * 5)),
        ("next", log.opener("next", [large, large])),
    ]
    with ReadAhead(openers, slots=2) as read_ahead:
        failing = read_ahead.reads("fact")
        failing.next()  # batch 1 is loaded, then the entity fails
        failing.close()
        assert _batch(read_ahead, "next") == ["next1", "next2"]
    assert "fact4" not in log.begun  # the batches nobody wanted were not read
