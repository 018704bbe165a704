"""WriteBehind: writes run in order, one at a time, in a thread of their own; the caller waits
only for the previous write; a failed write surfaces in the caller, and a failing caller never
leaves a write running behind it."""

from __future__ import annotations

import functools
import threading
import time

import pytest

from dwetl.run.write_behind import WriteBehind


class Boom(Exception):
    pass


def test_writes_run_in_order_off_the_calling_thread():
    seen: list[tuple[int, str]] = []

    def write(n: int) -> None:
        time.sleep(0.01 * (3 - n))  # the first is the slowest: order is not by speed
        seen.append((n, threading.current_thread().name))

    with WriteBehind() as behind:
        for n in range(3):
            behind.submit(functools.partial(write, n))

    assert [n for n, _ in seen] == [0, 1, 2]
    assert {name for _, name in seen} != {threading.current_thread().name}
    assert behind.seconds >= 0.05


def test_the_caller_goes_on_while_a_write_runs_and_waits_for_it_at_the_next():
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(5)
        order.append("first written")

    with WriteBehind() as behind:
        behind.submit(slow)
        assert started.wait(5)
        order.append("caller prepares the next")  # while the write is still running
        threading.Timer(0.05, release.set).start()
        behind.submit(lambda: order.append("second written"))  # waits for the first

    assert order == ["caller prepares the next", "first written", "second written"]


def test_a_failed_write_is_raised_at_the_next_submit_and_the_rest_is_not_written():
    written: list[str] = []

    def fail() -> None:
        raise Boom("COPY failed")

    with pytest.raises(Boom, match="COPY failed"), WriteBehind() as behind:
        behind.submit(fail)
        behind.submit(lambda: written.append("after"))
    assert written == []


def test_a_failed_last_write_is_raised_on_leaving_the_block():
    def fail() -> None:
        raise Boom("last batch")

    with pytest.raises(Boom, match="last batch"), WriteBehind() as behind:
        behind.submit(fail)


def test_a_failing_caller_waits_for_the_write_in_flight_before_it_unwinds():
    done = threading.Event()

    def slow() -> None:
        time.sleep(0.1)
        done.set()

    with pytest.raises(ValueError, match="transform failed"), WriteBehind() as behind:
        behind.submit(slow)
        raise ValueError("transform failed")
    assert done.is_set()  # the rollback that follows cannot overtake the write


def test_the_write_s_own_failure_wins_over_the_caller_s_later_error():
    """The caller often fails only because the write did (a statement on the aborted
    transaction): the write's error is the cause to report, the caller's is chained."""

    def fail() -> None:
        time.sleep(0.05)
        raise Boom("duplicate key in batch 3")

    with pytest.raises(Boom, match="batch 3") as raised, WriteBehind() as behind:
        behind.submit(fail)
        raise RuntimeError("current transaction is aborted")
    assert isinstance(raised.value.__cause__, RuntimeError)
