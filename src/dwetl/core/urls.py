"""Database URLs: parsing `scheme://...` into a `DbUrl` (the password masked wherever it is
shown), the default source and warehouse URLs, and the one line for a missing database file."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from dwetl.core import masking
from dwetl.core.errors import UsageError

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
    # `~/dw.duckdb` is the home folder's file, as DuckDB and a shell read it (taken as a
    # relative path, it made a folder named `~` in the working folder)
    file = Path(relative).expanduser()
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
    when `scheme:///path` (relative) is missing but `/path` exists, the URL meant; or that the
    URL names a folder."""
    if url.path is not None and url.path.is_dir():
        return f"{what} {url.masked}: {url.path} is a folder; the URL must name the database file"
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
