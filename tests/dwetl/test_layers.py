"""The CLI is the only layer that prints: the runner, the operations and the transforms return
what they did (and log it); `dwetl.cli` turns it into text. import-linter keeps rich and typer
out of the other layers (pyproject.toml); this test keeps their prints out."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: calls that write to the console: print(), typer.echo / secho, sys.stdout / stderr .write,
#: a rich Console
PRINTING = ("print", "pprint", "echo", "secho", "Console")


def printing_calls(source: str) -> list[str]:
    """`line: call(...)` for each call in `source` that writes to the console."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        if called.rsplit(".", 1)[-1] in PRINTING or called.endswith(
            ("stdout.write", "stderr.write")
        ):
            found.append(f"{node.lineno}: {called}(...)")
    return found


def test_printing_calls_are_found() -> None:
    source = "import sys\nprint(1)\nsys.stderr.write('x')\ntyper.echo('y')\nConsole(stderr=True)\n"
    assert len(printing_calls(source)) == 4
    assert printing_calls("log.info('x')\n'print(1)'\n") == []


def test_only_the_cli_prints() -> None:
    cli = REPO / "src" / "dwetl" / "cli"
    modules = [*(REPO / "src" / "dwetl").rglob("*.py"), *(REPO / "transforms").rglob("*.py")]
    outside = [p for p in modules if cli not in p.parents and p.name != "__main__.py"]
    assert len(outside) > 50
    found = [
        f"{p.relative_to(REPO)}:{call}"
        for p in outside
        for call in printing_calls(p.read_text(encoding="utf-8"))
    ]
    assert found == []
