"""Settings: source and warehouse URLs and tunables, from options, env, dwetl.toml, defaults.

Precedence: command-line option > environment variable > `dwetl.toml` in the working folder >
built-in default. Every bad value is a one-line UsageError (exit 2) naming where it came from.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from dwetl.core import masking
from dwetl.core.errors import UsageError
from dwetl.core.paths import ddl_root, extract_root

#: accepted spellings -> canonical scheme
SCHEMES: dict[str, str] = {
    "sqlite": "sqlite",
    "duckdb": "duckdb",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "mssql",
    "sqlserver": "mssql",
}
FILE_SCHEMES = frozenset({"sqlite", "duckdb"})
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}

#: query keys that hold a secret: shown as `***`, remembered by `masking`
SECRET_KEYS = frozenset({"password", "sslpassword"})
#: query keys libpq reads that connectorx's PostgreSQL client refuses (it finds the password
#: through `passwords.libpq_password` instead)
_LIBPQ_ONLY = frozenset({"passfile", "sslpassword"})

DEFAULT_SOURCE_URL = "sqlite:///data/oltp.sqlite"
DEFAULT_DW_URL = "duckdb:///data/warehouse.duckdb"
#: the default warehouse file of earlier releases: opened in DuckDB it becomes catalog `dw`,
#: which clashes with its schema `dw` ("Ambiguous reference"). Still used where it exists and
#: the new default does not, with a notice
LEGACY_DW_URL = "duckdb:///data/dw.duckdb"
TOML_NAME = "dwetl.toml"


@dataclass(frozen=True)
class DbUrl:
    """A parsed database URL. `str()` and `repr()` show the password as `***`; `.raw` has it."""

    scheme: str
    raw: str = field(repr=False)
    masked: str
    path: Path | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.masked

    @property
    def is_file(self) -> bool:
        """True for the embedded databases (SQLite, DuckDB): a file, no server."""
        return self.path is not None

    @property
    def connectorx_url(self) -> str:
        """The URL as connectorx wants it (absolute file path; canonical scheme; the password
        in the userinfo, also where libpq would find it: `PGPASSWORD`, a password file)."""
        if self.path is not None:
            return f"{self.scheme}://{self.path.as_posix()}"
        if self.scheme != "postgresql":
            return self._server_url(self.password)
        from dwetl.core.passwords import libpq_password

        options = dict(self.query)
        user = self.user or os.environ.get("PGUSER") or _os_user()
        password = self.password or libpq_password(
            self.host, self.port, self.database, user, options.get("passfile")
        )
        query = tuple((k, v) for k, v in self.query if k not in _LIBPQ_ONLY)
        return replace(self, user=user, query=query)._server_url(password)

    def _server_url(self, password: str | None, *, masked: bool = False) -> str:
        """The URL of a server; `masked`: every secret shown as `***`."""
        if masked and password is not None:
            password = masking.MASK
        auth = quote(self.user, safe="") if self.user is not None else ""
        if password is not None:
            auth += ":" + (masking.MASK if masked else quote(password, safe=""))
        if auth:
            auth += "@"
        host = f"[{self.host}]" if self.host and ":" in self.host else (self.host or "")
        port = f":{self.port}" if self.port is not None else ""
        query = "&".join(
            f"{k}={masking.MASK if masked and k in SECRET_KEYS else quote(v, safe='')}"
            for k, v in self.query
        )
        return f"{self.scheme}://{auth}{host}{port}/{self.database or ''}" + (
            f"?{query}" if query else ""
        )


def _os_user() -> str | None:
    """libpq's default user name: the operating-system user's."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def parse_url(text: str, *, setting: str, cwd: Path | None = None) -> DbUrl:
    """Parse a database URL; `setting` names where it came from for the error message.

    >>> u = parse_url("postgresql://app:pw@db:5433/dw", setting="--dw")
    >>> (u.scheme, u.host, u.port, u.database, str(u))
    ('postgresql', 'db', 5433, 'dw', 'postgresql://app:***@db:5433/dw')
    """
    text = text.strip()
    shown = masking.scrub(text)
    if "://" not in text:
        raise UsageError(
            f"{setting}: malformed database URL {shown!r} (expected scheme://..., "
            f"e.g. {DEFAULT_DW_URL} or postgresql://user:***@host:5432/dw)"
        )
    given_scheme = text.split("://", 1)[0].lower()
    scheme = SCHEMES.get(given_scheme)
    if scheme is None:
        raise UsageError(
            f"{setting}: unknown database scheme {given_scheme!r} in {shown!r} "
            f"(expected one of {', '.join(sorted(set(SCHEMES.values())))})"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{setting}: malformed database URL {shown!r}: {exc}") from None
    password = unquote(parts.password) if parts.password is not None else None
    masking.remember(password)
    query = tuple(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in query:
        if key in SECRET_KEYS:
            masking.remember(value)
    shown = masking.scrub(text)
    if scheme in FILE_SCHEMES:
        return _file_url(text, scheme, parts.netloc, parts.path, query, setting, shown, cwd)
    if not parts.hostname:
        raise UsageError(f"{setting}: database URL {shown!r} has no host")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise UsageError(
            f"{setting}: database URL {shown!r} must name one database after the host "
            f"(e.g. {scheme}://user@host/dw)"
        )
    user = unquote(parts.username) if parts.username is not None else None
    # `?user=` and `?password=` (libpq's URL forms) are the userinfo's, said elsewhere: kept
    # in one place, they are never passed twice (to psycopg) nor shown (in the masked URL)
    user = _from_query(query, "user", user, setting, shown)
    password = _from_query(query, "password", password, setting, shown)
    url = DbUrl(
        scheme=scheme,
        raw=text,
        masked="",
        host=parts.hostname,
        port=port if port is not None else DEFAULT_PORTS[scheme],
        user=user,
        password=password,
        database=database,
        query=tuple((k, v) for k, v in query if k not in ("user", "password")),
    )
    masked = url._server_url(password, masked=True)
    return replace(url, masked=masked)


def _from_query(
    query: tuple[tuple[str, str], ...], key: str, given: str | None, setting: str, shown: str
) -> str | None:
    """The URL's `key` (user or password): from the userinfo or from `?key=`, given once."""
    values = {v for k, v in query if k == key} | ({given} if given is not None else set())
    if len(values) > 1:
        raise UsageError(
            f"{setting}: database URL {shown!r} gives two different {key}s (in user:{key}@ "
            f"and ?{key}=, or ?{key}= twice): give it once"
        )
    return next(iter(values), None)


def _file_url(
    text: str,
    scheme: str,
    netloc: str,
    path: str,
    query: tuple[tuple[str, str], ...],
    setting: str,
    shown: str,
    cwd: Path | None,
) -> DbUrl:
    # scheme:///relative/file -> relative to cwd; scheme:////abs/file -> absolute
    if netloc:
        raise UsageError(
            f"{setting}: {scheme} URL {shown!r} must be {scheme}:///relative/path "
            f"or {scheme}:////absolute/path (no host)"
        )
    relative = unquote(path)[1:] if path.startswith("/") else unquote(path)
    if not relative or relative.endswith("/"):
        raise UsageError(f"{setting}: {scheme} URL {shown!r} names no file")
    file = Path(relative)
    if not file.is_absolute():
        file = (cwd or Path.cwd()) / file
    file = file.resolve()
    return DbUrl(
        scheme=scheme,
        raw=text,
        masked=text,
        path=file,
        database=str(file),
        query=query,
    )


def missing_file(what: str, url: DbUrl, todo: str) -> str:
    """The one line for a database file that does not exist: the URL, the file, what to do, or,
    when `scheme:///path` (relative) is missing but `/path` exists, the URL meant."""
    meant = absolute_alternative(url)
    if meant is not None:
        todo = f"{url.scheme}:/// is relative to the working folder: did you mean {meant}?"
    return f"{what} {url.masked}: {url.path} does not exist ({todo})"


def absolute_alternative(url: DbUrl) -> str | None:
    """`scheme:////path` when `url` is `scheme:///path`, a relative path that does not exist,
    while the absolute `/path` does; else None.

    >>> absolute_alternative(parse_url("duckdb:///tmp", setting="--dw", cwd=Path("/nowhere")))
    'duckdb:////tmp'
    """
    if url.path is None or url.path.exists():
        return None
    rest = url.raw.split("://", 1)[1].split("?", 1)[0]
    if not rest.startswith("/") or rest.startswith("//"):
        return None
    absolute = Path("/" + unquote(rest[1:]))
    if not absolute.exists():
        return None
    return f"{url.scheme}:///{absolute.as_posix()}"


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where and how to run."""

    source: DbUrl
    dw: DbUrl
    sql_dir: Path
    connect_attempts: int = 5
    connect_backoff_s: float = 0.5
    connect_backoff_max_s: float = 8.0
    watermark_overlap_s: float = 300.0
    max_reject_ratio: float = 0.05
    lock_timeout_s: float = 60.0
    #: most source rows an entity that can be batched (`EntitySpec.batch_key`) extracts,
    #: transforms and validates at once; 0: never batch
    batch_rows: int = 1_000_000
    #: folder of the warehouse DDL scripts (the shipped sql/ddl unless DWETL_DDL_DIR says else)
    ddl_dir: Path = field(default_factory=ddl_root)
    #: what a run does with an entity one of whose dimensions failed earlier in the same run:
    #: "skip" it (nothing of it runs, its watermark stays), or "infer" (load it; the keys it
    #: cannot find become inferred members, which the dimension completes when it loads)
    on_failed_dimension: str = "skip"


# (toml section, key) -> (Settings field, env variable or None, parser)
_NUMBERS: dict[tuple[str, str], tuple[str, str | None, type]] = {
    ("connect", "attempts"): ("connect_attempts", "DWETL_CONNECT_ATTEMPTS", int),
    ("connect", "backoff_seconds"): ("connect_backoff_s", "DWETL_CONNECT_BACKOFF_SECONDS", float),
    ("connect", "backoff_max_seconds"): (
        "connect_backoff_max_s",
        "DWETL_CONNECT_BACKOFF_MAX_SECONDS",
        float,
    ),
    ("extract", "overlap_seconds"): (
        "watermark_overlap_s",
        "DWETL_WATERMARK_OVERLAP_SECONDS",
        float,
    ),
    ("run", "max_reject_ratio"): ("max_reject_ratio", "DWETL_MAX_REJECT_RATIO", float),
    ("run", "lock_timeout_seconds"): ("lock_timeout_s", "DWETL_LOCK_TIMEOUT_SECONDS", float),
    ("run", "batch_rows"): ("batch_rows", "DWETL_BATCH_ROWS", int),
}
#: Settings field -> its command-line option, for the numbers a command may take as options
_NUMBER_OPTIONS: dict[str, str] = {"batch_rows": "--batch-rows"}
_PATHS: dict[tuple[str, str], tuple[str, str]] = {
    ("extract", "sql_dir"): ("sql_dir", "DWETL_SQL_DIR"),
    ("init", "ddl_dir"): ("ddl_dir", "DWETL_DDL_DIR"),
}
#: (toml section, key) -> (Settings field, env variable, command-line option, allowed values)
_CHOICES: dict[tuple[str, str], tuple[str, str, str, tuple[str, ...]]] = {
    ("run", "on_failed_dimension"): (
        "on_failed_dimension",
        "DWETL_ON_FAILED_DIMENSION",
        "--on-failed-dimension",
        ("skip", "infer"),
    ),
}
_URLS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("source", "url"): ("source", "DWETL_SOURCE_URL", "--source"),
    ("dw", "url"): ("dw", "DWETL_DW_URL", "--dw"),
}
_MINIMUM: dict[str, float] = {
    "connect_attempts": 1,
    "connect_backoff_s": 0,
    "connect_backoff_max_s": 0,
    "watermark_overlap_s": 0,
    "max_reject_ratio": 0,
    "lock_timeout_s": 0,
    "batch_rows": 0,
}
_MAXIMUM: dict[str, float] = {"max_reject_ratio": 1}


def load_settings(
    source: str | None = None,
    dw: str | None = None,
    sql_dir: str | None = None,
    cwd: Path | None = None,
    *,
    ddl_dir: str | None = None,
    batch_rows: int | None = None,
    on_failed_dimension: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the settings: option > env > dwetl.toml in `cwd` > defaults.

    >>> load_settings(cwd=Path("/tmp/nowhere"), env={}).dw.scheme
    'duckdb'
    """
    cwd = (cwd or Path.cwd()).resolve()
    env = os.environ if env is None else env
    toml = _read_toml(cwd / TOML_NAME)
    options = {"source": source, "dw": dw, "sql_dir": sql_dir, "ddl_dir": ddl_dir}
    values: dict[str, Any] = {}

    for (section, key), (name, env_var, option) in _URLS.items():
        text, origin = _pick(options[name], option, env, env_var, toml, section, key)
        if text is None:
            text, origin = (
                (DEFAULT_SOURCE_URL if name == "source" else default_dw_url(cwd)),
                "default",
            )
        values[name] = parse_url(str(text), setting=origin, cwd=cwd)

    for (section, key), (name, env_var) in _PATHS.items():
        text, origin = _pick(
            options[name], f"--{name.replace('_', '-')}", env, env_var, toml, section, key
        )
        if text is None:
            values[name] = extract_root() if name == "sql_dir" else ddl_root()
            continue
        if not isinstance(text, str) or not text:
            raise UsageError(f"{origin}: expected a folder path, got {text!r}")
        folder = Path(text).expanduser()
        values[name] = (folder if folder.is_absolute() else cwd / folder).resolve()

    numbers = {"batch_rows": batch_rows}
    for (section, key), (name, number_env, kind) in _NUMBERS.items():
        raw, origin = _pick(
            numbers.get(name), _NUMBER_OPTIONS.get(name, ""), env, number_env, toml, section, key
        )
        if raw is None:
            continue
        values[name] = _number(raw, kind, name, origin)

    choices = {"on_failed_dimension": on_failed_dimension}
    for (section, key), (name, choice_env, option, allowed) in _CHOICES.items():
        raw, origin = _pick(choices[name], option, env, choice_env, toml, section, key)
        if raw is None:
            continue
        if raw not in allowed:
            raise UsageError(f"{origin}: expected one of {', '.join(allowed)}, got {raw!r}")
        values[name] = raw

    return Settings(**values)


def default_dw_url(cwd: Path) -> str:
    """The default warehouse URL: data/warehouse.duckdb, unless only the earlier default
    data/dw.duckdb exists (then that one, with a one-line notice)."""
    new, old = (parse_url(url, setting="default", cwd=cwd).path for url in _DEFAULT_DWS)
    assert new is not None and old is not None
    if new.exists() or not old.is_file():
        return DEFAULT_DW_URL
    if old not in _noticed:
        _noticed.add(old)
        logging.getLogger("dwetl").warning(
            "using the existing warehouse data/dw.duckdb, the earlier default; the default is "
            "now data/warehouse.duckdb, whose name does not clash with its schema dw in DuckDB "
            "(rename the file to use it)"
        )
    return LEGACY_DW_URL


_DEFAULT_DWS = (DEFAULT_DW_URL, LEGACY_DW_URL)
#: earlier-default warehouse files already noticed in this process (one notice each)
_noticed: set[Path] = set()


def _pick(
    option: Any,
    option_name: str,
    env: Mapping[str, str],
    env_var: str | None,
    toml: dict[str, Any],
    section: str,
    key: str,
) -> tuple[Any, str]:
    """The first value given, and where it came from (for error messages)."""
    if option is not None:
        return option, option_name
    if env_var and env.get(env_var):
        return env[env_var], env_var
    if key in toml.get(section, {}):
        return toml[section][key], f"{TOML_NAME} [{section}] {key}"
    return None, ""


def _number(raw: Any, kind: type, name: str, origin: str) -> int | float:
    if isinstance(raw, bool):
        raise UsageError(f"{origin}: expected a number, got {raw!r}")
    try:
        value: int | float = kind(raw)
        if kind is int and isinstance(raw, float) and raw != int(raw):
            raise ValueError
    except (TypeError, ValueError):
        expected = "a whole number" if kind is int else "a number"
        raise UsageError(f"{origin}: expected {expected}, got {raw!r}") from None
    if value < _MINIMUM[name] or value > _MAXIMUM.get(name, float("inf")):
        bounds = f">= {_MINIMUM[name]:g}"
        if name in _MAXIMUM:
            bounds = f"between {_MINIMUM[name]:g} and {_MAXIMUM[name]:g}"
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
    for section, key in [*_NUMBERS, *_PATHS, *_URLS, *_CHOICES]:
        known.setdefault(section, set()).add(key)
    for section, keys in data.items():
        if section not in known or not isinstance(keys, dict):
            raise UsageError(
                f"{path}: unknown section [{section}] (known: {', '.join(sorted(known))})"
            )
        for key in keys:
            if key not in known[section]:
                raise UsageError(
                    f"{path}: unknown setting [{section}] {key} "
                    f"(known: {', '.join(sorted(known[section]))})"
                )
    return data
