"""docs/configuration.md's GRANT statements are enough, and no more than needed: on a fresh
PostgreSQL source and warehouse, `init` as the owner role and `run` / `check` as the loader role
(reading the source as the read-only role) succeed; the loader cannot drop or delete."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.pairs("postgresql-postgresql")

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text("utf-8")
ADMIN = "host=localhost port=5432 user=postgres connect_timeout=5"


def grants(marker: str) -> list[str]:
    """The statements of the SQL block after `<!-- grants:<marker> -->` in the doc."""
    match = re.search(rf"<!-- grants:{marker} -->\s*```sql\n(.*?)```", DOC, re.DOTALL)
    assert match, marker
    return [s.strip() for s in match.group(1).split(";") if s.strip()]


def run_as(conninfo: str, statements: list[str], names: dict[str, str]) -> None:
    with psycopg.connect(conninfo, autocommit=True) as con:
        for statement in statements:
            for old, new in names.items():
                statement = re.sub(rf"\b{re.escape(old)}\b", new, statement)
            statement = re.sub(r"'<[a-z ]+password>'", "'not-used-with-trust-auth'", statement)
            con.execute(statement.encode())


def dwetl(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed console script, with only these dwetl settings in its environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DWETL_", "PG"))}
    return subprocess.run(
        [str(Path(sys.executable).with_name("dwetl")), *args],
        cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_init_and_run_with_only_the_documented_grants(etl):
    etl.sample(600, 31, 0.0)
    dw_db, src_db = etl.settings.dw.database, etl.settings.source.database
    tag = secrets.token_hex(3)
    roles = {r: f"{r}_{tag}" for r in ("dwetl_owner", "dwetl_loader", "erp_reader")}
    names = {**roles, "DATABASE dw": f"DATABASE {dw_db}", "DATABASE erp": f"DATABASE {src_db}"}
    url = "postgresql://{}@localhost:5432/{}"
    try:
        run_as(f"{ADMIN} dbname={dw_db}", grants("dw-admin"), names)
        run_as(f"{ADMIN} dbname={src_db}", grants("source-postgresql"), names)
        as_owner = {"DWETL_DW_URL": url.format(roles["dwetl_owner"], dw_db)}
        init = dwetl("init", cwd=etl.folder, env={**etl.env, **as_owner})
        assert init.returncode == 0, init.stdout + init.stderr
        owner_dsn = f"host=localhost port=5432 user={roles['dwetl_owner']} dbname={dw_db}"
        run_as(owner_dsn, grants("dw-owner"), names)

        as_loader = {
            "DWETL_DW_URL": url.format(roles["dwetl_loader"], dw_db),
            "DWETL_SOURCE_URL": url.format(roles["erp_reader"], src_db),
        }
        done = dwetl("run", "--json", cwd=etl.folder, env=as_loader)
        assert done.returncode == 0, done.stdout + done.stderr
        summary = json.loads(done.stdout)
        assert summary["status"] == "success"
        assert all(e["inserted"] > 0 for e in summary["entities"]), summary["entities"]
        assert dwetl("check", cwd=etl.folder, env=as_loader).returncode == 0

        loader_dsn = f"host=localhost port=5432 user={roles['dwetl_loader']} dbname={dw_db}"
        with psycopg.connect(loader_dsn, autocommit=True) as loader:
            (superuser,), *_ = loader.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchall()
            assert superuser is False
            for forbidden in ("DELETE FROM dw.fact_vendas", "DROP TABLE dw.fact_metas"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    loader.execute(forbidden)
    finally:
        for db in (dw_db, src_db):
            with psycopg.connect(f"{ADMIN} dbname={db}", autocommit=True) as admin:
                admin.execute(f"DROP OWNED BY {', '.join(roles.values())}")
        with psycopg.connect(f"{ADMIN} dbname=postgres", autocommit=True) as admin:
            for role in roles.values():
                admin.execute(f"DROP ROLE IF EXISTS {role}")
