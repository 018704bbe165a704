"""Settings: source and warehouse URLs and tunables, declared once, from options, env,
dwetl.toml, defaults (the URLs themselves: `dwetl.core.urls`; the docs' table of them:
`dwetl.core.settings_doc`).

Precedence: command-line option > environment variable > `dwetl.toml` in the working folder >
built-in default. Every bad value is a one-line UsageError (exit 2) naming where it came from.
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from dwetl.core.errors import UsageError
from dwetl.core.paths import ddl_root, extract_root, folder_problem
from dwetl.core.urls import DEFAULT_DW_URL, DEFAULT_SOURCE_URL, DbUrl, default_dw_url, parse_url

TOML_NAME = "dwetl.toml"


@dataclass(frozen=True)
class Setting:
    """One setting, declared once (as the metadata of its `Settings` field): its one name gives
    its command-line option, environment variable and `dwetl.toml` key; its type is the field's.

    >>> lock = SETTINGS["lock_timeout_seconds"]
    >>> (lock.option, lock.env, lock.toml)
    ('--lock-timeout-seconds', 'DWETL_LOCK_TIMEOUT_SECONDS', '[run] lock_timeout_seconds')
    >>> (SETTINGS["dw"].option, SETTINGS["dw"].env, SETTINGS["dw"].toml)
    ('--dw', 'DWETL_DW_URL', '[dw] url')
    """

    #: the `dwetl.toml` section; a name that starts with it drops it in the key
    #: (`connect_attempts` is `[connect] attempts`)
    section: str
    #: one sentence: the options' help and the docs' table both show it
    help: str
    minimum: float | None = None
    maximum: float | None = None
    #: the default as people read it, where the field's is computed (URLs, folders)
    shown_default: str | None = None
    #: the commands that take it as an option; none: environment and `dwetl.toml` only
    commands: tuple[str, ...] = ()
    #: earlier names still read, each with one warning naming the new one: `DWETL_...`
    #: variables and `[section] key`s of `dwetl.toml`
    old_names: tuple[str, ...] = ()
    #: the `Settings` field (filled in from it)
    name: str = ""
    #: the field's type (filled in from it): DbUrl, Path, int, float or a Literal of choices
    kind: Any = None

    @property
    def env(self) -> str:
        """The environment variable: DWETL_ and the name (and _URL for a database's URL)."""
        return f"DWETL_{self.name.upper()}" + ("_URL" if self.kind is DbUrl else "")

    @property
    def key(self) -> str:
        """The key in its `dwetl.toml` section (a database's URL is its section's `url`)."""
        return "url" if self.kind is DbUrl else self.name.removeprefix(f"{self.section}_")

    @property
    def toml(self) -> str:
        return f"[{self.section}] {self.key}"

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def choices(self) -> tuple[str, ...]:
        return get_args(self.kind) if get_origin(self.kind) is Literal else ()

    @property
    def default(self) -> str:
        """The default as text (numbers as `:g` writes them, but whole numbers in full)."""
        if self.kind is Path:
            return f"the shipped {self.shown_default}"
        if self.shown_default is not None:
            return self.shown_default
        value = _FIELDS[self.name].default
        return f"{value:g}" if isinstance(value, float) else str(value)

    @property
    def kind_text(self) -> str:
        """The type and bounds as the docs say them, e.g. `number >= 0`."""
        if self.choices:
            return " or ".join(f"`{c}`" for c in self.choices)
        if self.kind is DbUrl:
            return "database URL"
        if self.kind is Path:
            return "folder"
        if self.kind is str:
            return "text"
        text = "whole number" if self.kind is int else "number"
        if self.maximum is not None:
            return f"{text} {self.minimum:g} to {self.maximum:g}"
        return f"{text} >= {self.minimum:g}" if self.minimum is not None else text

    @property
    def option_help(self) -> str:
        """The help of its command-line option: what it does, then where else it comes from."""
        return f"{self.help} Else {self.env}, then {TOML_NAME} {self.toml}; default {self.default}."


def _setting(section: str, help: str, **more: Any) -> dict[str, Setting]:
    """A `Settings` field's metadata: how the setting is given (see `Setting`)."""
    return {"setting": Setting(section, help, **more)}


#: the commands that connect to the warehouse, and to the source (`demo` takes files of its
#: own under the same option names, never these settings; on `check`, `--source` is a flag and
#: `--source-url` the source)
_DW_COMMANDS = ("check", "contract", "history", "init", "rejects", "rollout", "run", "status")
_SOURCE_COMMANDS = ("init", "rollout", "run", "sample")


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where and how to run: one field per setting,
    which its metadata declares once (option, environment variable, `dwetl.toml` key, bounds,
    help: see `Setting`)."""

    source: DbUrl = field(
        metadata=_setting(
            "source",
            "Source (ERP) database URL.",
            shown_default=DEFAULT_SOURCE_URL,
            commands=_SOURCE_COMMANDS,
        )
    )
    dw: DbUrl = field(
        metadata=_setting(
            "dw",
            "Warehouse database URL.",
            shown_default=DEFAULT_DW_URL,
            commands=_DW_COMMANDS,
        )
    )
    sql_dir: Path = field(
        default_factory=extract_root,
        metadata=_setting(
            "extract",
            "Folder of the extract queries: one .sql file per entity, or the facts' parts.",
            shown_default="sql/extract",
            commands=("check", "run"),
        ),
    )
    ddl_dir: Path = field(
        default_factory=ddl_root,
        metadata=_setting(
            "init",
            "Folder of the warehouse DDL scripts NNN_name.sql that init applies.",
            shown_default="sql/ddl",
            commands=("check", "init"),
        ),
    )
    connect_attempts: int = field(
        default=5,
        metadata=_setting("connect", "Tries per database before giving up.", minimum=1),
    )
    connect_backoff_seconds: float = field(
        default=0.5,
        metadata=_setting(
            "connect",
            "Seconds to wait after the first failed attempt, doubling each time.",
            minimum=0,
        ),
    )
    connect_backoff_max_seconds: float = field(
        default=8.0,
        metadata=_setting(
            "connect", "The longest wait between two attempts, in seconds.", minimum=0
        ),
    )
    watermark_overlap_seconds: float = field(
        default=300.0,
        metadata=_setting(
            "extract",
            "An incremental read starts this many seconds before the stored watermark.",
            minimum=0,
            old_names=("[extract] overlap_seconds",),
        ),
    )
    max_reject_ratio: float = field(
        default=0.05,
        metadata=_setting(
            "run",
            "Largest share of rejected rows an entity may have and still load (and pass a "
            "rollout's dry run).",
            minimum=0,
            maximum=1,
            commands=("rollout", "run"),
        ),
    )
    lock_timeout_seconds: float = field(
        default=60.0,
        metadata=_setting(
            "run",
            "How long a run waits, in seconds, for another run holding the entity (DuckDB: "
            "the file).",
            minimum=0,
        ),
    )
    batch_rows: int = field(
        default=1_000_000,
        metadata=_setting(
            "run",
            "Load a large fact in key-partitioned batches of about this many source rows "
            "(0: never batch).",
            minimum=0,
            commands=("run",),
        ),
    )
    on_failed_dimension: Literal["skip", "infer"] = field(
        default="skip",
        metadata=_setting(
            "run",
            "A fact whose dimension failed earlier in the run: skip it, or infer (load it; "
            "the keys it cannot find become inferred members).",
            commands=("run",),
        ),
    )
    engine: Literal["polars", "spark"] = field(
        default="polars",
        metadata=_setting(
            "run",
            "Where the batches of a large fact are extracted, transformed and validated: in "
            "this process (polars), or as Apache Spark tasks (spark: docs/spark.md).",
            commands=("run",),
        ),
    )
    spark_master: str = field(
        default="local[*]",
        metadata=_setting(
            "spark",
            "The Spark master of --engine spark (ignored where a SparkSession is already "
            "active, as in a notebook).",
            commands=("run",),
        ),
    )
    spark_staging_dir: str = field(
        default="",
        metadata=_setting(
            "spark",
            "Folder where Spark tasks write their rejects, and on DuckDB their valid rows, as "
            "Parquet for the driver to load (on PostgreSQL the tasks COPY their valid rows into "
            "the warehouse): one the driver and every executor see (empty: the system's "
            "temporary folder, enough in local mode).",
            shown_default='""',
        ),
    )
    #: Spark properties passed through to the session (`spark.*` keys of the `[spark]` table
    #: of `dwetl.toml`, e.g. `"spark.executor.memory" = "4g"`): no setting of dwetl's own
    spark_conf: tuple[tuple[str, str], ...] = field(default=(), metadata={"passthrough": "spark"})


_FIELDS = {f.name: f for f in fields(Settings)}
_TYPES = get_type_hints(Settings)
#: every setting by name, in the order of `Settings`
SETTINGS: dict[str, Setting] = {
    f.name: replace(f.metadata["setting"], name=f.name, kind=_TYPES[f.name])
    for f in fields(Settings)
    if "setting" in f.metadata
}
#: the `dwetl.toml` section whose `spark.*` keys are Spark's properties, passed through
PASSTHROUGH = "spark"
#: default URLs, which depend on the working folder
_DEFAULT_URLS: dict[str, Callable[[Path], str]] = {
    "source": lambda cwd: DEFAULT_SOURCE_URL,
    "dw": lambda cwd: default_dw_url(cwd),
}


def load_settings(
    source: str | None = None,
    dw: str | None = None,
    sql_dir: str | None = None,
    cwd: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    **options: Any,
) -> Settings:
    """Resolve the settings: option > env > dwetl.toml in `cwd` > defaults. `options` are the
    command-line options given (None: not given), by setting name.

    >>> load_settings(cwd=Path("/tmp/nowhere"), env={}).dw.scheme
    'duckdb'
    """
    unknown = sorted(set(options) - set(SETTINGS))
    if unknown:
        raise TypeError(f"load_settings() got options that are no setting: {', '.join(unknown)}")
    cwd = (cwd or Path.cwd()).resolve()
    env = os.environ if env is None else env
    _warn_unknown_variables(env)
    toml = _read_toml(cwd / TOML_NAME)
    options |= {"source": source, "dw": dw, "sql_dir": sql_dir}
    values: dict[str, Any] = {}
    for setting in SETTINGS.values():
        raw, origin = _pick(setting, options.get(setting.name), env, toml)
        if raw is None and setting.name in _DEFAULT_URLS:
            raw, origin = _DEFAULT_URLS[setting.name](cwd), "default"
        if raw is not None:
            values[setting.name] = _parse(setting, raw, origin, cwd)
    values["spark_conf"] = tuple(_passed_through(toml.get(PASSTHROUGH, {})).items())
    return Settings(**values)


def require_folder(settings: Settings, name: str) -> None:
    """UsageError naming the setting where the folder setting `name` names no folder (every
    entity would fail on its own, each naming a file).

    >>> s = load_settings(cwd=Path("/tmp"), env={}, sql_dir="/nonexistent/sql")
    >>> try:
    ...     require_folder(s, "sql_dir")
    ... except UsageError as exc:
    ...     print(str(exc).replace(" (", "\\n("))
    the folder /nonexistent/sql does not exist
    (set by --sql-dir, DWETL_SQL_DIR or [extract] sql_dir in dwetl.toml)
    """
    folder = getattr(settings, name)
    problem = folder_problem(folder)
    if problem is not None:
        setting = SETTINGS[name]
        raise UsageError(
            f"the folder {folder} {problem} (set by {setting.option}, {setting.env} or "
            f"{setting.toml} in {TOML_NAME})"
        )


def _passed_through(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """The `spark.*` keys of the `[spark]` table as Spark's properties, whether written quoted
    (`"spark.executor.memory" = "4g"`) or dotted (`spark.executor.memory = "4g"`, which TOML
    nests); the table's own settings left out.

    >>> _passed_through({"master": "local[2]", "spark": {"executor": {"memory": "4g"}},
    ...                  "spark.sql.shuffle.partitions": 8})
    {'spark.executor.memory': '4g', 'spark.sql.shuffle.partitions': '8'}
    """
    found: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if not name.startswith("spark"):
            continue
        if isinstance(value, dict):
            found |= _passed_through(value, f"{name}.")
        else:
            found[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return found


def _pick(
    setting: Setting, option: Any, env: Mapping[str, str], toml: dict[str, Any]
) -> tuple[Any, str]:
    """The first value given, and where it came from (for error messages); on each channel an
    old name is read after the new one, with a warning."""
    if option is not None:
        return option, setting.option
    for name in (setting.env, *_old_envs(setting)):
        if env.get(name):
            if name != setting.env:
                _warn_old(name, setting.env)
            return env[name], name
    for section, key in ((setting.section, setting.key), *_old_keys(setting)):
        if key in toml.get(section, {}):
            if key != setting.key or section != setting.section:
                _warn_old(f"{TOML_NAME} [{section}] {key}", setting.toml)
            return toml[section][key], f"{TOML_NAME} [{section}] {key}"
    return None, ""


def _old_envs(setting: Setting) -> list[str]:
    return [name for name in setting.old_names if name.startswith("DWETL_")]


def _old_keys(setting: Setting) -> list[tuple[str, str]]:
    """The old `[section] key`s of `setting`, as (section, key)."""
    keys = []
    for name in setting.old_names:
        if name.startswith("["):
            section, key = name[1:].split("] ", 1)
            keys.append((section, key))
    return keys


def _warn_old(used: str, new: str) -> None:
    """One warning line per process for each old name used, naming the new one."""
    if used not in _warned:
        _warned.add(used)
        logging.getLogger("dwetl").warning("%s is deprecated: use %s (same meaning)", used, new)


#: old setting names already warned about in this process
_warned: set[str] = set()

#: the `DWETL_` variables that are no setting: the global options' (`--log-format`,
#: `--log-file`) and the fault hook of drills and tests (`dwetl.run.faults`)
OTHER_VARIABLES = ("DWETL_LOG_FORMAT", "DWETL_LOG_FILE", "DWETL_FAIL_AT")


def unknown_variables(env: Mapping[str, str]) -> dict[str, str | None]:
    """The `DWETL_` variables of `env` that dwetl does not read, each with the one it
    probably meant (None where none is close): a misspelt one is otherwise ignored in silence,
    and its setting takes its default.

    >>> unknown_variables({"DWETL_DW_ULR": "postgresql://dw", "DWETL_DW_URL": "x", "HOME": "/"})
    {'DWETL_DW_ULR': 'DWETL_DW_URL'}
    """
    known = {*OTHER_VARIABLES}
    for setting in SETTINGS.values():
        known |= {setting.env, *_old_envs(setting)}
    return {
        name: next(iter(difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)), None)
        for name in sorted(env)
        if name.startswith("DWETL_") and name not in known
    }


def _warn_unknown_variables(env: Mapping[str, str]) -> None:
    """One warning line per process for each `DWETL_` variable that is no setting."""
    for name, meant in unknown_variables(env).items():
        if name not in _warned:
            _warned.add(name)
            hint = f" (did you mean {meant}?)" if meant else ""
            logging.getLogger("dwetl").warning(
                "%s is set, but dwetl has no such setting%s: it is ignored", name, hint
            )


def _parse(setting: Setting, raw: Any, origin: str, cwd: Path) -> Any:
    """The value of `setting` from `raw`, of its type and within its bounds."""
    if setting.kind is DbUrl:
        return parse_url(str(raw), setting=origin, cwd=cwd)
    if setting.kind is Path:
        if not isinstance(raw, str) or not raw:
            raise UsageError(f"{origin}: expected a folder path, got {raw!r}")
        folder = Path(raw).expanduser()
        return (folder if folder.is_absolute() else cwd / folder).resolve()
    if setting.kind is str:
        if not isinstance(raw, str):
            raise UsageError(f"{origin}: expected text, got {raw!r}")
        return raw
    if setting.choices:
        if raw not in setting.choices:
            expected = ", ".join(setting.choices)
            raise UsageError(f"{origin}: expected one of {expected}, got {raw!r}")
        return raw
    return _number(raw, setting, origin)


def _number(raw: Any, setting: Setting, origin: str) -> int | float:
    kind = setting.kind
    if isinstance(raw, bool):
        raise UsageError(f"{origin}: expected a number, got {raw!r}")
    try:
        value: int | float = kind(raw)
        if kind is int and isinstance(raw, float) and raw != int(raw):
            raise ValueError
    except (TypeError, ValueError):
        expected = "a whole number" if kind is int else "a number"
        raise UsageError(f"{origin}: expected {expected}, got {raw!r}") from None
    low = setting.minimum if setting.minimum is not None else float("-inf")
    high = setting.maximum if setting.maximum is not None else float("inf")
    if not low <= value <= high:
        bounds = f">= {low:g}"
        if setting.maximum is not None:
            bounds = f"between {low:g} and {high:g}"
        raise UsageError(f"{origin}: must be {bounds}, got {raw!r}")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    known: dict[str, set[str]] = {}
    accepted: set[tuple[str, str]] = set()
    for setting in SETTINGS.values():
        known.setdefault(setting.section, set()).add(setting.key)
        accepted |= {(setting.section, setting.key), *_old_keys(setting)}
    for section, keys in data.items():
        if section not in known or not isinstance(keys, dict):
            raise UsageError(
                f"{path}: unknown section [{section}] (known: {', '.join(sorted(known))})"
            )
        for key in keys:
            if (section, key) not in accepted and not (
                section == PASSTHROUGH and key.startswith("spark")
            ):
                raise UsageError(
                    f"{path}: unknown setting [{section}] {key} "
                    f"(known: {', '.join(sorted(known[section]))})"
                )
    return data
