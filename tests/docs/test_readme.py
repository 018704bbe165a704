"""The README's promises: CI runs exactly its test command, and its links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


def code_blocks(markdown: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```[a-z]*\n(.*?)```", markdown, re.DOTALL)]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    blocks = code_blocks(README)
    assert blocks[:2] == ["uv run dwetl demo", "uv run pytest"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == blocks[1]


def test_readme_and_configuration_links_exist() -> None:
    for doc in (README, (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")):
        for target in re.findall(r"\]\(([^)#]+)\)", doc):
            assert (REPO / target).exists() or (REPO / "docs" / target).exists(), target


def test_configuration_doc_lists_every_environment_variable() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    source = (REPO / "src" / "dwetl" / "config.py").read_text(encoding="utf-8")
    for variable in sorted(set(re.findall(r'"(DWETL_[A-Z_]+)"', source))):
        assert f"`{variable}`" in doc, variable
