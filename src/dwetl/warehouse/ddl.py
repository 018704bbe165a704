"""The warehouse DDL `sql/ddl/NNN_*.sql`: listed in order, checksummed, each applied once."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Literal

import sqlglot
from sqlglot import exp

from dwetl.core.connect import describe
from dwetl.core.errors import DwetlError, UsageError
from dwetl.core.paths import folder_problem
from dwetl.core.queries import named_queries
from dwetl.core.sqltext import first_line, split_statements
from dwetl.warehouse.base import Warehouse
from transforms.constraints import ConstraintSet, constraint_sets_from_ddl

_SCRIPT_NAME = re.compile(r"^(\d{3})_\w+\.sql$")


@dataclass(frozen=True)
class Script:
    """One DDL script: its file name (the key in ctl.schema_version), text and sha256."""

    name: str
    path: Path
    text: str
    checksum: str


@dataclass(frozen=True)
class ScriptResult:
    """What `apply_pending` did with one script."""

    name: str
    status: Literal["applied", "already applied"]
    seconds: float


#: the table holding the applied scripts' text (sql/ddl/006_schema_text.sql)
SCRIPT_TEXTS = "ctl.schema_script"

#: parsed constraint sets by the (script, checksum) pairs they were parsed from: every entity of
#: a run (and every run of a process) needs them (docs/decisions/0012-parse-once.md)
_PARSED: dict[tuple[tuple[str, str], ...], dict[str, ConstraintSet]] = {}


def constraint_sets_of(scripts: Sequence[tuple[str, str, str]]) -> dict[str, ConstraintSet]:
    """The constraint sets of `scripts` ((name, checksum, text), in order), parsed once per
    process for the same names and checksums."""
    key = tuple((name, checksum) for name, checksum, _ in scripts)
    if key not in _PARSED:
        _PARSED[key] = constraint_sets_from_ddl([text for _, _, text in scripts])
    return _PARSED[key]


@cache
def shipped_constraint_sets() -> dict[str, ConstraintSet]:
    """The shipped DDL's constraint sets by "schema.table", parsed once per process (sqlglot
    parsing of the whole DDL costs tenths of a second; every entity of a run needs it)."""
    from dwetl.core.paths import ddl_root

    return constraint_sets_of([(s.name, s.checksum, s.text) for s in list_scripts(ddl_root())])


def applied_constraint_sets(wh: Warehouse, ddl_dir: Path | None = None) -> dict[str, ConstraintSet]:
    """The constraint sets of the DDL `init` applied to this warehouse: the scripts that
    `ctl.schema_version` records, each read from `ctl.schema_script`, else from the file of the
    same name and checksum in `ddl_dir` or the shipped folder (a warehouse initialised before
    the texts were kept). A recorded script found nowhere is an error naming it; a warehouse
    that records no script at all is validated against the shipped DDL."""
    from dwetl.core.paths import ddl_root

    applied = applied_checksums(wh)
    if not applied:
        return shipped_constraint_sets()
    parsed = _PARSED.get(tuple(applied.items()))
    if parsed is not None:  # the same scripts as an earlier run of this process: no text read
        return parsed
    texts: dict[str, str] = {}
    if wh.table_exists(SCRIPT_TEXTS):
        for name, checksum, text in wh.fetchall(_q("script_texts")):
            if applied.get(name) == checksum:
                texts[name] = text
    for folder in dict.fromkeys(f for f in (ddl_dir, ddl_root()) if f is not None):
        if len(texts) == len(applied) or not folder.is_dir():
            break
        with suppress(UsageError):
            for script in list_scripts(folder):
                if script.name not in texts and applied.get(script.name) == script.checksum:
                    texts[script.name] = script.text
    missing = [name for name in applied if name not in texts]
    if missing:
        raise DwetlError(
            f"cannot read the DDL this warehouse was initialised with: ctl.schema_version "
            f"records {', '.join(missing)}, whose text is neither in {SCRIPT_TEXTS} nor, with the "
            f"same checksum, in the DDL folder ({ddl_dir or ddl_root()}); run `dwetl init "
            f"--ddl-dir <the folder it was applied from>` once to record it"
        )
    return constraint_sets_of([(name, applied[name], texts[name]) for name in applied])


def record_texts(wh: Warehouse, scripts: Sequence[Script]) -> None:
    """Keep in `ctl.schema_script` the text of each of `scripts` that `ctl.schema_version`
    records as applied with the same checksum (where the table exists: a DDL folder without
    sql/ddl/006_schema_text.sql has none)."""
    if not wh.table_exists(SCRIPT_TEXTS):
        return
    with wh.transaction():
        applied = applied_checksums(wh)
        kept = {name: checksum for name, checksum, _ in wh.fetchall(_q("script_texts"))}
        for script in scripts:
            if applied.get(script.name) == script.checksum != kept.get(script.name):
                wh.execute(_q("forget_script_text"), [script.name])
                wh.execute(_q("record_script_text"), [script.name, script.checksum, script.text])


def list_scripts(ddl_dir: Path) -> list[Script]:
    """The `NNN_name.sql` scripts of `ddl_dir` in number order (other files are ignored)."""
    problem = folder_problem(ddl_dir)
    if problem is not None:
        raise UsageError(f"DDL folder {ddl_dir} {problem}")
    scripts: dict[str, Script] = {}
    for path in sorted(ddl_dir.iterdir()):
        match = _SCRIPT_NAME.match(path.name)
        if not match or not path.is_file():
            continue
        number = match.group(1)
        if number in scripts:
            raise UsageError(
                f"DDL folder {ddl_dir}: {scripts[number].name} and {path.name} "
                f"share number {number}"
            )
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}: not UTF-8 ({exc})") from None
        scripts[number] = Script(path.name, path, text, hashlib.sha256(data).hexdigest())
    if not scripts:
        raise UsageError(f"DDL folder {ddl_dir} has no NNN_name.sql scripts")
    return [scripts[number] for number in sorted(scripts)]


def applied_checksums(wh: Warehouse) -> dict[str, str]:
    """script -> checksum of what ctl.schema_version says is applied ({} on a new warehouse)."""
    if not wh.table_exists("ctl.schema_version"):
        return {}
    return {name: checksum for name, checksum in wh.fetchall(_q("applied_scripts"))}


def pending_scripts(wh: Warehouse, ddl_dir: Path) -> list[str]:
    """The scripts of `ddl_dir` that `ctl.schema_version` does not record as applied ([] for a
    warehouse that records none: one initialised before scripts were recorded)."""
    applied = applied_checksums(wh)
    if not applied:
        return []
    return [s.name for s in list_scripts(ddl_dir) if s.name not in applied]


def verify_checksums(scripts: list[Script], applied: dict[str, str]) -> None:
    """An applied script whose file changed since is an error naming it."""
    for script in scripts:
        recorded = applied.get(script.name)
        if recorded is not None and recorded != script.checksum:
            raise DwetlError(
                f"DDL script {script.name} changed after it was applied (checksum in "
                f"ctl.schema_version {recorded[:12]}…, file {script.checksum[:12]}…): "
                f"restore it and put the change in a new script"
            )


def apply_pending(wh: Warehouse, scripts: list[Script]) -> list[ScriptResult]:
    """Apply, in order, each script not applied yet: one transaction per script, recorded
    in ctl.schema_version together with its checksum; an applied script changed since is an error.
    """
    applied = applied_checksums(wh)
    verify_checksums(scripts, applied)
    results = []
    for script in scripts:
        if script.name in applied:
            results.append(ScriptResult(script.name, "already applied", 0.0))
            continue
        results.append(apply_script(wh, script))
    record_texts(wh, scripts)
    return results


def apply_script(wh: Warehouse, script: Script) -> ScriptResult:
    """Run every statement of `script` and record it, all in one transaction. Where the database
    does not enforce foreign keys (its tables are created without them), a REFERENCES naming a
    table or column that does not exist fails the statement all the same, as it would where
    the database enforces them."""
    started = time.perf_counter()
    with wh.transaction():
        for number, statement in enumerate(split_statements(script.text), start=1):
            try:
                for translated in wh.transpile(statement):
                    wh.execute(translated)
                if not wh.enforces_foreign_keys:
                    for probe in reference_probes(statement):
                        wh.fetchall(wh.transpile(probe)[0])
            except Exception as exc:
                raise DwetlError(
                    f"DDL script {script.name} failed at statement {number} "
                    f"({first_line(statement)}): {describe(exc)}; nothing of it was applied"
                ) from exc
        seconds = time.perf_counter() - started
        applied_at = datetime.now(UTC).replace(tzinfo=None)
        wh.execute(_q("record_script"), [script.name, script.checksum, applied_at, seconds])
    return ScriptResult(script.name, "applied", time.perf_counter() - started)


def reference_probes(statement: str) -> list[str]:
    """A query per REFERENCES of a CREATE TABLE, which fails unless the referenced table and
    columns exist (PostgreSQL dialect).

    >>> reference_probes("CREATE TABLE f (a INT REFERENCES dw.d (a), b INT, "
    ...                  "CONSTRAINT FK_b FOREIGN KEY (b) REFERENCES dw.e (b))")
    ['SELECT a FROM dw.d WHERE FALSE', 'SELECT b FROM dw.e WHERE FALSE']
    """
    if "references" not in statement.lower():
        return []
    tree = sqlglot.parse_one(statement, read="postgres")
    if not (isinstance(tree, exp.Create) and tree.kind == "TABLE"):
        return []
    probes = []
    for reference in tree.find_all(exp.Reference):
        target = reference.this
        table = target.this if isinstance(target, exp.Schema) else target
        columns = target.expressions if isinstance(target, exp.Schema) else []
        query = exp.select(*(columns or ["*"])).from_(table.copy()).where(exp.false())
        probes.append(query.sql(dialect="postgres"))
    return probes


def _q(name: str) -> str:
    return named_queries("ops/init.sql")[name]
