"""Scope changes: switch an entity on (behind a dry-run gate) or off, and record who did it.

The live scope is `ctl.etl_control.active`; the expected scope is `ctl.etl_scope`, which `check`
compares with it; `ctl.etl_scope_change` keeps every change. A rollout writes all three in one
transaction, so a change is never half-recorded.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dwetl.core.errors import DwetlError, UsageError
from dwetl.core.queries import named_queries
from dwetl.core.status import EntityStatus, RecordedEntityStatus
from dwetl.run.summary import entity_status
from dwetl.warehouse.base import Warehouse


def _q(name: str) -> str:
    return named_queries("ops/rollout.sql")[name]


@dataclass(frozen=True)
class ScopeRow:
    """One entity's live and expected scope, with its last run."""

    entity: str
    kind: str
    load_order: int
    active: bool
    expected: bool | None  # None: no expected scope recorded for it
    changed_by: str | None
    changed_at: datetime | None
    last_status: RecordedEntityStatus | None
    last_run_id: int | None
    last_run_at: datetime | None

    @property
    def drift(self) -> bool:
        """True when the live flag differs from the recorded expected scope."""
        return self.expected is not None and self.expected != self.active


@dataclass(frozen=True)
class ScopeChange:
    """One recorded change of scope."""

    change_id: int
    entity: str
    active_from: bool | None
    active_to: bool
    forced: bool
    reason: str | None
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class GateResult:
    """What a dry run of one entity says about switching it on."""

    entity: str
    status: EntityStatus  # a loaded entity with rows quarantined is success
    extracted: int
    rejected: int
    limit: float  # the largest reject ratio that passes
    reasons: dict[str, int] = field(default_factory=dict)  # constraint -> rows that broke it
    error: str | None = None
    folded: int = 0  # older versions of a row, folded away before validation

    @property
    def reject_ratio(self) -> float:
        """Rejected rows over validated rows (extracted - folded), as the runner counts it."""
        candidates = self.extracted - self.folded
        return self.rejected / candidates if candidates > 0 else 0.0

    @property
    def passes(self) -> bool:
        """True when the entity would load and stay within the reject limit."""
        return self.status != "failed" and self.reject_ratio <= self.limit

    def refusal(self) -> str:
        """Why the gate refuses, in one line ('' when it passes)."""
        if self.reject_ratio > self.limit:
            return (
                f"the dry run would reject {self.rejected} of {self.extracted - self.folded} rows "
                f"({self.reject_ratio:.1%}, limit {self.limit:.1%})"
            )
        if self.status == "failed":
            return f"the dry run failed: {self.error or 'no reason given'}"
        return ""


#: runs one entity as a dry run and describes the outcome
Gate = Callable[[str], GateResult]


def now_utc() -> datetime:
    """The time stamps of ctl tables: UTC, without a zone (the columns are TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def require_control(wh: Warehouse) -> None:
    """UsageError unless the warehouse has its control tables (`dwetl init` creates them)."""
    if not wh.table_exists("ctl.etl_control"):
        raise UsageError("the warehouse has no ctl.etl_control: run `dwetl init` first")


def scope(wh: Warehouse) -> list[ScopeRow]:
    """Every entity of `ctl.etl_control` in load order, with its expected scope."""
    require_control(wh)
    return [
        ScopeRow(
            entity=r[0],
            kind=r[1],
            load_order=int(r[2]),
            active=bool(r[3]),
            expected=None if r[4] is None else bool(r[4]),
            changed_by=r[5],
            changed_at=r[6],
            last_status=r[7],
            last_run_id=None if r[8] is None else int(r[8]),
            last_run_at=r[9],
        )
        for r in wh.fetchall(_q("scope"))
    ]


def recent_changes(wh: Warehouse, limit: int = 10) -> list[ScopeChange]:
    """The last `limit` changes of scope, newest first."""
    return [
        ScopeChange(
            change_id=int(r[0]),
            entity=r[1],
            active_from=None if r[2] is None else bool(r[2]),
            active_to=bool(r[3]),
            forced=bool(r[4]),
            reason=r[5],
            changed_by=r[6],
            changed_at=r[7],
        )
        for r in wh.fetchall(_q("recent_changes"), [limit])
    ]


def record_change(
    wh: Warehouse,
    entity: str,
    active_to: bool,
    *,
    forced: bool = False,
    reason: str | None = None,
    who: str | None = None,
    when: datetime | None = None,
) -> ScopeChange:
    """Set the live and expected scope of `entity` and append the change, in one transaction."""
    who = who or getpass.getuser()
    when = when or now_utc()
    with wh.transaction():
        rows = wh.fetchall(_q("control_active"), [entity])
        if not rows:
            raise UsageError(f"entity {entity!r} is not in ctl.etl_control (run `dwetl init`)")
        active_from = bool(rows[0][0])
        wh.execute(_q("set_control_active"), [active_to, entity])
        wh.execute(_q("upsert_scope"), [entity, active_to, who, when])
        change_id = int(wh.fetchall(_q("next_change_id"))[0][0])
        wh.execute(
            _q("insert_change"),
            [change_id, entity, active_from, active_to, forced, reason, who, when],
        )
    return ScopeChange(change_id, entity, active_from, active_to, forced, reason, who, when)


def dependents(name: str, depends_on: dict[str, tuple[str, ...]], active: set[str]) -> list[str]:
    """The active entities that need `name`.

    >>> dependents("dim_loja", {"fact_metas": ("dim_loja",), "dim_loja": ()}, {"fact_metas"})
    ['fact_metas']
    """
    return sorted(e for e, needs in depends_on.items() if name in needs and e in active)


def missing_dependencies(
    name: str, depends_on: dict[str, tuple[str, ...]], active: set[str]
) -> list[str]:
    """The entities `name` needs that are not active.

    >>> missing_dependencies("fact_metas", {"fact_metas": ("dim_loja", "dim_data")}, {"dim_data"})
    ['dim_loja']
    """
    return sorted(d for d in depends_on.get(name, ()) if d not in active)


@dataclass(frozen=True)
class Outcome:
    """What `enable`/`disable` did: the change (None when nothing changed) and the gate's view."""

    change: ScopeChange | None
    gate: GateResult | None = None
    note: str = ""


class RolloutRefused(DwetlError):
    """A scope change dwetl will not make without `--force`; carries the gate result if any."""

    def __init__(self, message: str, gate: GateResult | None = None) -> None:
        super().__init__(message)
        self.gate = gate


def _live(wh: Warehouse, name: str, known: dict[str, tuple[str, ...]]) -> tuple[ScopeRow, set[str]]:
    if name not in known:
        raise UsageError(f"unknown entity {name!r} (known: {', '.join(sorted(known))})")
    rows = scope(wh)
    by_name = {r.entity: r for r in rows}
    if name not in by_name:
        raise UsageError(f"entity {name!r} is not in ctl.etl_control (run `dwetl init`)")
    return by_name[name], {r.entity for r in rows if r.active}


def _settled(row: ScopeRow, target: bool) -> bool:
    # Live and expected both say so already. A live flag that only matches because someone
    # flipped it behind dwetl's back still goes through the change, so it is on the record.
    return row.active == target and row.expected in (target, None)


def enable(
    wh: Warehouse,
    name: str,
    *,
    depends_on: dict[str, tuple[str, ...]],
    gate: Gate,
    force: bool = False,
    reason: str | None = None,
    who: str | None = None,
) -> Outcome:
    """Switch `name` on after a dry run passes (or `force`); refuse with the reasons otherwise."""
    row, active = _live(wh, name, depends_on)
    if _settled(row, True):
        return Outcome(None, note=f"{name} is already active")
    problems: list[str] = []
    missing = missing_dependencies(name, depends_on, active)
    if missing:
        problems.append(f"it needs {', '.join(missing)}, which is not active")
    result = gate(name)
    if not result.passes:
        problems.append(result.refusal())
    if problems and not force:
        raise RolloutRefused(
            f"rollout enable {name} refused: {'; '.join(problems)} (fix it, or use --force)",
            result,
        )
    why = reason or ("; ".join(problems) if problems else None)
    change = record_change(wh, name, True, forced=bool(problems), reason=why, who=who)
    return Outcome(change, result)


def disable(
    wh: Warehouse,
    name: str,
    *,
    depends_on: dict[str, tuple[str, ...]],
    force: bool = False,
    reason: str | None = None,
    who: str | None = None,
) -> Outcome:
    """Switch `name` off, keeping its data and watermark; refuse if an active entity needs it."""
    row, active = _live(wh, name, depends_on)
    if _settled(row, False):
        return Outcome(None, note=f"{name} is already inactive")
    needed_by = dependents(name, depends_on, active)
    verb = "needs" if len(needed_by) == 1 else "need"
    problem = f"active {', '.join(needed_by)} {verb} it" if needed_by else ""
    if problem and not force:
        raise RolloutRefused(
            f"rollout disable {name} refused: {problem} "
            f"(disable {', '.join(needed_by)} first, or use --force)"
        )
    change = record_change(
        wh, name, False, forced=bool(problem), reason=reason or problem or None, who=who
    )
    return Outcome(change)


def gate_from_summary(entity: str, summary: Any, limit: float) -> GateResult:
    """A GateResult from the runner's summary of a dry run (an object or its JSON dict)."""
    data = summary.to_dict() if hasattr(summary, "to_dict") else summary
    entities = data.get("entities", [])
    if isinstance(entities, dict):
        entities = [{"entity": k, **v} for k, v in entities.items()]
    row = next((e for e in entities if e.get("entity", e.get("name")) == entity), None)
    if row is None:
        return GateResult(entity, "failed", 0, 0, limit, error="the dry run did not run it")
    reasons = row.get("reasons") or row.get("reject_reasons") or {}
    return GateResult(
        entity=entity,
        status=entity_status(str(row.get("status", "failed"))),
        extracted=int(row.get("extracted") or 0),
        folded=int(row.get("folded") or 0),
        rejected=int(row.get("rejected") or 0),
        limit=limit,
        reasons={str(k): int(v) for k, v in dict(reasons).items()},
        error=row.get("error"),
    )
