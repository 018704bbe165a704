"""What a run did: per-entity results and the run's status, as JSON (lines: `dwetl.cli.console`).

The status rules are DESIGN.md's. An entity is `success` (it loaded: its valid rows committed,
`rejected` of them quarantined, 0 or more), `failed` (nothing of it committed) or `skipped` (not
tried: a dimension it needs failed in this run). Quarantined rows do not change an entity's
status: the load did what it was designed to do, and the count says how many rows need a look
at the source. So the run is `success` (exit 0) when every entity loaded, `failed` (exit 1)
when none did, else `partial` (exit 3): a scheduler can trust exit 0.

Earlier versions recorded an entity that loaded with quarantined rows as `partial`; what they
wrote is read with `entity_status` (as `success`) and `run_status`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dwetl.core.errors import DwetlError
from dwetl.core.status import EntityStatus, RunOutcome

PHASES = ("extract", "transform", "validate", "load", "merge", "commit")
EXIT_CODES: dict[RunOutcome, int] = {"success": 0, "partial": 3, "failed": 1}
#: the start of a skipped entity's error (`ctl.etl_run_entity` stores it as failed with it)
SKIPPED_PREFIX = "skipped:"
#: entity statuses of an entity that loaded nothing
NOT_LOADED: tuple[EntityStatus, ...] = ("failed", "skipped")
#: the per-entity counts of the summary (and of `dwetl status`)
COUNTS = (
    "extracted", "folded", "rejected", "inserted", "updated", "unchanged", "inferred", "future",
    "ties",
)  # fmt: skip
#: the entity statuses of a loaded entity, as earlier versions wrote them too
_LOADED = frozenset({"success", "partial"})
_AS_NAMED_NOW: dict[str, EntityStatus] = {
    "success": "success", "partial": "success", "failed": "failed", "skipped": "skipped",
}  # fmt: skip


def entity_status(recorded: str) -> EntityStatus:
    """An entity status as this version names it: `partial` (an entity that loaded with
    quarantined rows, as earlier versions recorded it) is `success`.

    >>> entity_status("partial"), entity_status("failed")
    ('success', 'failed')
    """
    try:
        return _AS_NAMED_NOW[recorded]
    except KeyError:
        raise ValueError(f"unknown entity status {recorded!r}") from None


def run_status(entity_statuses: Iterable[str]) -> RunOutcome:
    """The run's status from its entities': success if every one loaded, failed if none did
    (each failed or was skipped), else partial.

    >>> run_status(["success", "success"]), run_status(["success", "skipped"])
    ('success', 'partial')
    >>> run_status(["failed", "skipped"]), run_status(["partial"])
    ('failed', 'success')
    """
    loaded = [s in _LOADED for s in entity_statuses]
    if all(loaded):
        return "success"
    if not any(loaded):
        return "failed"
    return "partial"


@dataclass
class EntityResult:
    """One entity's outcome in one run (the row of `ctl.etl_run_entity`)."""

    entity: str
    started_at: datetime
    status: EntityStatus = "success"
    finished_at: datetime | None = None
    extracted: int = 0
    folded: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    inferred: int = 0
    #: rows of a failed entity that were neither rejected nor folded: nothing of them was applied
    blocked: int = 0
    #: target rows taken out because their key's newest source version was rejected (deleted,
    #: or a dimension's row turned into an inferred member): a subset of `rejected`, so not a
    #: term of `balance`
    withdrawn: int = 0
    #: rows read dated after the source's clock (`source_clock`): counted among the extracted
    #: rows like any other (not a term of `balance`), and read again by later runs
    future: int = 0
    #: keys whose newest version tied, on the watermark column, with another version read
    #: (one of them kept by `transforms.keys.fold_newest`'s rule; the others are `folded`)
    ties: int = 0
    #: in how many key-partitioned batches the entity was read and validated (1: at once)
    batches: int = 1
    watermark_from: datetime | None = None
    watermark_to: datetime | None = None
    #: the source's clock when the extract began: the watermark never passes it
    source_clock: datetime | None = None
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    reject_reasons: dict[str, int] = field(default_factory=dict)
    repairs: dict[str, Any] | None = None
    error: str | None = None

    @property
    def loaded(self) -> int:
        """Rows now in the target as this batch has them (written or already equal)."""
        return self.inserted + self.updated + self.unchanged

    def balance(self) -> int:
        """extracted - (inserted + updated + unchanged + blocked + rejected + folded): 0 when
        nothing is lost (`blocked` is 0 unless the entity failed, `loaded` 0 when it did).
        (`withdrawn` rows are target rows of rejected keys, already counted in `rejected`.)

        >>> EntityResult("e", datetime(2026, 1, 1), extracted=3, inserted=1, folded=2).balance()
        0
        """
        return self.extracted - (self.loaded + self.blocked + self.rejected + self.folded)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of one entity."""
        return {
            "entity": self.entity,
            "status": self.status,
            "extracted": self.extracted,
            "folded": self.folded,
            "rejected": self.rejected,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "inferred": self.inferred,
            "blocked": self.blocked,
            "withdrawn": self.withdrawn,
            "future": self.future,
            "ties": self.ties,
            "batches": self.batches,
            "watermark_from": _iso(self.watermark_from),
            "watermark_to": _iso(self.watermark_to),
            "source_clock": _iso(self.source_clock),
            "seconds": {p: round(self.seconds.get(p, 0.0), 4) for p in PHASES},
            "reasons": dict(sorted(self.reject_reasons.items())),
            "repairs": self.repairs,
            "error": self.error,
        }


@dataclass
class RunSummary:
    """A whole `dwetl run`."""

    run_id: int
    started_at: datetime
    full: bool = False
    dry_run: bool = False
    entities: list[EntityResult] = field(default_factory=list)
    finished_at: datetime | None = None
    seconds: float = 0.0

    @property
    def status(self) -> RunOutcome:
        """success if every entity loaded, failed if none did, else partial.

        >>> s = RunSummary(1, datetime(2026, 1, 1))
        >>> s.entities = [EntityResult("a", s.started_at), EntityResult("b", s.started_at)]
        >>> s.entities[0].rejected = 5  # quarantined rows: still loaded
        >>> s.status
        'success'
        >>> s.entities[1].status = "failed"
        >>> s.status
        'partial'
        >>> s.entities[0].status = "skipped"
        >>> s.status
        'failed'
        """
        return run_status([e.status for e in self.entities])

    @property
    def quarantined(self) -> int:
        """Rows quarantined in `ctl.etl_reject` by the entities that loaded (a failed entity's
        rejects rolled back with it)."""
        return sum(e.rejected for e in self.entities if e.status in _LOADED)

    @property
    def exit_code(self) -> int:
        """0 success, 3 partial, 1 failed."""
        return EXIT_CODES[self.status]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the run (what `dwetl run --json` prints)."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "full": self.full,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "seconds": round(self.seconds, 4),
            "quarantined": self.quarantined,
            "entities": [e.to_dict() for e in self.entities],
        }

    def to_json(self) -> str:
        """One JSON object on one line."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(sep=" ")


class RunStopped(DwetlError):
    """The run stops before its end: at an entity (nothing of it committed) or between two.
    The runner records the run as failed where it still can."""

    #: what to do before the next run
    advice = "run again to go on"

    def __init__(self, message: str, result: EntityResult | None = None) -> None:
        super().__init__(message)
        #: the entity it stopped at (None: between two, or the run's own record could not be
        #: written)
        self.result = result
        #: the run so far, this entity last (set by the runner)
        self.summary: RunSummary | None = None


class DiskFull(RunStopped):
    """The warehouse's disk, quota or file size limit is full: the run stops at this entity
    (every entity after it would fail the same way)."""

    advice = "free space there and run again"
