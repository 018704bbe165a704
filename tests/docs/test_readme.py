"""The README's promises: CI runs exactly its test command, and its links lead somewhere."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from dwetl.core.config import SETTINGS

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


def test_readme_names_only_documents_that_exist() -> None:
    # a document named in backticks is a promise too (the README once named a DESIGN.md that
    # the repository does not have)
    for name in re.findall(r"`([\w/.-]+\.md)`", README):
        assert (REPO / name).exists(), name


def test_readme_python_snippet_queries_the_demo_warehouse(tmp_path: Path) -> None:
    (snippet,) = [b for b in re.findall(r"```python\n(.*?)```", README, re.DOTALL)]
    assert 'duckdb.connect("data/warehouse.duckdb"' in snippet
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    dwetl = Path(sys.executable).with_name("dwetl")
    demo = subprocess.run(
        [str(dwetl), "demo", "--rows", "600"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=600, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr

    def query(code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    done = query(snippet)
    assert done.returncode == 0, done.stderr
    assert "vendas_liquidas" in done.stdout
    assert len(re.findall(r"│\s+20\d\d\s+│", done.stdout)) == 5  # five stores' months
    # why the default is no longer data/dw.duckdb: opened as it is, its catalog is `dw`
    shutil.copyfile(tmp_path / "data" / "warehouse.duckdb", tmp_path / "data" / "dw.duckdb")
    clash = query(snippet.replace("data/warehouse.duckdb", "data/dw.duckdb"))
    assert clash.returncode == 1 and "Ambiguous reference" in clash.stderr


def test_configuration_doc_lists_every_environment_variable() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for setting in SETTINGS.values():  # the variables derive from the settings' declaration
        assert f"`{setting.env}`" in doc, setting.env
