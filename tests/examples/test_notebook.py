"""The analyst notebook runs top to bottom on the project's own Python, with no database, from
any folder; it is committed executed (so that it reads on GitHub), with the outputs a fresh run
gives. After changing it, run it again in place:
`uv run jupyter execute --inplace examples/transforms.ipynb`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KERNEL = "dwetl-project-venv"


@pytest.fixture
def project_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for this interpreter (the project venv), so a fresh clone needs no setup."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "dwetl (project venv)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return KERNEL


def _text_outputs(nb: nbformat.NotebookNode) -> str:
    parts: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])
            elif "data" in out:
                parts.append(str(out["data"].get("text/plain", "")))
    return "\n".join(parts)


def test_notebook_runs_from_any_folder_and_finds_the_real_rejects(
    project_kernel: str, tmp_path: Path
) -> None:
    committed = nbformat.read(EXAMPLES / "transforms.ipynb", as_version=4)
    nb = nbformat.read(EXAMPLES / "transforms.ipynb", as_version=4)
    elsewhere = tmp_path / "elsewhere"  # not the repository: the DDL is found all the same
    elsewhere.mkdir()
    client = NotebookClient(
        nb,
        kernel_name=project_kernel,
        timeout=300,
        resources={"metadata": {"path": str(elsewhere)}},
    )
    client.execute()  # raises CellExecutionError naming the cell if any cell fails

    out = _text_outputs(nb)
    assert "6 valid, 4 rejected" in out
    assert "would be rejected before repair" in out
    for reason in ("CK_DIM_DESCONTO_tipo", "CK_DIM_DESCONTO_valor", "CK_DIM_DESCONTO_vigencia"):
        assert reason in out
    # the outputs in the repository are the ones the notebook gives today
    assert _text_outputs(committed) == out


def test_notebook_is_committed_executed() -> None:
    nb = nbformat.read(EXAMPLES / "transforms.ipynb", as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells
    # run top to bottom once, in order
    assert [c.execution_count for c in code_cells] == list(range(1, len(code_cells) + 1))
    silent = [c for c in code_cells if not c.outputs]
    assert len(silent) <= 2, "most cells show what they compute"
    assert nb.metadata.kernelspec.name == "python3"  # what a reader's Jupyter has
