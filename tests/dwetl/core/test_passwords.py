"""A password given in a URL never appears in stdout, stderr, the log or the run log."""

from __future__ import annotations

import io
import json
import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import typer

from dwetl.cli.app import app
from dwetl.core.config import load_settings
from dwetl.core.logs import setup_logging
from dwetl.core.urls import parse_url
from dwetl.warehouse import open_warehouse

SECRET = "s3cret-Pw"
FAST = {
    "DWETL_CONNECT_ATTEMPTS": "2",
    "DWETL_CONNECT_BACKOFF_SECONDS": "0.01",
    "DWETL_CONNECT_BACKOFF_MAX_SECONDS": "0.01",
    "DWETL_LOCK_TIMEOUT_SECONDS": "1",
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def url_options() -> dict[str, set[str]]:
    """Every CLI command that takes a database URL, with the URL options it takes."""
    group = typer.main.get_command(app)
    found = {}
    for name, command in getattr(group, "commands", {}).items():
        options = {
            o
            for p in command.params
            if not getattr(p, "is_flag", False)  # `check --source` is a flag, not a URL
            for o in p.opts
            if o in ("--dw", "--source")
        }
        if options:
            found[name] = options
    return found


def test_init_on_postgresql_with_a_password_never_shows_it(
    tmp_path: Path, pg_database: str, dwetl: Any
) -> None:
    dw = f"postgresql://postgres:{SECRET}@localhost:5432/{pg_database}"
    source = f"postgresql://postgres:{SECRET}@localhost:5432/postgres"
    for args in (["--json"], []):
        result = dwetl("init", "--dw", dw, "--source", source, *args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
        assert f"postgresql://postgres:***@localhost:5432/{pg_database}" in result.stdout
    settings = load_settings(dw=dw, cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as wh:
        rows = wh.fetchall("SELECT * FROM ctl.etl_run")
    assert len(rows) == 2 and SECRET not in json.dumps(rows, default=str)
    assert "postgres:***@" in json.dumps(rows, default=str)


def test_unreachable_source_is_reported_without_its_password(tmp_path: Path, dwetl: Any) -> None:
    source = f"mysql://root:{SECRET}@127.0.0.1:{closed_port()}/erp"
    result = dwetl("init", "--source", source, cwd=tmp_path, env=FAST)
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: init check failed: source mysql://root:***@127.0.0.1:")
    assert "unreachable after 2 attempts" in last


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://app:{SECRET}@db:notaport/dw",
        f"oracle://app:{SECRET}@db/dw",
        f"postgresql://app:{SECRET}@db:5432/",
    ],
)
def test_malformed_url_error_hides_the_password(tmp_path: Path, dwetl: Any, url: str) -> None:
    result = dwetl("init", "--dw", url, cwd=tmp_path)
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr
    assert result.stderr.startswith("error: --dw: ") and result.stderr.count("\n") == 1


@pytest.mark.parametrize("command", sorted(url_options()))
def test_no_command_prints_a_password(tmp_path: Path, dwetl: Any, command: str) -> None:
    port = closed_port()
    args = [command]
    options = url_options()[command]
    if "--dw" in options:
        args += ["--dw", f"postgresql://etl:{SECRET}@127.0.0.1:{port}/dw"]
    if "--source" in options:
        args += ["--source", f"postgresql://etl:{SECRET}@127.0.0.1:{port}/erp"]
    result = dwetl(*args, cwd=tmp_path, env=FAST, timeout=300)
    assert SECRET not in result.stdout + result.stderr, command
    assert "Traceback" not in result.stderr, command


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--source", f"postgresql://etl:{SECRET}@127.0.0.1:1/erp"),  # --source is a flag
        ("run", f"postgresql://etl:{SECRET}@127.0.0.1:1/erp"),  # a stray argument
        ("init", "--dw", f"postgresql://etl:{SECRET}@127.0.0.1:1/dw", "--bogus"),
    ],
)
def test_a_usage_error_quoting_a_url_hides_its_password(
    tmp_path: Path, dwetl: Any, args: tuple[str, ...]
) -> None:
    # Click prints these itself, quoting the argument whole, before dwetl parses any URL
    result = dwetl(*args, cwd=tmp_path, env=FAST)
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr
    assert "Error:" in result.stderr


def test_log_records_are_masked_even_when_a_caller_forgets(tmp_path: Path) -> None:
    settings = load_settings(dw=f"postgresql://u:{SECRET}@h/dw", cwd=tmp_path, env={})
    stream = io.StringIO()
    logger = setup_logging(fmt="json", stream=stream)
    try:
        logger.warning("connecting to %s", settings.dw.raw)
        try:
            raise RuntimeError(f"failed: password={SECRET}")
        except RuntimeError:
            logger.exception("it broke")
    finally:
        setup_logging(stream=io.StringIO())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "connecting to postgresql://u:***@h/dw"
    assert lines[0]["level"] == "warning" and lines[0]["logger"] == "dwetl"
    assert "it broke" in lines[1]["message"] and SECRET not in stream.getvalue()
    logging.getLogger("dwetl").handlers.clear()


# --- every URL form of a password: it connects, and it is never shown or stored -------------


def _ctl_text(dw_database: str) -> str:
    """Every value of every ctl.* table of the warehouse, as one text (read as the admin)."""
    import psycopg

    with psycopg.connect(
        f"host=localhost port=5432 user=postgres dbname={dw_database}", autocommit=True
    ) as con:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ctl'"
        ).fetchall()
        assert len(tables) >= 4
        rows = [con.execute(f"SELECT * FROM ctl.{t}").fetchall() for (t,) in tables]
    return json.dumps(rows, default=str, ensure_ascii=False)


def _commands(
    dwetl: Any, cwd: Path, env: dict[str, str], *, full: bool = True
) -> list[tuple[str, Any]]:
    """`init`, `run`, `history`, `status` (and their --json) as a user runs them; their results."""
    runs = [["init"], ["run", "--entity", "dim_loja,dim_vendedor"]]
    if full:
        runs = [["init"], ["init", "--json"], ["run", "--json"], ["run", "--entity", "all"]]
        runs += [["history"], ["history", "--json"], ["status"], ["status", "--json"]]
    out = []
    for args in runs:
        result = dwetl(*args, cwd=cwd, env=env, timeout=300)
        assert result.returncode in ((0, 3) if args[0] == "run" else (0,)), (args, result.stderr)
        out.append((" ".join(args), result))
    return out


@pytest.fixture
def mysql_user(server_databases: Any, sample_data: Any) -> Any:
    """A MariaDB sample source and a user of its own WITH a password (real authentication):
    (database URL as root, user name)."""
    import secrets as random

    import pymysql

    root = server_databases.new("mysql")
    from dwetl.sample import write_sample

    write_sample(sample_data(300, 3, 0.0), root)
    database = root.rsplit("/", 1)[1]
    user = f"dwetl_pw_{random.token_hex(4)}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    with admin.cursor() as cur:
        for host in ("localhost", "127.0.0.1"):
            cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", [SECRET])
            cur.execute(f"GRANT ALL ON `{database}`.* TO '{user}'@'{host}'")
    yield database, user
    with admin.cursor() as cur:
        for host in ("localhost", "127.0.0.1"):
            cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
    admin.close()


@pytest.fixture
def pg_role(pg_admin: Any, pg_database: str, server_databases: Any) -> Any:
    """A PostgreSQL role WITH a password owning the warehouse database (the local server trusts
    every local connection: what is asserted there is what is shown and stored)."""
    import secrets as random

    role = f"dwetl_pw_{random.token_hex(4)}"
    pg_admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'")
    pg_admin.execute(f"ALTER DATABASE {pg_database} OWNER TO {role}")
    yield role
    # what the role owns or was granted goes first: the test's databases, dropped now
    server_databases.drop_all(wait=True)
    pg_admin.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.servers
def test_password_in_the_query_connects_and_is_never_shown_or_stored(
    tmp_path: Path, dwetl: Any, mysql_user: Any, pg_database: str, pg_role: str
) -> None:
    database, user = mysql_user
    source = f"mysql://{user}@127.0.0.1:3306/{database}?password={SECRET}"
    dw = f"postgresql://{pg_role}@localhost:5432/{pg_database}?password={SECRET}&sslmode=disable"
    log = tmp_path / "dwetl.log"
    env = {**FAST, "DWETL_SOURCE_URL": source, "DWETL_DW_URL": dw, "DWETL_LOG_FILE": str(log)}
    # MariaDB checks the password: a wrong one fails, so the right one is what connects
    wrong = dwetl("init", cwd=tmp_path, env={**env, "DWETL_SOURCE_URL": source + "x"})
    assert wrong.returncode == 1 and "Access denied" in wrong.stderr, wrong.stderr
    assert SECRET not in wrong.stdout + wrong.stderr
    userinfo = f"mysql://{user}:{SECRET}@127.0.0.1:3306/{database}"
    assert parse_url(userinfo, setting="test").connectorx_url == (
        parse_url(source, setting="test").connectorx_url
    )

    results = _commands(dwetl, tmp_path, env)

    for command, result in results:
        assert SECRET not in result.stdout + result.stderr, command
    shown = dict(results)
    assert f"mysql://{user}:***@127.0.0.1:3306/{database}" in shown["init"].stdout
    loaded = json.loads(shown["run --json"].stdout)["entities"]
    assert sum(e["inserted"] for e in loaded) > 300
    assert len(json.loads(shown["status --json"].stdout)["entities"]) == 9
    assert len(json.loads(shown["history --json"].stdout)) >= 2
    assert log.read_text(encoding="utf-8") and SECRET not in log.read_text(encoding="utf-8")
    stored = _ctl_text(pg_database)
    assert SECRET not in stored
    assert f"mysql://{user}:***@127.0.0.1:3306/{database}" in stored
    assert f"postgresql://{pg_role}:***@localhost:5432/{pg_database}?sslmode=disable" in stored


@pytest.mark.servers
@pytest.mark.parametrize("form", ["userinfo", "query", "passfile", "PGPASSWORD"])
def test_every_postgresql_password_form_connects_source_and_warehouse(
    tmp_path: Path, dwetl: Any, pg_database: str, pg_role: str, form: str, server_databases: Any
) -> None:
    from dwetl.sample import generate_sample, write_sample

    source_db = server_databases.new("postgresql").rsplit("/", 1)[1]
    admin_source = f"postgresql://postgres@localhost:5432/{source_db}"
    write_sample(generate_sample(200, 3, 0.0, legacy_bytes=False), admin_source)
    import psycopg

    with psycopg.connect(f"host=localhost user=postgres dbname={source_db}") as con:
        con.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg_role}")
    env = {**FAST, "DWETL_LOG_FILE": str(tmp_path / "dwetl.log")}

    def url(database: str) -> str:
        if form == "userinfo":
            return f"postgresql://{pg_role}:{SECRET}@localhost:5432/{database}"
        if form == "query":
            return f"postgresql://{pg_role}@localhost:5432/{database}?password={SECRET}"
        if form == "passfile":
            passfile = tmp_path / "pgpass"
            passfile.write_text(f"localhost:5432:*:{pg_role}:{SECRET}\n")
            passfile.chmod(0o600)
            return f"postgresql://{pg_role}@localhost:5432/{database}?passfile={passfile}"
        env["PGPASSWORD"] = SECRET
        return f"postgresql://{pg_role}@localhost:5432/{database}"

    env |= {"DWETL_SOURCE_URL": url(source_db), "DWETL_DW_URL": url(pg_database)}

    results = _commands(dwetl, tmp_path, env, full=False)

    for command, result in results:
        assert SECRET not in result.stdout + result.stderr, command
    assert SECRET not in (tmp_path / "dwetl.log").read_text(encoding="utf-8")
    stored = _ctl_text(pg_database)
    assert SECRET not in stored and f"{pg_role}@localhost" in stored.replace(":***@", "@")


def test_the_source_reader_gets_the_password_libpq_would_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"db:5432:erp:app:{SECRET}\n*:*:*:*:other\n")
    passfile.chmod(0o600)
    given = parse_url(f"postgresql://app@db/erp?passfile={passfile}&sslmode=disable", setting="x")
    # connectorx reads neither passfile nor PGPASSWORD: its URL carries what libpq would find
    assert given.connectorx_url == f"postgresql://app:{SECRET}@db:5432/erp?sslmode=disable"
    assert (
        given.masked
        == f"postgresql://app@db:5432/erp?passfile={quote(str(passfile), safe='')}&sslmode=disable"
    )
    monkeypatch.setenv("PGPASSWORD", "from-env")
    assert given.connectorx_url == "postgresql://app:from-env@db:5432/erp?sslmode=disable"
    query = parse_url(f"postgresql://app@db/erp?password={SECRET}&application_name=x", setting="x")
    assert (query.user, query.password, query.query) == (
        "app",
        SECRET,
        (("application_name", "x"),),
    )
    assert query.masked == "postgresql://app:***@db:5432/erp?application_name=x"
    assert SECRET not in repr(query) + str(query)
    passfile.chmod(0o644)  # libpq ignores a password file others can read
    monkeypatch.delenv("PGPASSWORD")
    assert given.connectorx_url == "postgresql://app@db:5432/erp?sslmode=disable"


def test_a_password_given_twice_is_one_line_without_it(tmp_path: Path, dwetl: Any) -> None:
    url = f"postgresql://app:{SECRET}@db/dw?password=other-{SECRET}"
    result = dwetl("init", "--dw", url, cwd=tmp_path)
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr
    assert "gives two different passwords" in result.stderr and result.stderr.count("\n") == 1


def test_history_masks_a_password_an_earlier_dwetl_stored(etl: Any, dwetl: Any) -> None:
    etl.init()
    leaked = f"postgresql://etl@erp:5432/erp?password={SECRET}&sslmode=require"
    etl.dw_execute("UPDATE ctl.etl_run SET source_url = %s", [leaked])
    for args in (["history"], ["history", "--json"], ["history", "1"], ["history", "1", "--json"]):
        result = dwetl(*args, "--dw", etl.dw_url, cwd=etl.folder)
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr, args
        if args != ["history"]:  # the table of runs shows no URL
            assert "postgresql://etl@erp:5432/erp?password=***" in result.stdout, args
