"""The runbook cannot drift: every `$ ` command of docs/operations.md runs here, in order.

Each fenced ```console block is a list of shell commands (lines starting with `$ `; other lines are
sample output, not checked). A command is expected to exit 0 unless its line ends with a comment
`# exit N`. All commands run in one bash session (so `cd` and `export` carry over), starting in a
fresh copy of the checkout (`~/dwetl`, HOME being a tmp folder) that the runbook installs itself,
with the warehouse and source in tmp files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from console_blocks import Command, console_commands, exit_failure, run_commands

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "operations.md"
SECRET = "s3cret-runbook"  # the runbook's example password: it must never be printed


def test_parser_reads_commands_and_exit_annotations() -> None:
    doc = "text\n```console\n$ dwetl run  # exit 3\noutput line\n$ echo hi\n```\n"
    assert console_commands(doc) == [
        Command(3, "dwetl run  # exit 3", 3, "output line"),
        Command(5, "echo hi", 0, ""),
    ]


def _copy_checkout(target: Path) -> None:
    # what a fresh clone has: the tracked files and the new ones not ignored (no .venv, no data)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _environment(home: Path) -> dict[str, str]:
    uv = shutil.which("uv")
    assert uv, "the runbook installs dwetl with uv, which is not on the PATH"
    venv_bin = str(REPO / ".venv" / "bin")
    # the runbook must put dwetl on the PATH itself: drop this checkout's venv from it
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWETL_", "VIRTUAL_ENV"))}
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    work = home / "etl"
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join([str(Path(uv).parent), *path]),
        # uv installs from its cache, never from the network, into the copy's own .venv
        UV_CACHE_DIR=os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv"),
        UV_OFFLINE="1",
        # the files the runbook's working folder uses by default, named explicitly so that a
        # stray dwetl.toml can never point the test at a real warehouse
        DWETL_SOURCE_URL=f"sqlite:///{work}/data/oltp.sqlite",
        DWETL_DW_URL=f"duckdb:///{work}/data/warehouse.duckdb",
        NO_COLOR="1",
        COLUMNS="120",
    )
    return env


def test_every_runbook_command_exits_as_documented(tmp_path: Path) -> None:
    commands = console_commands(RUNBOOK.read_text(encoding="utf-8"))
    assert len(commands) >= 20, "the runbook lost its commands"
    home = tmp_path / "home"
    checkout = home / "dwetl"
    checkout.mkdir(parents=True)
    _copy_checkout(checkout)
    ran = run_commands(
        commands, cwd=checkout, env=_environment(home), workdir=tmp_path, timeout=1800
    )

    failures = []
    for cmd, result in zip(commands, ran, strict=True):
        failure = exit_failure(cmd, result, "the runbook")
        if failure:
            failures.append(failure)
        if result.rc is not None and SECRET in result.output:
            failures.append(f"line {cmd.line}: `{cmd.text}` printed the password")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("doc", ["operations.md", "architecture.md"])
def test_docs_name_only_modules_that_exist(doc: str) -> None:
    text = (REPO / "docs" / doc).read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:src/dwetl|transforms|sql)/[\w/.-]+)`", text))
    assert named, f"{doc} names no module"
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert not missing, f"{doc} names files that do not exist: {missing}"
