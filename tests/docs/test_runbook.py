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
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "operations.md"
SECRET = "s3cret-runbook"  # the runbook's example password: it must never be printed

_BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


@dataclass(frozen=True)
class Command:
    """One `$ ` line of the runbook: the shell text and the exit code it documents."""

    line: int
    text: str
    exit_code: int


def runbook_commands(markdown: str) -> list[Command]:
    """Every `$ ` command of every ```console block, with its documented exit code."""
    commands: list[Command] = []
    for block in _BLOCK.finditer(markdown):
        first_line = markdown.count("\n", 0, block.start(1)) + 1
        for offset, raw in enumerate(block.group(1).splitlines()):
            if not raw.startswith("$ "):
                continue
            text = raw[2:]
            match = _EXIT.search(text)
            expected = int(match.group(1)) if match else 0
            commands.append(Command(first_line + offset, text, expected))
    return commands


def _script(commands: list[Command], outdir: Path) -> str:
    # One session, each command's output kept apart; the exit code goes to a file per command.
    lines = ["set +e"]
    for i, cmd in enumerate(commands):
        out = shlex.quote(str(outdir / f"{i}.out"))
        rc = shlex.quote(str(outdir / f"{i}.rc"))
        lines.append(f"{{ {cmd.text}\n}} >{out} 2>&1 </dev/null")
        lines.append(f"echo $? >{rc}")
    return "\n".join(lines) + "\n"


def test_parser_reads_commands_and_exit_annotations() -> None:
    doc = "text\n```console\n$ dwetl run  # exit 3\noutput line\n$ echo hi\n```\n"
    assert runbook_commands(doc) == [
        Command(3, "dwetl run  # exit 3", 3),
        Command(5, "echo hi", 0),
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
    commands = runbook_commands(RUNBOOK.read_text(encoding="utf-8"))
    assert len(commands) >= 20, "the runbook lost its commands"
    home = tmp_path / "home"
    checkout = home / "dwetl"
    checkout.mkdir(parents=True)
    _copy_checkout(checkout)
    outdir = tmp_path / "out"
    outdir.mkdir()
    script = tmp_path / "runbook.sh"
    script.write_text(_script(commands, outdir), encoding="utf-8")
    subprocess.run(
        ["bash", str(script)], cwd=checkout, env=_environment(home), timeout=1800, check=False
    )

    failures = []
    for i, cmd in enumerate(commands):
        rc_file = outdir / f"{i}.rc"
        output = (outdir / f"{i}.out").read_text(encoding="utf-8", errors="replace")
        if not rc_file.exists():
            failures.append(f"line {cmd.line}: `{cmd.text}` never ran")
            continue
        rc = int(rc_file.read_text().strip())
        if rc != cmd.exit_code:
            tail = "\n    ".join(output.strip().splitlines()[-8:])
            failures.append(
                f"line {cmd.line}: `{cmd.text}` exited {rc}, the runbook says {cmd.exit_code}"
                f"\n    {tail}"
            )
        if SECRET in output:
            failures.append(f"line {cmd.line}: `{cmd.text}` printed the password")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("doc", ["operations.md", "architecture.md"])
def test_docs_name_only_modules_that_exist(doc: str) -> None:
    text = (REPO / "docs" / doc).read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:src/dwetl|transforms|sql)/[\w/.-]+)`", text))
    assert named, f"{doc} names no module"
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert not missing, f"{doc} names files that do not exist: {missing}"
