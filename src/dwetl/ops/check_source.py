"""`dwetl check --source`: each extract file of the configured folder, run on the source with a
small limit, against the extract contract (`dwetl.source.contract`), loading nothing.

    check_source(settings, contract, limit=...) -> SourceReport (one Problem per thing to fix)

Per file: the columns it returns (missing, not in the contract), the sampled values that do not
fit their type (`source.conform`), a `:since` that breaks the query or a full run, and the
sampled rows the warehouse would reject (`transforms.validate` through `contract.build.stage`: NULL
where a value is required, a value outside a CHECK's domain, text too long), each named by
file and column with what to do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from dwetl.core.config import Settings, require_folder
from dwetl.core.connect import describe
from dwetl.core.errors import DwetlError, UsageError
from dwetl.core.queries import named_queries
from dwetl.core.sqltext import query_text
from dwetl.core.urls import DbUrl
from dwetl.entities.registry import MODULES, get_entity
from dwetl.entities.spec import EntitySpec
from dwetl.source.conform import ORIGINAL, conform, repeated
from dwetl.source.contract.build import ROW, stage
from dwetl.source.contract.model import ColumnContract, Contract, EntityContract, FileContract
from dwetl.source.dialects import SourceDialect, bind_since, source_dialect, uses_since
from dwetl.source.extract import parts_to_read, read_extract_sql
from dwetl.source.reads import read_arrow
from dwetl.source.zones import UTC, is_utc, readable, unusable_zone, zoned_columns
from transforms.constraints import ConstraintSet
from transforms.validate import REASONS

#: a `:since` bound to try a query with (every row of an ERP is after it)
_LONG_AGO = datetime(1900, 1, 1)
#: how the sources word a comparison of a timestamp with a value of another type
_TYPE_ERROR = re.compile(
    r"operator does not exist|invalid input syntax|incorrect (date|time)|conversion failed|"
    r"data ?type|cannot (be )?compare|type mismatch",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Problem:
    """One thing to fix: in `file`, about `column` (None: the file as a whole)."""

    entity: str
    file: str
    column: str | None
    message: str

    def line(self) -> str:
        """`dim_loja.sql: column regiao: ...`."""
        where = f"{self.file}: column {self.column}" if self.column else self.file
        return f"{where}: {self.message}"


@dataclass
class SourceReport:
    """What `check_source` found: problems (exit 1) and notes (for information)."""

    folder: Path
    source: str
    ddl_note: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # the files read

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    def lines(self) -> list[str]:
        """The report for a person: one line per problem, then the notes and a verdict."""
        out = [p.line() for p in self.problems]
        out += [f"note: {n}" for n in self.notes]
        verdict = (
            f"{len(self.checked)} extract file(s) in {self.folder} fit the contract "
            f"(rules from {self.ddl_note})"
            if self.ok
            else f"{len(self.problems)} problem(s) in {self.folder} (rules from {self.ddl_note})"
        )
        return [*out, verdict]

    def as_dict(self) -> dict[str, Any]:
        """A plain dict, JSON-ready."""
        return {
            "ok": self.ok,
            "folder": str(self.folder),
            "source": self.source,
            "ddl": self.ddl_note,
            "checked": self.checked,
            "problems": [
                {"entity": p.entity, "file": p.file, "column": p.column, "message": p.message}
                for p in self.problems
            ],
            "notes": self.notes,
        }


def check_source(
    settings: Settings,
    contract: Contract,
    *,
    limit: int = 1000,
    inactive: Sequence[str] | None = None,
) -> SourceReport:
    """Check every extract file of `settings.sql_dir` that the contract's entities read against
    the contract, on `limit` rows of the source; the `inactive` entities are left out (None:
    those switched off in the warehouse, when it can be read)."""
    require_folder(settings, "sql_dir")
    folder = settings.sql_dir
    report = SourceReport(folder, settings.source.masked, contract.ddl_note)
    url = settings.source
    try:
        dialect = source_dialect(url.scheme)
    except KeyError:
        raise UsageError(f"source {url.masked}: dwetl cannot read a {url.scheme} source") from None
    try:
        _, zone = dialect.clock_and_zone(url)
    except Exception as exc:
        raise DwetlError(f"source {url.masked} cannot be read: {describe(exc)}") from None
    sets = contract.sets
    if inactive is None:
        inactive = inactive_entities(settings, report)
    for entity in contract.entities:
        if entity.name in inactive:
            report.notes.append(f"{entity.name}: inactive (dwetl rollout), its files not checked")
            continue
        spec = get_entity(entity.name)
        cs = sets[spec.target_table]
        _CheckEntity(report, dialect, url, folder, limit, spec, entity, cs, zone)()
    return report


def inactive_entities(settings: Settings, report: SourceReport | None = None) -> list[str]:
    """The entities switched off (`dwetl rollout disable`) in the configured warehouse; none
    when it cannot be read (then every entity is checked, and `report` says so)."""
    from dwetl.warehouse import warehouse_class

    url = settings.dw
    try:
        with warehouse_class(url).connect(url, read_only=True) as wh:
            if not wh.table_exists("ctl.etl_control"):
                raise DwetlError("not initialised")
            rows = wh.fetchall(named_queries("ops/check.sql")["control"])
    except Exception as exc:
        if report is not None:
            report.notes.append(
                f"the warehouse {url.masked} cannot be read ({describe(exc)}): every entity "
                "is checked, switched off or not"
            )
        return []
    return sorted(str(entity) for entity, active, _ in rows if not active)


@dataclass
class _CheckEntity:
    """The checks of one entity's files."""

    report: SourceReport
    dialect: SourceDialect
    url: DbUrl
    folder: Path
    limit: int
    spec: EntitySpec
    entity: EntityContract
    cs: ConstraintSet
    #: the source session's time zone (`SourceDialect.clock_and_zone`)
    zone: str | None = None

    def __call__(self) -> None:
        parts = parts_to_read(self.spec, self.folder)
        if parts:
            files = list(self.entity.files)
        else:
            one = self.entity.single_file or self.entity.files[0]
            files = [one]
        frames: list[pl.DataFrame | None] = []
        for at, file in enumerate(files):
            where = None
            if at and file.joins_on and frames[0] is not None:
                keys = frames[0].get_column(file.joins_on).drop_nulls().unique().sort()
                where = (file.joins_on, keys.to_list())
            frames.append(self._file(file, where, whole=bool(parts)))
        if any(f is None for f in frames):
            return  # a file could not be read, or lacks columns: said already
        read = [f for f in frames if f is not None]
        if parts:
            assert self.spec.combine is not None
            combined = self.spec.combine(*(f.drop(ORIGINAL, strict=False) for f in read))
            frame = conform(combined, MODULES[self.spec.name].SOURCE_SCHEMA)
        else:
            frame = read[0].drop(ORIGINAL, strict=False)
        if frame.height:
            self._values(files, frame)

    def problem(self, file: str, column: str | None, message: str) -> None:
        self.report.problems.append(Problem(self.entity.name, file, column, message))

    def _file(
        self, file: FileContract, where: tuple[str, list[Any]] | None, *, whole: bool
    ) -> pl.DataFrame | None:
        """The file's sampled rows typed as its contract (None: it could not be checked)."""
        path = self.folder / file.file
        try:
            text = read_extract_sql(path)
        except UsageError as exc:
            self.problem(
                file.file,
                None,
                f"{exc}: write it (`dwetl contract --template DIR` starts one), or leave "
                f"{self.entity.name} out: {self.entity.leave_out}",
            )
            return None
        self.report.checked.append(file.file)
        schema = {c.name: _dtype(self.spec, file, c) for c in file.columns}
        dialect_name = self.dialect.sqlglot_dialect
        since = uses_since(text, dialect_name)
        sql = bind_since(text, None, dialect_name) if since else text
        try:
            columns = self._columns(sql)
        except DwetlError as exc:
            self.problem(file.file, None, f"the source rejected the query: {exc}")
            return None
        expected = [c.name for c in file.columns]
        missing = [c for c in expected if c not in columns]
        extra = [c for c in columns if c not in expected]
        for name in missing:
            column = next(c for c in file.columns if c.name == name)
            hint = f"; is {', '.join(extra)} it, misspelt?" if extra else ""
            self.problem(
                file.file,
                name,
                f"missing: return it as `... AS {name}` ({column.note()}){hint}",
            )
        for name in extra:
            self.problem(
                file.file,
                name,
                f"not in the contract: remove it, or rename it to one of the missing columns "
                f"(expected: {', '.join(expected)})",
            )
        if since:
            self._since(file, text, dialect_name)
        elif whole:
            self.report.notes.append(
                f"{file.file}: no :since, so every incremental run reads it whole (right, but "
                "slower; see `dwetl contract` for how a part uses it)"
            )
        twice = repeated(columns)
        for name in twice:
            self.problem(file.file, name, "returned more than once: give each its own alias")
        if missing or twice:
            return None
        frame = self._sample(file, sql, schema, where, path)
        if frame is None:
            return None
        self._types(file, frame)
        if not frame.height and where is None:
            self.report.notes.append(f"{file.file}: returned no rows; no value was checked")
        return frame

    def _columns(self, sql: str) -> list[str]:
        probe = _limited(sql, 0)
        try:
            columns = self.dialect.output_columns(self.url, probe)
            if columns is None:
                table = read_arrow(self.url, probe)
                columns = list(table.schema.names)
        except Exception as exc:
            raise DwetlError(describe(exc)) from None
        return columns

    def _sample(
        self,
        file: FileContract,
        sql: str,
        schema: dict[str, pl.DataType],
        where: tuple[str, list[Any]] | None,
        path: Path,
    ) -> pl.DataFrame | None:
        if where is not None:
            column, keys = where
            values = ", ".join(str(int(k)) for k in keys) or "NULL"
            limited = f"SELECT * FROM (\n{_body(sql)}) src WHERE src.{column} IN ({values})"  # noqa: S608 (the extract file as written)
        else:
            limited = _limited(sql, self.limit)
        try:
            self.dialect.output_columns(self.url, limited)  # a guarded server learns the types
            query = self.dialect.query(limited, schema, None, None)
            table = read_arrow(self.url, query)
        except Exception as exc:
            self.problem(path.name, None, f"the source failed the query: {describe(exc)}")
            return None
        zone = self._zoned(file, path, table.schema)
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        frame, _ = self.dialect.restore(frame, schema)
        return conform(frame, schema, zone)

    def _zoned(self, file: FileContract, path: Path, schema: pa.Schema) -> str:
        """The zone the file's timestamps with a time zone are read in (`dwetl.source.zones`),
        with a note naming them where it is not UTC; a problem where a watermark column is among
        them and the session's zone is one dwetl cannot read in (then UTC)."""
        zoned = zoned_columns(schema, [c.name for c in file.columns])
        if not zoned:
            return UTC
        stamps = [c for c in zoned if any(c == f.name and f.watermark for f in file.columns)]
        problem = unusable_zone(stamps, self.zone, self.url.user)
        if problem is not None:
            self.problem(path.name, stamps[0], problem)
        zone = readable(self.zone)
        if not is_utc(zone):
            self.report.notes.append(
                f"{path.name}: {', '.join(zoned)}: timestamp with time zone, read as the wall "
                f"time of the source session's zone, {zone}, where the source reads its clock "
                "and compares the incremental bound"
            )
        return zone

    def _types(self, file: FileContract, frame: pl.DataFrame) -> None:
        if ORIGINAL not in frame.columns:
            return
        texts = frame.get_column(ORIGINAL).struct.unnest()
        for name in texts.columns:
            values = texts.get_column(name).drop_nulls()
            if not values.len():
                continue
            column = next(c for c in file.columns if c.name == name)
            self.problem(
                file.file,
                name,
                f"{values.len()} of {frame.height} sampled value(s) do not fit "
                f"{column.sql_type} (e.g. {values[0]!r}): convert them in the query, "
                f"e.g. CAST(... AS {column.sql_type}), or fix them at the source",
            )

    def _since(self, file: FileContract, text: str, dialect_name: str | None) -> None:
        """A query using `:since` must run with a timestamp bound, and return rows on a full run
        (`:since` NULL) when it returns some after a long-ago bound."""
        full = self._count(bind_since(text, None, dialect_name))
        try:
            since = self._count(bind_since(text, _LONG_AGO, dialect_name))
        except DwetlError as exc:
            # only a type error is about :since; another (a table the login may not read, used
            # by the incremental branch only) is the source's own message
            hint = (
                "; compare it with a timestamp column, e.g. t.atualizado_em > :since"
                if _TYPE_ERROR.search(str(exc))
                else ""
            )
            self.problem(
                file.file,
                None,
                f"with :since bound to a timestamp ({_LONG_AGO}) the source rejected the query: "
                f"{exc}{hint}",
            )
            return
        if since and not full:
            self.problem(
                file.file,
                None,
                "returns no rows when :since is NULL (a first or --full run): write its filter "
                "as `:since IS NULL OR t.atualizado_em > :since`",
            )

    def _count(self, sql: str) -> int:
        query = f"SELECT COUNT(*) AS n FROM (\n{_limited(sql, 1)}) src"  # noqa: S608 (the extract file as written)
        try:
            table = read_arrow(self.url, query)
        except Exception as exc:
            raise DwetlError(describe(exc)) from None
        return int(table.column(0)[0].as_py() or 0)

    def _values(self, files: Sequence[FileContract], frame: pl.DataFrame) -> None:
        """The sampled rows the warehouse would reject, per reason: a value outside a CHECK's
        domain, or a rule every sampled row breaks (a column not mapped, or mapped wrong), is a
        problem; a rule some rows break is a note (the run quarantines those rows)."""
        _, rejected = stage(self.spec, self.cs, frame)
        if not rejected.height:
            return
        columns = [c for f in files for c in f.columns]
        by_reason: dict[str, list[int]] = {}
        for row, reasons in rejected.select(ROW, REASONS).iter_rows():
            for reason in reasons:
                by_reason.setdefault(reason, []).append(row)
        for reason, rows in by_reason.items():
            culprits, empty = self._culprits(reason, frame[rows], columns)
            names = ", ".join(c.name for c in culprits) or None
            shown = ", ".join(
                f"{c.name}={_shown(frame[rows].get_column(c.name))}" for c in culprits
            )
            count = f"{len(rows)} of {frame.height} sampled row(s) break {reason}"
            count += f" ({shown})" if shown else ""
            domain = next((c for c in culprits if any(f"({reason};" in r for r in c.rules)), None)
            if domain is not None and domain.allowed is not None:
                allowed = ", ".join(repr(v) for v in domain.allowed)
                message = f"{count}: map them to one of {allowed} (a CASE in the query)"
            elif empty:
                message = f"{count}: no value where one is required: map it, or COALESCE it"
            else:
                rule = next((r for c in culprits for r in c.rules if reason in r), reason)
                message = f"{count}: the rule is {rule}"
            target = _file_of(files, culprits[0].name if culprits else None)
            if domain is not None or len(rows) == frame.height:
                self.problem(target, names, message)
            else:
                where = f"{target}: column {names}" if names else target
                self.report.notes.append(f"{where}: {message}; the run quarantines those rows")

    def _culprits(
        self, reason: str, sample: pl.DataFrame, columns: list[ColumnContract]
    ) -> tuple[list[ColumnContract], bool]:
        """The source columns behind a reason: those NULL in its rows that it requires (and
        True), else those feeding the warehouse columns it reads (and False)."""
        unique = list({c.name: c for c in columns if c.name in sample.columns}.values())
        nulls = [
            c
            for c in unique
            if reason in c.required_by and sample.get_column(c.name).null_count() == sample.height
        ]
        if nulls:
            return nulls, True
        targets = _reason_columns(reason, self.cs)
        return [c for c in unique if {f.rsplit(".", 1)[-1] for f in c.feeds} & targets], False


def _shown(values: pl.Series) -> str:
    """The first value of `values` as text (NULL when all are)."""
    from dwetl.source.contract.model import json_value

    present = values.drop_nulls()
    return repr(json_value(present[0])) if present.len() else "NULL"


def _reason_columns(reason: str, cs: ConstraintSet) -> set[str]:
    """The target columns a reason reads."""
    from dwetl.ops.reject_rules import reason_rules

    rule = reason_rules({cs.table: cs}).get(reason)
    return set(rule.columns) if rule else set()


def _file_of(files: Sequence[FileContract], column: str | None) -> str:
    for file in files:
        if any(c.name == column for c in file.columns):
            return file.file
    return files[0].file


def _dtype(spec: EntitySpec, file: FileContract, column: ColumnContract) -> pl.DataType:
    """The Polars type `file` must return `column` as: its part's schema, else SOURCE_SCHEMA."""
    for part in spec.extract_parts:
        if part.sql == file.file:
            return part.schema[column.name]
    dtype: pl.DataType = MODULES[spec.name].SOURCE_SCHEMA[column.name]
    return dtype


def _body(sql: str) -> str:
    return query_text(sql) + "\n"


def _limited(sql: str, limit: int) -> str:
    return f"SELECT * FROM (\n{_body(sql)}) src LIMIT {limit}"  # noqa: S608 (the extract file as written)
