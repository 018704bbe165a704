"""`dwetl rollout status | enable NAME | disable NAME`: change the active scope, on the record."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from dwetl.cli.console import Column, Table
from dwetl.cli.options import DwOption, JsonOption, MaxRejectRatioOption, SourceOption
from dwetl.core import logs
from dwetl.core.config import Settings, load_settings
from dwetl.core.errors import DwetlError

if TYPE_CHECKING:
    from dwetl.ops import rollout

rollout_app = typer.Typer(
    help="Show or change which entities the nightly run loads (every change is recorded).",
    no_args_is_help=True,
)

#: `rollout status`: one line per entity (whole: its drift note must show)
SCOPE = (
    Column("ENTITY", 16),
    Column("KIND", 10),
    Column("ORDER", right=True),
    Column("ACTIVE"),
    Column("EXPECTED"),
    Column("LAST RUN"),
)

ForceOption = Annotated[
    bool, typer.Option("--force", help="Make the change even though dwetl advises against it.")
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why: kept with the change in the record.")
]


def _depends_on() -> dict[str, tuple[str, ...]]:
    from dwetl.entities.registry import all_entities

    return {spec.name: tuple(spec.depends_on) for spec in all_entities()}


def _dry_run_gate(settings: Settings, limit: float | None) -> rollout.Gate:
    from dwetl.ops import rollout

    ratio = settings.max_reject_ratio if limit is None else limit

    def gate(name: str) -> rollout.GateResult:
        from dwetl.run.runner import run

        try:
            # full: the gate judges every row of the entity the source has now
            summary = run(
                settings, [name], full=True, dry_run=True, max_reject_ratio=ratio, ignore_scope=True
            )
        except DwetlError as exc:
            return rollout.GateResult(name, "failed", 0, 0, ratio, error=str(exc))
        result = rollout.gate_from_summary(name, summary, ratio)
        logs.event(
            f"rollout gate for {name}: {'passes' if result.passes else 'refuses'}",
            run_id=getattr(summary, "run_id", None),
            entity=name,
            phase="dry-run",
            status=result.status,
            counts={
                "extracted": result.extracted,
                "folded": result.folded,
                "rejected": result.rejected,
                "reasons": result.reasons,
            },
        )
        return result

    return gate


def _yes(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "no")


def _when(value: object) -> str:
    return "-" if value is None else str(value)[:19]


def _print_gate(result: rollout.GateResult | None) -> None:
    if result is None:
        return
    typer.echo(
        f"dry run of {result.entity}: {result.status}, {result.extracted} extracted, "
        f"{result.rejected} rejected ({result.reject_ratio:.1%}, limit {result.limit:.1%})",
        err=True,
    )
    for reason, count in sorted(result.reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        typer.echo(f"  {reason}: {count}", err=True)
    if result.error:
        typer.echo(f"  error: {result.error}", err=True)


def _print_change(change: rollout.ScopeChange | None, note: str) -> None:
    if change is None:
        typer.echo(note)
        return
    logs.event(
        f"scope change {change.change_id}: {change.entity} "
        f"{'enabled' if change.active_to else 'disabled'} by {change.changed_by}",
        entity=change.entity,
        phase="rollout",
        status="active" if change.active_to else "inactive",
    )
    forced = " (forced)" if change.forced else ""
    typer.echo(
        f"{change.entity}: {'active' if change.active_to else 'inactive'}{forced}, "
        f"recorded as change {change.change_id} by {change.changed_by}"
    )


@rollout_app.command("status")
def status(
    dw: DwOption = None,
    last: Annotated[int, typer.Option("--last", help="How many recent changes to show.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Show the active scope, the expected scope and the recent changes."""
    from dwetl.ops import rollout
    from dwetl.warehouse import open_warehouse

    settings = load_settings(dw=dw)
    with open_warehouse(settings.dw, settings, read_only=True) as wh:
        rows = rollout.scope(wh)
        changes = rollout.recent_changes(wh, last)
    if as_json:
        data = {
            "dw": settings.dw.masked,
            "scope": [{**asdict(r), "drift": r.drift} for r in rows],
            "changes": [asdict(c) for c in changes],
        }
        typer.echo(json.dumps(data, default=str, ensure_ascii=False))
        return
    typer.echo(f"scope of {settings.dw}")
    table = Table(*SCOPE)
    typer.echo(table.header())
    for r in rows:
        last_run = "-" if r.last_run_id is None else f"{r.last_status} (run {r.last_run_id})"
        drift = "  DRIFT: changed outside dwetl" if r.drift else ""
        cells = (r.entity, r.kind, r.load_order, _yes(r.active), _yes(r.expected))
        typer.echo(table.row(*cells, last_run + drift))
    typer.echo("")
    typer.echo("recent changes:" if changes else "recent changes: none")
    for c in changes:
        forced = " forced" if c.forced else ""
        why = f"  ({c.reason})" if c.reason else ""
        typer.echo(
            f"  #{c.change_id} {_when(c.changed_at)} {c.entity}: "
            f"{_yes(c.active_from)} -> {_yes(c.active_to)} by {c.changed_by}{forced}{why}"
        )


@rollout_app.command("enable")
def enable(
    name: str,
    force: ForceOption = False,
    reason: ReasonOption = None,
    max_reject_ratio: MaxRejectRatioOption = None,
    dw: DwOption = None,
    source: SourceOption = None,
) -> None:
    """Switch an entity on, after a dry run shows it would load within the reject limit."""
    from dwetl.ops import rollout
    from dwetl.warehouse import open_warehouse, require_existing, write_lock

    settings = load_settings(source=source, dw=dw, max_reject_ratio=max_reject_ratio)
    require_existing(settings.dw)
    with write_lock(settings), open_warehouse(settings.dw, settings) as wh:
        try:
            outcome = rollout.enable(
                wh,
                name,
                depends_on=_depends_on(),
                gate=_dry_run_gate(settings, max_reject_ratio),
                force=force,
                reason=reason,
            )
        except rollout.RolloutRefused as exc:
            _print_gate(exc.gate)
            raise
    _print_gate(outcome.gate)
    _print_change(outcome.change, outcome.note)


@rollout_app.command("disable")
def disable(
    name: str,
    force: ForceOption = False,
    reason: ReasonOption = None,
    dw: DwOption = None,
    source: SourceOption = None,
) -> None:
    """Switch an entity off; its rows and watermark stay, so enabling it again resumes."""
    from dwetl.ops import rollout
    from dwetl.warehouse import open_warehouse, require_existing, write_lock

    settings = load_settings(source=source, dw=dw)
    require_existing(settings.dw)
    with write_lock(settings), open_warehouse(settings.dw, settings) as wh:
        outcome = rollout.disable(wh, name, depends_on=_depends_on(), force=force, reason=reason)
    _print_change(outcome.change, outcome.note)
