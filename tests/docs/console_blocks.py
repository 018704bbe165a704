"""Run a Markdown document's ```console blocks: the `$ ` commands, their outputs and exit codes.

A ```console block is a list of shell commands (lines starting with `$ `); the lines under a
command, up to the next one, are its sample output. A command is expected to exit 0 unless its
line ends with a comment `# exit N`. All of a document's commands run in one bash session (so `cd`
and `export` carry over), each one's output and exit code kept apart.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, its text and the line of the document it starts on."""

    language: str
    text: str
    first_line: int


@dataclass(frozen=True)
class Command:
    """One `$ ` line of a document, its documented exit code and the sample output under it."""

    line: int
    text: str
    exit_code: int
    output: str


@dataclass(frozen=True)
class Ran:
    """What one command did: its exit code (None if it never ran) and its output."""

    rc: int | None
    output: str


def fenced_blocks(markdown: str, language: str) -> list[Block]:
    """The fenced blocks of the document in the given language, in order."""
    return [
        Block(block.group(1), block.group(2), markdown.count("\n", 0, block.start(2)) + 1)
        for block in _BLOCK.finditer(markdown)
        if block.group(1) == language
    ]


def console_commands(markdown: str) -> list[Command]:
    """Every `$ ` command of every ```console block, with its exit code and sample output."""
    commands: list[Command] = []
    for block in fenced_blocks(markdown, "console"):
        current: tuple[int, str] | None = None
        output: list[str] = []
        for offset, raw in enumerate([*block.text.splitlines(), "$ "]):
            if raw.startswith("$ "):
                if current is not None:
                    match = _EXIT.search(current[1])
                    code = int(match.group(1)) if match else 0
                    commands.append(Command(current[0], current[1], code, "\n".join(output)))
                current, output = (block.first_line + offset, raw[2:]), []
            else:
                output.append(raw)
    return commands


def _script(commands: list[Command], outdir: Path) -> str:
    """One bash session running the commands, each one's output and exit code to its own file."""
    lines = ["set +e"]
    for i, cmd in enumerate(commands):
        out = shlex.quote(str(outdir / f"{i}.out"))
        rc = shlex.quote(str(outdir / f"{i}.rc"))
        lines.append(f"{{ {cmd.text}\n}} >{out} 2>&1 </dev/null")
        lines.append(f"echo $? >{rc}")
    return "\n".join(lines) + "\n"


def run_commands(
    commands: list[Command], *, cwd: Path, env: dict[str, str], workdir: Path, timeout: float
) -> list[Ran]:
    """Run the commands in order in one bash session in cwd; their scratch files go in workdir."""
    outdir = workdir / "out"
    outdir.mkdir()
    script = workdir / "console.sh"
    script.write_text(_script(commands, outdir), encoding="utf-8")
    subprocess.run(["bash", str(script)], cwd=cwd, env=env, timeout=timeout, check=False)
    ran = []
    for i in range(len(commands)):
        out, rc = outdir / f"{i}.out", outdir / f"{i}.rc"
        output = out.read_text(encoding="utf-8", errors="replace") if out.exists() else ""
        ran.append(Ran(int(rc.read_text().strip()) if rc.exists() else None, output))
    return ran


def exit_failure(cmd: Command, ran: Ran, document: str) -> str | None:
    """Why the command did not exit as `document` (e.g. "the runbook") says, or None if it did."""
    if ran.rc is None:
        return f"line {cmd.line}: `{cmd.text}` never ran"
    if ran.rc != cmd.exit_code:
        tail = "\n    ".join(ran.output.strip().splitlines()[-8:])
        return (
            f"line {cmd.line}: `{cmd.text}` exited {ran.rc}, {document} says {cmd.exit_code}"
            f"\n    {tail}"
        )
    return None
