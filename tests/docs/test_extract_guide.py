"""The extract guide cannot drift: docs/extract.md's worked example runs here, end to end.

Every `$ ` command of its ```console blocks runs in order in one bash session (as the runbook's;
tests/docs/console_blocks.py), in a copy of examples/foreign_erp/ under a tmp folder, with the
project's own `dwetl` and `python` first on the PATH (no install: the guide assumes dwetl's
environment is active). A command must exit 0 unless its line ends with `# exit N`. Then the
example's promises are checked: the SQL the guide shows is the shipped files', the quarantine
holds the rows the guide names, and the warehouse's money equals the source's to the cent.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import duckdb
from console_blocks import Command, console_commands, exit_failure, fenced_blocks, run_commands

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "extract.md"
EXAMPLE = REPO / "examples" / "foreign_erp"

# a per-key line of `dwetl rejects`: "2  fact_vendas  5019002  CK_...: ..."
_REJECT_LINE = re.compile(r"^\s*\d+\s+((?:dim|fact)_\w+)\s+(\S+)\s+\S+", re.MULTILINE)


def test_parser_reads_commands_outputs_and_exit_annotations() -> None:
    doc = "text\n```console\n$ dwetl run  # exit 3\nsummary\n$ echo hi\n```\n"
    assert console_commands(doc) == [
        Command(3, "dwetl run  # exit 3", 3, "summary"),
        Command(5, "echo hi", 0, ""),
    ]


def test_the_guide_shows_every_shipped_sql_file_as_it_is() -> None:
    blocks = fenced_blocks(GUIDE.read_text(encoding="utf-8"), "sql")
    shown = {block.text.strip() for block in blocks}
    files = sorted([*EXAMPLE.glob("sql/*.sql"), *EXAMPLE.glob("checks/*net_sales*.sql")])
    assert len(files) == 14
    differ = [f.relative_to(EXAMPLE) for f in files if f.read_text("utf-8").strip() not in shown]
    assert not differ, f"docs/extract.md does not show these files as they are: {differ}"


def test_the_guide_names_only_files_that_exist() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:src/dwetl|transforms|sql|examples|docs|tests)/[\w/.-]+)`", text))
    assert named, "docs/extract.md names no file"
    missing = sorted(p for p in named if not (REPO / p).exists() and not (EXAMPLE / p).exists())
    assert not missing, f"docs/extract.md names files that do not exist: {missing}"


def test_the_required_values_the_guide_lists_are_the_ddls() -> None:
    # §1 lists, per dimension, what its CK_*_obrigatorio CHECK requires of a source row
    ddl = (REPO / "sql" / "ddl" / "003_dimensions.sql").read_text(encoding="utf-8")
    required = {
        column
        for check in re.findall(
            r"CK_DIM_(?!DATA)\w+_obrigatorio CHECK \(inferido OR (.*)\),?$", ddl, re.M
        )
        for column in re.findall(r"(\w+) IS NOT NULL", check)
    }
    text = GUIDE.read_text(encoding="utf-8")
    paragraph = text[text.index("**Required values.**") : text.index("**Domains.**")]
    assert set(re.findall(r"`(\w+)`", paragraph)) - {"NOT"} == required


def _environment(home: Path) -> dict[str, str]:
    venv_bin = REPO / ".venv" / "bin"
    assert (venv_bin / "dwetl").exists(), "the project's environment has no dwetl: uv sync"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWETL_", "VIRTUAL_ENV"))}
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join([str(venv_bin), env.get("PATH", "")]),
        VIRTUAL_ENV=str(REPO / ".venv"),
        NO_COLOR="1",
        COLUMNS="100",
    )
    return env


def _aliases(extract: Path) -> list[str]:
    """The column aliases of an extract's last top-level SELECT list, in order."""
    lines = extract.read_text("utf-8").splitlines()
    start = max(i for i, line in enumerate(lines) if line.strip() == "SELECT")
    aliases = []
    for line in lines[start + 1 :]:
        if re.match(r"(FROM|WHERE)\b", line):
            break
        match = re.search(r"\bAS\s+(\w+),?\s*$", line)
        if match:
            aliases.append(match.group(1))
    return aliases


def _source_net_cents(source: Path) -> int:
    with sqlite3.connect(source) as con:
        (cents,) = con.execute(
            "SELECT SUM(qty * unit_price_cents - discount_cents) FROM order_lines"
        ).fetchone()
    return int(cents)


def test_the_worked_example_loads_and_reconciles_to_the_cent(tmp_path: Path) -> None:
    commands = console_commands(GUIDE.read_text(encoding="utf-8"))
    assert any(c.text.startswith("dwetl run") for c in commands), "the guide lost its load"
    home = tmp_path / "home"
    checkout = home / "dwetl"
    shutil.copytree(
        EXAMPLE,
        checkout / "examples" / "foreign_erp",
        ignore=shutil.ignore_patterns("data", "__pycache__"),
    )
    ran = run_commands(
        commands, cwd=checkout, env=_environment(home), workdir=tmp_path, timeout=600
    )
    outputs = [result.output for result in ran]

    failures = []
    for cmd, result in zip(commands, ran, strict=True):
        failure = exit_failure(cmd, result, "the guide")
        if failure:
            failures.append(failure)
        elif (
            result.rc is not None
            and cmd.text.startswith("python query.py")
            and cmd.output
            and result.output.strip() != cmd.output.strip()
        ):
            # the totals the guide prints must be the ones the example gives
            failures.append(f"line {cmd.line}: `{cmd.text}` printed\n{result.output}")
    assert not failures, "\n".join(failures)

    # the quarantine held exactly the rows the guide names, and the fix closed them
    rejects = [i for i, c in enumerate(commands) if c.text.startswith("dwetl rejects")]
    assert len(rejects) == 2
    first, last = rejects
    named = set(_REJECT_LINE.findall(commands[first].output))
    assert named == {("dim_produto", "20"), ("fact_vendas", "5019002")}
    assert set(_REJECT_LINE.findall(outputs[first])) == named
    assert outputs[last].strip() == commands[last].output.strip() == "no rejects"

    # check --source found, before any load, the two rows the guide names
    (check,) = [
        i
        for i, c in enumerate(commands)
        if c.text.startswith("dwetl check --source --sql-dir sql ")
    ]
    assert "dim_produto.sql: column categoria" in outputs[check]
    assert "categoria='Garden'" in outputs[check]
    assert "fact_vendas.itens.sql" in outputs[check]
    assert "valor_desconto='999.00'" in outputs[check]

    # the filled-in files return the template's columns, in its order
    example = checkout / "examples" / "foreign_erp"
    drafts = sorted((example / "draft").glob("*.sql"))
    assert len(drafts) == 12, "the guide's `dwetl contract --template draft` wrote no draft"
    for draft in drafts:
        wanted = re.findall(r"^\s*NULL AS (\w+)", draft.read_text("utf-8"), re.MULTILINE)
        assert _aliases(example / "sql" / draft.name) == wanted, draft.name

    # every cent of the source is in the warehouse, now that nothing is quarantined
    folder = checkout / "examples" / "foreign_erp" / "data"
    expected = _source_net_cents(folder / "erp.sqlite")
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        row = con.execute(
            "SELECT SUM(valor_liquido), COUNT(*), "
            "(SELECT COUNT(*) FROM ctl.etl_reject WHERE resolved_run_id IS NULL AND applied) "
            "FROM dw.fact_vendas"
        ).fetchone()
    assert row is not None
    loaded, lines, still_open = row
    assert (Decimal(loaded) * 100, lines, still_open) == (Decimal(expected), 43, 0)
    # March: the guide's 5,236.83 with line 5019002's -899.10 replaced by its fixed 89.91
    assert expected == 531253 + 360683 + (523683 + 89910 + 8991)
