"""The run's live progress: drawn on a terminal (or where FORCE_COLOR / TTY_COMPATIBLE say so,
as rich reads them), nothing elsewhere."""

from __future__ import annotations

import pytest

from dwetl.cli.progress import live_progress


def test_no_terminal_no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    with live_progress() as progress:
        assert progress is None


@pytest.mark.parametrize(("variable", "value", "drawn"), [
    ("FORCE_COLOR", "1", True), ("TTY_COMPATIBLE", "1", True), ("TTY_COMPATIBLE", "0", False),
])  # fmt: skip
def test_the_variables_rich_reads_decide_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    drawn: bool,
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.setenv(variable, value)
    with live_progress() as progress:
        assert (progress is not None) is drawn
        if progress is not None:
            progress("dim_loja", "done:success")
    assert ("dim_loja: success" in capsys.readouterr().err) is drawn
