"""One entity of a run: extract, transform, keys, validate, stage, merge, commit — or fail whole.

Everything the entity writes (target rows, rejects, watermark, run-entity row) commits in one
transaction; any error rolls it all back and the entity is then recorded as `failed` in a small
transaction of its own. Inferred members are the one exception by design: they commit first,
under their dimension's lock, so the fact can reference them (a later failure of the fact
leaves them, harmless placeholders the dimension completes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field

import polars as pl

from dwetl import logs
from dwetl.config import Settings
from dwetl.ddl import shipped_constraint_sets
from dwetl.dialects.base import Warehouse
from dwetl.entities.spec import EntitySpec
from dwetl.errors import DwetlError
from dwetl.run import control, inferred, merge, rejects
from dwetl.run.faults import fault_point
from dwetl.run.summary import EntityResult
from transforms.constraints import ConstraintSet
from transforms.keys import assign_surrogate_keys, attach_surrogate_keys, fold_versions
from transforms.text import repair_report
from transforms.validate import REASONS, split

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]


class RejectRatioExceeded(DwetlError):
    """More rows rejected than --max-reject-ratio allows: the entity fails."""


class _DryRunDone(Exception):
    """Raised at the end of a dry run's entity so that its transaction rolls back."""


@dataclass
class RunContext:
    """What every entity of one run shares."""

    wh: Warehouse
    settings: Settings
    run_id: int
    specs: Mapping[str, EntitySpec]
    control: Mapping[str, control.ControlRow]
    full: bool = False
    dry_run: bool = False
    max_reject_ratio: float = 0.05
    progress: Progress = lambda entity, phase: None
    #: dry run only: rows the run would have written, per target table (so facts see them)
    pending: dict[str, pl.DataFrame] = field(default_factory=dict)


@contextmanager
def _phase(ctx: RunContext, result: EntityResult, name: str) -> Iterator[None]:
    ctx.progress(result.entity, name)
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        result.seconds[name] = result.seconds.get(name, 0.0) + seconds
        logs.event(
            f"{result.entity} {name}",
            run_id=ctx.run_id,
            entity=result.entity,
            phase=name,
            seconds=round(seconds, 3),
        )


def run_entity(ctx: RunContext, spec: EntitySpec) -> EntityResult:
    """Load one entity under its lock; never raises for the entity's own failure."""
    result = EntityResult(spec.name, started_at=control.now())
    try:
        with ctx.wh.entity_lock(spec.name, ctx.settings.lock_timeout_s):
            _load(ctx, spec, result)
    except _DryRunDone:
        pass
    except Exception as exc:  # one entity's failure must not stop the others
        result.status = "failed"
        result.error = _one_line(exc)
        log.error("%s failed: %s", spec.name, result.error)
        log.debug("%s failed", spec.name, exc_info=True)
        result.inserted = result.updated = result.unchanged = 0
        result.finished_at = control.now()
        if not ctx.dry_run:
            _reconnect_if_lost(ctx)
            with ctx.wh.transaction():
                control.record_failed(ctx.wh, ctx.run_id, result)
    result.finished_at = result.finished_at or control.now()
    ctx.progress(spec.name, f"done:{result.status}")
    logs.event(
        f"{spec.name} {result.status}",
        run_id=ctx.run_id,
        entity=spec.name,
        status=result.status,
        counts=_counts(result),
        seconds=round(sum(result.seconds.values()), 3),
    )
    return result


def _counts(result: EntityResult) -> dict[str, int]:
    names = ("extracted", "folded", "rejected", "inserted", "updated", "unchanged", "inferred")
    return {name: getattr(result, name) for name in names}


def _reconnect_if_lost(ctx: RunContext) -> None:
    """A failure that took the warehouse connection with it (server restart, a killed backend)
    leaves the run on a new connection: the failure is recorded and the next entities run."""
    try:
        ctx.wh.fetchall("SELECT 1")
        return
    except Exception as exc:
        log.warning("warehouse connection lost (%s); reconnecting", _one_line(exc))
    from dwetl.dialects import open_warehouse

    lost, ctx.wh = ctx.wh, open_warehouse(ctx.settings.dw, ctx.settings)
    ctx.wh.run_id = lost.run_id
    with suppress(Exception):
        lost.close()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, DwetlError) else f"{type(exc).__name__}: {text}"


def _load(ctx: RunContext, spec: EntitySpec, result: EntityResult) -> None:
    from dwetl.extract import extract  # by helper "entities"; imported late to keep start-up fast

    wh = ctx.wh
    stored = ctx.control[spec.name].watermark_value
    result.watermark_from = None if ctx.full else stored
    with _phase(ctx, result, "extract"):
        extracted = extract(spec, ctx.settings, result.watermark_from)
    frame = extracted.frame
    result.extracted = frame.height
    result.watermark_to = extracted.watermark_to

    with _phase(ctx, result, "transform"):
        source = frame
        frame = spec.transform(frame)
        result.repairs = _repairs(source, frame)
        if spec.kind == "calendar":
            # The calendar's extract is the span of the source's dates; its rows are the days
            # the transform generates, and those are what the run accounts for.
            result.extracted = frame.height
        order_by = spec.watermark_column
        if order_by and order_by in frame.columns:
            frame, result.folded = fold_versions(frame, list(spec.natural_key), order_by)
        frame = _with_keys(ctx, spec, frame, result)
        frame = frame.with_columns(pl.lit(ctx.run_id, dtype=pl.Int64).alias(merge.LINEAGE))

    with _phase(ctx, result, "validate"):
        cs = shipped_constraint_sets()[spec.target_table]
        valid, rejected = split(
            frame,
            cs,
            key=list(spec.natural_key),
            references=_references(ctx, cs),
            existing=_held_tuples(ctx, spec, cs),
        )
        result.rejected = rejected.height
        if rejected.height:
            counts = rejected.get_column(REASONS).explode().value_counts()
            result.reject_reasons = {str(r): int(n) for r, n in counts.iter_rows()}
        _check_ratio(ctx, result)

    with ExitStack() as committing, wh.transaction():
        plan = merge.plan_for(
            wh,
            spec.target_table,
            merge.staging_name(spec.name, ctx.run_id),
            spec.natural_key,
            spec.surrogate_key,
        )
        missing = [c for c in plan.columns if c not in valid.columns]
        if missing:
            raise DwetlError(
                f"{spec.name}: the transformed rows lack target column(s) {', '.join(missing)}"
            )
        with _phase(ctx, result, "load"):
            landed = merge.land(wh, plan, valid, apply=not ctx.dry_run)
        fault_point("merge", spec.name)
        with _phase(ctx, result, "merge"):
            counts_ = merge.settle(wh, landed, apply=not ctx.dry_run)
            result.inserted, result.updated, result.unchanged = (
                counts_.inserted,
                counts_.updated,
                counts_.unchanged,
            )
            if not ctx.dry_run:
                rejects.write_rejects(
                    wh, rejected, spec.natural_key, run_id=ctx.run_id, entity=spec.name
                )
                rejects.resolve_rejects(
                    wh, landed.loaded, spec.natural_key, run_id=ctx.run_id, entity=spec.name
                )
            merge.clean_up(wh, landed)
        result.status = "partial" if result.rejected else "success"
        if result.balance() != 0:
            raise DwetlError(
                f"{spec.name}: rows do not add up (extracted {result.extracted} != inserted "
                f"{result.inserted} + updated {result.updated} + unchanged {result.unchanged} "
                f"+ rejected {result.rejected} + folded {result.folded}); nothing committed"
            )
        fault_point("commit", spec.name)
        result.finished_at = control.now()
        if ctx.dry_run:
            if spec.kind != "fact":
                _remember(ctx, spec.target_table, valid)
            raise _DryRunDone
        # the control rows and the COMMIT (on DuckDB the checkpoint of a large batch, its
        # indexes included): timed until the transaction has ended, after its run-entity row
        committing.enter_context(_phase(ctx, result, "commit"))
        control.record_loaded(wh, ctx.run_id, result, stored)


def _repairs(before: pl.DataFrame, after: pl.DataFrame) -> dict[str, dict[str, int]] | None:
    """Text repairs per column and class (for the run log), where the transform kept the rows
    and the column's name: the transforms are row-preserving maps, so rows line up."""
    if before.height != after.height or not before.height:
        return None
    out: dict[str, dict[str, int]] = {}
    for name, dtype in before.schema.items():
        if dtype == pl.String and after.schema.get(name) == pl.String:
            report = repair_report(before.get_column(name), after.get_column(name))
            if report.get("changed"):
                out[name] = {k: v for k, v in report.items() if v and k != "rows"}
    return out or None


def _check_ratio(ctx: RunContext, result: EntityResult) -> None:
    candidates = result.extracted - result.folded
    if not candidates or result.rejected / candidates <= ctx.max_reject_ratio:
        return
    top = ", ".join(
        f"{r} ×{n}" for r, n in sorted(result.reject_reasons.items(), key=lambda x: -x[1])[:3]
    )
    raise RejectRatioExceeded(
        f"{result.entity}: {result.rejected} of {candidates} rows rejected "
        f"({result.rejected / candidates:.1%}), above the limit of {ctx.max_reject_ratio:.1%} "
        f"(--max-reject-ratio); nothing of it committed; top reasons: {top}"
    )


def _with_keys(
    ctx: RunContext, spec: EntitySpec, frame: pl.DataFrame, result: EntityResult
) -> pl.DataFrame:
    """Facts: surrogate keys of their dimensions (inferred members for late keys).
    Dimensions: their own stable surrogate keys and `inferido` FALSE."""
    if spec.kind == "dimension" and spec.surrogate_key:
        existing = _key_map(ctx, spec)
        frame = assign_surrogate_keys(frame, existing, spec.surrogate_key, list(spec.natural_key))
        if "inferido" not in frame.columns:
            frame = frame.with_columns(pl.lit(False).alias(inferred.INFERRED_FLAG))
        return frame
    if not spec.lookups:
        return frame
    maps = {lk.dimension: _key_map(ctx, ctx.specs[lk.dimension]) for lk in spec.lookups}
    frame, missing = attach_surrogate_keys(frame, spec.lookups, maps)
    late = {d: k for d, k in missing.items() if ctx.specs[d].kind == "dimension" and k.len()}
    if not late:
        return frame
    for dimension, keys in late.items():
        dim = ctx.specs[dimension]
        if ctx.dry_run:
            rows = inferred.placeholders(ctx.wh, dim, keys, maps[dimension], ctx.run_id)
            _remember(ctx, dim.target_table, rows)
        else:
            rows = inferred.add_inferred(
                ctx.wh, dim, keys, ctx.run_id, lock_timeout_s=ctx.settings.lock_timeout_s
            )
        result.inferred += rows.height
        maps[dimension] = _key_map(ctx, dim)
    frame, _ = attach_surrogate_keys(frame, spec.lookups, maps)
    return frame


def _key_map(ctx: RunContext, dim: EntitySpec) -> pl.DataFrame:
    """DataFrame[natural key, sk] of a dimension (or the calendar), plus a dry run's pending."""
    natural = dim.natural_key[0]
    sk = dim.surrogate_key or natural
    columns = natural if natural == sk else f"{natural}, {sk}"
    frame = ctx.wh.fetch_polars(f"SELECT {columns} FROM {dim.target_table}")
    pending = ctx.pending.get(dim.target_table)
    if pending is not None:
        frame = pl.concat([frame, pending.select(frame.columns)], how="vertical_relaxed")
    if natural == sk:
        frame = frame.select(pl.col(natural), pl.col(natural).alias(f"{sk}__sk"))
    return frame


def _references(ctx: RunContext, cs: ConstraintSet) -> dict[str, pl.DataFrame]:
    """Parent keys of every foreign key of `cs`, read from the warehouse."""
    refs: dict[str, pl.DataFrame] = {}
    for fk in cs.foreign_keys:
        cols = ", ".join(fk.ref_columns)
        frame = ctx.wh.fetch_polars(f"SELECT DISTINCT {cols} FROM {fk.ref_table}")
        pending = ctx.pending.get(fk.ref_table)
        if pending is not None:
            frame = pl.concat(
                [frame, pending.select(frame.columns)], how="vertical_relaxed"
            ).unique()
        refs[fk.name] = frame
    return refs


def _held_tuples(ctx: RunContext, spec: EntitySpec, cs: ConstraintSet) -> pl.DataFrame | None:
    """The target's merge key and the columns of its other UNIQUE keys, so that `split` rejects
    a row taking a tuple another row holds (the MERGE would fail the whole entity); None when
    the target has no such key. The surrogate key is left out: dwetl numbers it past max(sk)."""
    natural = set(spec.natural_key)
    keys = [
        k
        for k in (cs.primary_key, *cs.uniques)
        if k is not None and set(k.columns) != natural and k.columns != (spec.surrogate_key,)
    ]
    if not keys:
        return None
    columns = list(dict.fromkeys([*spec.natural_key, *(c for k in keys for c in k.columns)]))
    frame = ctx.wh.fetch_polars(f"SELECT {', '.join(columns)} FROM {spec.target_table}")
    pending = ctx.pending.get(spec.target_table)
    if pending is not None and set(columns) <= set(pending.columns):
        frame = pl.concat([frame, pending.select(columns)], how="vertical_relaxed")
    return frame


def _remember(ctx: RunContext, table: str, rows: pl.DataFrame) -> None:
    previous = ctx.pending.get(table)
    ctx.pending[table] = (
        rows if previous is None else pl.concat([previous, rows], how="diagonal_relaxed")
    )
