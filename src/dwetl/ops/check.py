"""`dwetl check`: the live warehouse against the shipped DDL, and the active scope against the
expected one (what `init` and `dwetl rollout` recorded in ctl.etl_scope), every entity dwetl
declares being recorded (an `init` that stopped half-way did not record them).

Compared per table of the DDL: columns (type as the dialect shows it, nullability), primary
key, UNIQUE keys, foreign keys, and CHECKs *by meaning* (normalised sqlglot trees: DuckDB drops
CHECK names, PostgreSQL rewrites their text). Tables in the DDL's schemas that the DDL does not
declare are reported too. Staging (`stg`) is dwetl's scratch space and is not compared.

On a warehouse whose database does not enforce foreign keys (`Warehouse.enforces_foreign_keys`
False: DuckDB) dwetl's validation enforces them: the DDL's foreign keys are not asked for there,
one found that matches the DDL is fine (a warehouse created before they were left out has them),
and the report says so once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dwetl.core.queries import named_queries
from dwetl.warehouse.base import Warehouse
from dwetl.warehouse.catalog import read_catalog, shown
from transforms.check_sql import canonical_check
from transforms.constraints import Column, ConstraintSet, constraint_sets_from_ddl

#: the report's note on a warehouse whose database does not enforce foreign keys
FOREIGN_KEYS_BY_DWETL = (
    "foreign keys are enforced by dwetl's validation on {dialect}, not by the database"
)


@dataclass
class CheckReport:
    """The differences found (`problems`, one readable line each) and what was compared."""

    dialect: str
    tables_checked: int = 0
    constraints_checked: int = 0
    entities_checked: int = 0
    problems: list[str] = field(default_factory=list)
    #: facts about the comparison a reader needs (one line each), whatever the result
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the warehouse matches the DDL and the expected scope."""
        return not self.problems

    def lines(self) -> list[str]:
        """The report for a person: a summary line, then one line per difference."""
        what = "; ".join(
            [
                f"{self.tables_checked} tables, {self.constraints_checked} constraints, "
                f"{self.entities_checked} entities",
                *self.notes,
            ]
        )
        if self.ok:
            return [f"warehouse matches the DDL and the expected scope ({what})"]
        return [
            f"{len(self.problems)} difference(s) from the DDL or the expected scope ({what}):"
        ] + [f"  {p}" for p in self.problems]

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able data."""
        return {
            "ok": self.ok,
            "dialect": self.dialect,
            "tables_checked": self.tables_checked,
            "constraints_checked": self.constraints_checked,
            "entities_checked": self.entities_checked,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        return self.lines()[0] if self.ok else f"{len(self.problems)} difference(s)"


def shipped_sets(ddl_dir: Path) -> dict[str, ConstraintSet]:
    """The constraint sets of the DDL scripts in `ddl_dir` (`NNN_*.sql`, in order)."""
    from dwetl.warehouse.ddl import list_scripts

    return constraint_sets_from_ddl([s.text for s in list_scripts(ddl_dir)])


def check_warehouse(wh: Warehouse, ddl: Any) -> CheckReport:
    """Compare the live warehouse with `ddl`: a Settings (its `ddl_dir`), a folder, or sets."""
    if isinstance(ddl, Mapping):
        expected: Mapping[str, ConstraintSet] = ddl
    else:
        expected = shipped_sets(Path(getattr(ddl, "ddl_dir", ddl)))
    report = CheckReport(wh.dialect)
    if not wh.enforces_foreign_keys:
        report.notes.append(FOREIGN_KEYS_BY_DWETL.format(dialect=wh.dialect))
    schemas = {name.split(".", 1)[0] for name in expected}
    live = read_catalog(wh, schemas)
    for name, cs in expected.items():
        report.tables_checked += 1
        if name not in live:
            report.problems.append(f"{name}: table missing")
            continue
        report.constraints_checked += _compare_table(
            wh.dialect, cs, live[name], report.problems, foreign_keys=wh.enforces_foreign_keys
        )
    for name in sorted(set(live) - set(expected)):
        report.problems.append(f"{name}: table not in the DDL")
    if {"ctl.etl_control", "ctl.etl_scope"} <= set(live):
        _compare_scope(wh, live, report)
    return report


def _compare_table(
    dialect: str,
    want: ConstraintSet,
    have: ConstraintSet,
    problems: list[str],
    *,
    foreign_keys: bool,
) -> int:
    """Add `want`/`have` differences to `problems`; returns how many constraints were compared.
    `foreign_keys` False: the DDL's foreign keys may be missing (the database does not enforce
    them); one present must still match the DDL."""
    t = want.table
    have_cols = {c.name.lower(): c for c in have.columns}
    for col in want.columns:
        got = have_cols.pop(col.name.lower(), None)
        if got is None:
            problems.append(f"{t}.{col.name}: column missing")
            continue
        expected = shown(dialect, col)
        if _type(expected) != _type(got):
            problems.append(f"{t}.{col.name}: type {_type(got)}, DDL says {_type(expected)}")
        if expected.nullable != got.nullable:
            null = "NULL" if got.nullable else "NOT NULL"
            problems.append(f"{t}.{col.name}: {null}, DDL says the opposite")
    problems.extend(f"{t}.{name}: column not in the DDL" for name in have_cols)

    want_keys = _keyed([want.primary_key] if want.primary_key else [], "PRIMARY KEY")
    want_keys |= _keyed(want.uniques, "UNIQUE")
    have_keys = _keyed([have.primary_key] if have.primary_key else [], "PRIMARY KEY")
    have_keys |= _keyed(have.uniques, "UNIQUE")
    want_fks = _foreign(want.foreign_keys)
    have_keys |= _foreign(have.foreign_keys)
    if foreign_keys:
        want_keys |= want_fks
    for sig, name in want_keys.items():
        if sig not in have_keys:
            problems.append(f"{t}: {name} ({_describe(sig)}) missing")
    for sig, name in have_keys.items():
        if sig not in want_keys and sig not in want_fks:
            problems.append(f"{t}: {sig[0]} {name} ({_describe(sig)}) not in the DDL")

    # CHECKs by meaning; a Counter, since two CHECKs may mean the same.
    want_checks = Counter(canonical_check(c.expression_sql, c.dialect) for c in want.checks)
    have_checks = Counter(canonical_check(c.expression_sql, c.dialect) for c in have.checks)
    for c in want.checks:
        key = canonical_check(c.expression_sql, c.dialect)
        if have_checks[key] > 0:
            have_checks[key] -= 1
        else:
            problems.append(f"{t}: CHECK {c.name} ({c.expression_sql}) missing or changed")
    for c in have.checks:
        key = canonical_check(c.expression_sql, c.dialect)
        if want_checks[key] > 0:
            want_checks[key] -= 1
        else:
            problems.append(f"{t}: CHECK {c.name} ({c.expression_sql}) not in the DDL")
    return len(want_keys) + len(want.checks) + sum(not c.nullable for c in want.columns)


def _type(col: Column) -> str:
    if col.type == "DECIMAL":
        return f"DECIMAL({col.precision},{col.scale})"
    return f"{col.type}({col.length})" if col.length else col.type


def _cols(columns: tuple[str, ...]) -> str:
    return "(" + ", ".join(c.lower() for c in columns) + ")"


def _keyed(keys: Any, kind: str) -> dict[tuple[str, str, str], str]:
    return {(kind, _cols(k.columns), ""): k.name for k in keys}


def _foreign(fks: Any) -> dict[tuple[str, str, str], str]:
    return {
        ("FOREIGN KEY", _cols(fk.columns), f"{fk.ref_table.lower()}{_cols(fk.ref_columns)}"): (
            fk.name
        )
        for fk in fks
    }


def _describe(sig: tuple[str, str, str]) -> str:
    kind, cols, ref = sig
    return f"{kind} {cols}" + (f" REFERENCES {ref}" if ref else "")


def _compare_scope(wh: Warehouse, live: Mapping[str, ConstraintSet], report: CheckReport) -> None:
    queries = named_queries("ops/check.sql")
    control = {row[0]: row for row in wh.fetchall(queries["control"])}
    scope = {row[0]: row for row in wh.fetchall(queries["scope"])}
    report.entities_checked = len(set(control) | set(scope))
    # a warehouse whose init stopped half-way (a failed DDL script) has the tables but not the
    # entities: every entity dwetl declares must be in ctl.etl_control
    for entity in _declared():
        if entity not in control:
            report.problems.append(
                f"entity {entity}: declared by dwetl, but not in ctl.etl_control: run `dwetl init`"
            )
    for entity, (_, active, target) in control.items():
        expected = scope.get(entity)
        state = "active" if active else "inactive"
        if expected is None:
            report.problems.append(
                f"entity {entity}: {state} in ctl.etl_control, but no expected scope recorded "
                f"in ctl.etl_scope (set it with dwetl rollout)"
            )
        elif bool(expected[1]) != bool(active):
            want = "active" if expected[1] else "inactive"
            report.problems.append(
                f"entity {entity}: {state} in ctl.etl_control, expected {want} "
                f"(recorded by {expected[2]} at {expected[3]}): changed behind dwetl's back"
            )
        if active and str(target).lower() not in live:
            report.problems.append(f"entity {entity}: active, but its table {target} is missing")
    for entity in sorted(set(scope) - set(control)):
        report.problems.append(
            f"entity {entity}: expected in ctl.etl_scope, but missing from ctl.etl_control"
        )


def _declared() -> list[str]:
    from dwetl.entities.registry import all_entities

    return [spec.name for spec in all_entities()]
