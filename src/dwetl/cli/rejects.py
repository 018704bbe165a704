"""`dwetl rejects`: list quarantined rows with their reasons, and how many per reason."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dwetl.cli.console import Column, Table, fit, width
from dwetl.cli.options import DwOption, JsonOption
from dwetl.core.errors import DwetlError

if TYPE_CHECKING:
    from dwetl.ops.reject_rules import ReasonRule
    from dwetl.ops.rejects import RejectList
    from dwetl.warehouse.base import Warehouse


#: the rejects per reason: how many keys, the reason with an offending value (its rule below)
BY_REASON = (
    Column("keys", 5, right=True),
    Column("reason, an offending value and the rule (fix the source, then run again)"),
)
#: the rejects per key: a line each, not columns (a key's line wraps, its notes follow it)
BY_KEY = "run  entity  source key  reason: offending value"
#: a longer text value shows its start and its length here (the CSV and JSON keep it whole)
SHOWN_CHARACTERS = 60


class Format(StrEnum):
    text = "text"
    csv = "csv"
    json = "json"


def rejects(
    run: Annotated[
        int | None,
        typer.Option("--run", help="Only the rejects this run left (resolved or not)."),
    ] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only this entity.")] = None,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Include rejects a later run resolved.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="Rows listed (50 as text, all as JSON; counts cover all)."),
    ] = None,
    dw: DwOption = None,
    as_json: JsonOption = False,
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            help="text (default); csv: one row per reject, for a spreadsheet; json: as --json.",
        ),
    ] = Format.text,
) -> None:
    """List quarantined rows, one per key (open ones unless --all), with every reason, counts of
    keys per reason, and the rows a failed entity did not apply."""
    from dwetl.core.config import load_settings
    from dwetl.entities.registry import get_entity
    from dwetl.ops.rejects import list_rejects
    from dwetl.warehouse import open_warehouse

    if entity is not None:
        get_entity(entity)  # an unknown name is a usage error listing the known ones
    settings = load_settings(dw=dw)
    with open_warehouse(settings.dw, settings, read_only=True) as wh:
        found = list_rejects(wh, run_id=run, entity=entity, include_resolved=include_resolved)
        explained = {} if as_json or fmt is Format.json else _explained(wh)
    if as_json or fmt is Format.json:
        typer.echo(json.dumps(found.as_dict(limit), default=str, ensure_ascii=False))
        return
    if fmt is Format.csv:
        typer.echo(as_csv(found, explained, limit), nl=False)
        return
    for line in describe(found, 50 if limit is None else limit, explained, width()):
        typer.echo(line)


def _explained(wh: Warehouse) -> dict[str, ReasonRule]:
    """The reasons' rules from the DDL applied to `wh`, and the types the extracts read; only
    those when that DDL cannot be read (the list still shows reasons and values)."""
    from dwetl.ops.reject_rules import reason_rules, source_type_rules
    from dwetl.warehouse.ddl import applied_constraint_sets

    try:
        return source_type_rules() | reason_rules(applied_constraint_sets(wh))
    except DwetlError:
        return source_type_rules()


def describe(
    found: RejectList, limit: int, explained: dict[str, ReasonRule], columns: int = 100
) -> list[str]:
    """The rejects as lines for a person: per reason its keys, rule and an offending value;
    then per key its reasons with the offending values. Lines fit `columns` (a reason's line is
    cut, its rule and a key's line wrap)."""
    from dwetl.ops.reject_rules import culprits, offending

    if not found.rows.height:
        return ["no rejects"]
    lines = [f"{found.keys} key(s) quarantined, read {found.reads} time(s)"]
    if found.blocked:
        lines.append(
            f"{found.blocked} row(s) not applied: rejected in a run where their entity failed "
            "and loaded nothing (fix them at the source and run again)"
        )
    rows = [(r, json.loads(r["row_json"] or "{}")) for r in found.rows.iter_rows(named=True)]
    reasons = Table(*BY_REASON, cut_at=columns)
    lines.append(reasons.header())
    for reason, n in found.by_reason.items():
        rule = explained.get(reason)
        text = reason
        if rule is None:
            lines.append(reasons.row(n, text))
            continue
        example = next((row for r, row in rows if reason in (r["reasons"] or [])), None)
        if example is not None and rule.columns:
            text += (
                f"  e.g. {offending(example, culprits(example, rule), longest=SHOWN_CHARACTERS)}"
            )
        lines.append(reasons.row(n, text))
        lines += textwrap.wrap(
            f"rule: {rule.rule}", columns, initial_indent=" " * 7, subsequent_indent=" " * 13
        )
    lines.append(BY_KEY)
    for r, row in rows[:limit]:
        key = f"{r['run_id']}  {r['entity']}  {r['source_key']}  {_reasons(r, row, explained)}"
        wrapped = textwrap.wrap(key, columns, subsequent_indent="    ")
        for note in _state(r):  # each note whole: on the line, or on one of its own
            if len(wrapped[-1]) + 2 + len(note) <= columns:
                wrapped[-1] += f"  {note}"
            else:
                wrapped.append(fit(f"    {note}", columns))
        lines += wrapped
    if found.rows.height > limit:
        lines.append(f"... {found.rows.height - limit} more (--limit)")
    return lines


def _reasons(r: dict[str, Any], row: dict[str, Any], explained: dict[str, ReasonRule]) -> str:
    """A reject's reasons, each with its offending value when its rule names columns."""
    return "; ".join(_with_value(reason, row, explained) for reason in r["reasons"] or [])


def _with_value(reason: str, row: dict[str, Any], explained: dict[str, ReasonRule]) -> str:
    from dwetl.ops.reject_rules import culprits, offending

    rule = explained.get(reason)
    if rule is None or not rule.columns:
        return reason
    return f"{reason}: {offending(row, culprits(row, rule), longest=SHOWN_CHARACTERS)}"


#: the columns of `--format csv`, before the row's own (as JSON text)
CSV_COLUMNS = (
    "run_id", "entity", "source_key", "reasons", "values", "rules", "times_seen", "first_run_id",
    "resolved_run_id", "applied", "row_json",
)  # fmt: skip


def as_csv(found: RejectList, explained: dict[str, ReasonRule], limit: int | None) -> str:
    """One CSV row per listed reject (per key): its reasons, their offending values and rules
    (`; `-separated), and the source row as JSON text."""
    from dwetl.ops.reject_rules import culprits, offending

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    shown = found.rows if limit is None else found.rows.head(limit)
    for r in shown.iter_rows(named=True):
        row = json.loads(r["row_json"] or "{}")
        reasons = r["reasons"] or []
        rules = [explained[x] for x in reasons if x in explained]
        writer.writerow(
            [
                r["run_id"],
                r["entity"],
                r["source_key"],
                "; ".join(reasons),
                "; ".join(offending(row, culprits(row, x)) for x in rules if x.columns),
                "; ".join(x.rule for x in rules),
                r["times_seen"],
                r["first_run_id"],
                r["resolved_run_id"],
                r["applied"],
                r["row_json"],
            ]
        )
    return out.getvalue()


def _state(r: dict[str, Any]) -> list[str]:
    """How often the key was read, and whether it is open, resolved or was never applied."""
    notes = []
    if (r["times_seen"] or 1) > 1:
        notes.append(f"(read {r['times_seen']} times since run {r['first_run_id']})")
    if not r["applied"]:
        notes.append(f"(not applied: {r['entity']} failed in run {r['run_id']})")
        if r["resolved_run_id"]:
            notes.append(f"(superseded by run {r['resolved_run_id']})")
    elif r["resolved_run_id"]:
        notes.append(f"(resolved by run {r['resolved_run_id']})")
    return notes
