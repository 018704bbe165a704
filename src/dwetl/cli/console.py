"""Console text: the one line per entity of `run`, `demo` and `status`, sized to the terminal,
and the text tables (`Table`) of `history`, `rollout status` and `rejects`.

Designed for 100 columns (dbt's one line per model): the status word, the entity's name whole
(never split nor cut), then what it did; what does not fit is cut at the end with `…`. Wider
terminals get more of the detail; the full detail is in `--json`.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dwetl.run.summary import NOT_LOADED, RunSummary

#: the terminal's width when stdout is no terminal and COLUMNS is unset (a pipe, a log file)
DEFAULT_WIDTH = 100
#: from this width on, a line also shows the reject reasons / the watermark and the error
WIDE = 140
LABELS = {"success": "OK", "partial": "OK", "failed": "FAIL", "skipped": "SKIP", "running": "RUN"}


def width() -> int:
    """The terminal's columns: COLUMNS, else stdout's terminal, else `DEFAULT_WIDTH`."""
    return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def fit(text: str, columns: int) -> str:
    """`text` cut to `columns` characters, ending in `…` when cut.

    >>> fit("abcdef", 4), fit("abc", 4)
    ('abc…', 'abc')
    """
    return text if len(text) <= columns else text[: max(0, columns - 1)] + "…"


def one_line(text: str) -> str:
    """The first line of `text`, whitespace runs as one space."""
    return " ".join((text.strip().splitlines() or [""])[0].split())


@dataclass(frozen=True)
class Column:
    """A column of a `Table`: its header, its width (at least the header's; a longer cell
    pushes the rest of its line right) and its alignment (`right` for numbers)."""

    header: str
    width: int = 0
    right: bool = False

    def cell(self, value: object) -> str:
        width = max(self.width, len(self.header))
        return f"{value!s:>{width}}" if self.right else f"{value!s:<{width}}"


class Table:
    """Text columns two spaces apart, one line per row: a header, then rows, each cut to
    `cut_at` characters when given (else whole). The last column is free text, not padded.

    >>> t = Table(Column("RUN", 4, right=True), Column("STATUS", 9), Column("USER"))
    >>> t.header(), t.row(7, "success", "ana")
    (' RUN  STATUS     USER', '   7  success    ana')
    """

    def __init__(self, *columns: Column, indent: int = 0, cut_at: int | None = None) -> None:
        self.columns = columns
        self.indent = indent
        self.cut_at = cut_at

    def header(self) -> str:
        return self.row(*(c.header for c in self.columns))

    def row(self, *cells: object) -> str:
        """One line: each cell in its column, the last as it is."""
        *head, last = cells
        padded = [c.cell(v) for c, v in zip(self.columns[:-1], head, strict=True)]
        line = (" " * self.indent + "  ".join([*padded, str(last)])).rstrip()
        return line if self.cut_at is None else fit(line, self.cut_at)


def counts_text(counts: Mapping[str, Any], *, wide: bool = False) -> str:
    """`2,475 inserted · 25 quarantined`: the non-zero counts a person acts on.

    >>> counts_text({"inserted": 2475, "updated": 0, "rejected": 25})
    '2,475 inserted · 25 quarantined'
    """
    names = ["inserted", "updated", "unchanged", "inferred"]
    if wide:
        names = ["extracted", *names, "folded"]
    parts = [f"{int(counts[n]):,} {n}" for n in names if counts.get(n)]
    if counts.get("rejected"):
        parts.append(f"{int(counts['rejected']):,} quarantined")
    return " · ".join(parts) or "no rows"


def entity_line(
    label: str, name: str, detail: str, right: str, *, name_width: int, columns: int
) -> str:
    """`LABEL  name  detail  right` in `columns`: the name whole, `detail` cut to fit."""
    head = f"{label:<5} {name:<{name_width}}  "
    tail = f"  {right}" if right else ""
    room = columns - len(head) - len(tail)
    if room < 8:  # a very long name: the detail goes, the name stays whole
        return (head + right).rstrip()
    return f"{head}{fit(detail, room):<{room}}{tail}".rstrip()


def summary_lines(summary: RunSummary, columns: int | None = None) -> list[str]:
    """The run: one line per entity, then its status and totals, and where its rejects are."""
    columns = columns or width()
    wide = columns >= WIDE
    name_width = max((len(e.entity) for e in summary.entities), default=0)
    lines = []
    for e in summary.entities:
        more: list[str] = []
        if e.status in ("failed", "skipped"):
            detail, more = _error_lines(e.error or e.status, columns - name_width - 8)
        else:
            detail = counts_text(e.to_dict(), wide=wide)
            if wide and e.reject_reasons:
                reasons = ", ".join(f"{k} ×{v}" for k, v in sorted(e.reject_reasons.items()))
                detail += f" ({reasons})"
        seconds = f"{sum(e.seconds.values()):.2f}s"
        label = LABELS.get(e.status, e.status.upper()[:5])
        lines.append(
            entity_line(label, e.entity, detail, seconds, name_width=name_width, columns=columns)
        )
        lines += [" " * (name_width + 8) + line for line in more]
    lines += [fit(line, columns) for line in run_footer(summary)]
    return lines


def _error_lines(error: str, room: int, most: int = 4) -> tuple[str, list[str]]:
    """A failed entity's error in lines of `room` characters (what to fix must be read whole):
    the first for the entity's line (its seconds after it), up to `most` in all.

    >>> _error_lines("extract file missing: x.sql", 16)
    ('extract file', ['missing: x.sql'])
    """
    room = max(room - 8, 20)  # the first line shares its row with the seconds
    wrapped = textwrap.wrap(one_line(error), room) or [""]
    if len(wrapped) > most:
        wrapped = [*wrapped[: most - 1], fit(" ".join(wrapped[most - 1 :]), room)]
    return wrapped[0], wrapped[1:]


def run_footer(summary: RunSummary) -> list[str]:
    """The run's status and totals (`dwetl run` then adds the line that names the command
    listing its quarantined rows)."""
    loaded = [e for e in summary.entities if e.status not in NOT_LOADED]
    totals = {n: sum(getattr(e, n) for e in loaded) for n in ("inserted", "updated")}
    totals["rejected"] = summary.quarantined
    done = f"{len(loaded)} of {len(summary.entities)} entities loaded"
    dry = " (dry run: nothing written)" if summary.dry_run else ""
    head = f"run {summary.run_id} {summary.status}{dry} in {summary.seconds:.1f}s: {done}"
    return [f"{head}, {counts_text(totals)}"]


def status_lines(items: Iterable[Mapping[str, Any]], columns: int | None = None) -> list[str]:
    """`dwetl status`: one line per entity: its last status, name, what the last run did and
    its open rejects (and, wide, its error), the last run and the watermark."""
    items = list(items)
    columns = columns or width()
    wide = columns >= WIDE
    name_width = max((len(i["entity"]) for i in items), default=0)
    lines = []
    for i in items:
        last = i.get("last_status")
        label = "-" if last is None else LABELS.get(last, str(last).upper()[:5])
        run = "never run" if i.get("last_run_id") is None else f"run {i['last_run_id']}"
        if not i.get("active"):
            run += " (inactive)"
        watermark = (i.get("watermark") or "-")[: 19 if wide else 16]
        if last in ("failed", "skipped"):
            did = one_line(i.get("error") or last)
        elif i.get("last_run_id") is None:
            did = ""
        else:
            did = counts_text(i, wide=wide)
            if i.get("open_rejects"):
                did += f" · {int(i['open_rejects']):,} open rejects"
            if wide and i.get("error"):
                did += f" ({one_line(i['error'])})"
        where = f"{run} · {'watermark' if wide else 'wm'} {watermark}"
        detail = f"{did} · {where}" if did else where
        lines.append(
            entity_line(label, i["entity"], detail, "", name_width=name_width, columns=columns)
        )
    return lines
