"""Reading ahead: the run's extracts, read in one background thread while the entity before
them is transformed and loaded, so that both cores work.

The source reads (connectorx, then Polars) release the GIL, and so do the transforms and the
warehouse's bulk loads: a run that read, then loaded, left one core idle during each. The
reader takes the run's entities in their load order and each entity's reads in order (its one
extract, or its key-partitioned batches); the loading thread takes them from one queue per
entity, waiting only for what is not read yet.

Memory stays bounded: at most `slots` large reads (`SMALL_ROWS` rows or more) are held at once,
counting the one being loaded; a small read (a dimension of a few thousand rows) holds no slot,
so the reader gets on to the next large one. An entity that stops early (it failed, or its
dependency check refused it) closes its reads: the ones not taken yet are dropped and the
reader goes on with the next entity. A read that fails is handed over as its error, which the
entity then raises as its own failure.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dwetl.core.config import Settings
    from dwetl.entities.spec import EntitySpec
    from dwetl.source.extract import BatchPlan, Extracted

#: a read of fewer rows holds no slot (see the module docstring)
SMALL_ROWS = 100_000

#: how an entity's reads begin: how many reads there are, and the reads (lazily)
Opener = Callable[[], "tuple[int, Iterator[Extracted] | Planned]"]


def opener(
    spec: EntitySpec,
    settings: Settings,
    watermark: datetime | None,
    *,
    batched: bool,
    distributed: bool = False,
) -> Opener:
    """How `spec` is read: in key-partitioned batches where it declares a `batch_key` and
    `batched` allows it (one batch where its rows come to no more: the parts the plan read
    while counting are not read again); else in one extract. `distributed`: batches (more
    than one) are read by the Spark engine's tasks, not here: only their plan is handed over
    (`EntityReads.plan`), which reads none of the parts each task can read for its own rows
    (`plan_batches`'s `ranged`)."""

    def open_reads() -> tuple[int, Iterator[Extracted] | Planned]:
        from dwetl.source.extract import extract, extract_batches, plan_batches

        if batched and spec.batch_key is not None and settings.batch_rows:
            plan = plan_batches(spec, settings, watermark, settings.batch_rows, ranged=distributed)
            if distributed and plan.count > 1:
                return plan.count, Planned(plan)
            return plan.count, extract_batches(plan)
        return 1, _one(lambda: extract(spec, settings, watermark))

    return open_reads


@dataclass(frozen=True)
class Planned:
    """An entity's batches as planned, for tasks elsewhere to read (no read happens here)."""

    plan: BatchPlan


def _one(read: Callable[[], Extracted]) -> Iterator[Extracted]:
    yield read()  # lazily: the reader takes a slot first


@dataclass(frozen=True)
class Read:
    """One read handed to the loading thread."""

    extracted: Extracted
    #: time.monotonic() when the read began (the batches' watermark depends on it)
    started: float
    #: seconds the reader spent on it (the loading thread's wait is its extract phase)
    seconds: float


@dataclass
class _Item:
    read: Read | None = None
    count: int | None = None
    plan: BatchPlan | None = None
    error: BaseException | None = None
    holds_slot: bool = False


class ReadAhead:
    """The reads of a run's entities, in order, one background thread ahead of the load."""

    def __init__(self, openers: Sequence[tuple[str, Opener]], *, slots: int = 2) -> None:
        self._queues: dict[str, queue.Queue[_Item]] = {name: queue.Queue() for name, _ in openers}
        self._slots = threading.Semaphore(max(1, slots))
        self._lock = threading.Lock()  # `closed` is checked and items are queued under it
        self._closed: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._read_all, args=(list(openers),), name="dwetl-read-ahead", daemon=True
        )
        self._thread.start()

    def reads(self, entity: str) -> EntityReads:
        """The reads of `entity`, for the loading thread (close them when done)."""
        return EntityReads(self, entity)

    def close(self) -> None:
        """Stop reading (the read under way, if any, finishes first, in the background)."""
        self._stop.set()
        for entity in list(self._queues):
            self._close(entity)
        self._thread.join(timeout=0.1)

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the reader thread

    def _read_all(self, openers: list[tuple[str, Opener]]) -> None:
        for entity, opener in openers:
            if self._stop.is_set():
                return
            if entity in self._closed:
                continue
            try:
                self._read_entity(entity, opener)
            except BaseException as exc:  # handed to the entity, which fails with it
                self._put(entity, _Item(error=exc))

    def _read_entity(self, entity: str, opener: Opener) -> None:
        count, reads = opener()
        if isinstance(reads, Planned):
            self._put(entity, _Item(count=count, plan=reads.plan))
            return
        self._put(entity, _Item(count=count))
        try:
            for _ in range(count):
                if not self._take_slot(entity):
                    return
                started = time.monotonic()
                try:
                    extracted = next(reads)
                except BaseException:
                    self._slots.release()
                    raise
                small = extracted.frame.height < SMALL_ROWS
                if small:
                    self._slots.release()
                read = Read(extracted, started, time.monotonic() - started)
                del extracted
                if not self._put(entity, _Item(read=read, holds_slot=not small)) and not small:
                    self._slots.release()
                del read
        finally:
            close = getattr(reads, "close", None)
            if close is not None:
                close()

    def _take_slot(self, entity: str) -> bool:
        """Wait for a free slot; False when the run or the entity stopped meanwhile."""
        while not self._slots.acquire(timeout=0.05):
            if self._stop.is_set() or entity in self._closed:
                return False
        if self._stop.is_set() or entity in self._closed:
            self._slots.release()
            return False
        return True

    def _put(self, entity: str, item: _Item) -> bool:
        with self._lock:
            if entity in self._closed:
                return False
            self._queues[entity].put(item)
            return True

    # the loading thread

    def _get(self, entity: str) -> _Item:
        item = self._queues[entity].get()
        if item.error is not None:
            raise item.error
        return item

    def _release(self) -> None:
        self._slots.release()

    def _close(self, entity: str) -> None:
        with self._lock:
            self._closed.add(entity)
            pending = self._queues[entity]
            while True:
                try:
                    item = pending.get_nowait()
                except queue.Empty:
                    break
                if item.holds_slot:
                    self._slots.release()


class EntityReads:
    """One entity's reads, as the loading thread takes them: `count()`, then `next()` that
    many times, `done()` after each read has been loaded; `close()` at the end, always."""

    def __init__(self, owner: ReadAhead, entity: str) -> None:
        self._owner = owner
        self._entity = entity
        self._count: int | None = None
        self._plan: BatchPlan | None = None
        self._holding = False

    def count(self) -> int:
        """How many reads the entity is read in (1, or its batches); waits for the reader."""
        if self._count is None:
            item = self._owner._get(self._entity)
            assert item.count is not None
            self._count, self._plan = item.count, item.plan
        return self._count

    @property
    def plan(self) -> BatchPlan | None:
        """The batches' plan, where tasks elsewhere read them (`opener`'s `distributed`);
        None where they are read here, by `next`. Known once `count` returned."""
        return self._plan

    def next(self) -> Read:
        """The next read, once the reader has it; releases the one before (`done`)."""
        self.count()
        self.done()
        item = self._owner._get(self._entity)
        assert item.read is not None
        self._holding = item.holds_slot
        return item.read

    def done(self) -> None:
        """The last read is loaded: its slot goes to the reader."""
        if self._holding:
            self._holding = False
            self._owner._release()

    def close(self) -> None:
        """No more reads wanted: those not taken are dropped, the reader goes on."""
        self.done()
        self._owner._close(self._entity)
