"""The global --log-format / --log-file options: JSON events for log shippers, never a password."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dwetl.core import logs, masking

PASSWORD = "s3cret-log"
# Port 1 on localhost refuses at once: a real, fast connection failure with a password in the URL.
UNREACHABLE = f"postgresql://etl:{PASSWORD}@127.0.0.1:1/erp"
RETRY_FAST = {"DWETL_CONNECT_ATTEMPTS": "2", "DWETL_CONNECT_BACKOFF_SECONDS": "0.01"}


@pytest.fixture
def restore_logging() -> Iterator[None]:
    yield
    logs.configure()
    logs.setup_logging()


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_log_to_stderr_and_file_one_object_per_event_no_password(
    tmp_path: Path, dwetl: Any
) -> None:
    log_file = tmp_path / "logs" / "dwetl.jsonl"
    result = dwetl(
        "--log-format", "json", "--log-file", str(log_file),
        "init", "--dw", f"duckdb:///{tmp_path}/w.duckdb", "--source", UNREACHABLE,
        cwd=tmp_path, env=RETRY_FAST,
    )  # fmt: skip
    assert result.returncode == 1  # init refuses an unreachable source
    in_file = _json_lines(log_file.read_text(encoding="utf-8"))
    on_stderr = _json_lines(
        "\n".join(line for line in result.stderr.splitlines() if line.startswith("{"))
    )
    assert in_file == on_stderr
    retry = [e for e in in_file if "attempt 1 of 2" in e["message"]]
    assert len(retry) == 1
    assert retry[0]["level"] == "warning" and retry[0]["logger"] == "dwetl"
    assert "etl:***@127.0.0.1:1" in retry[0]["message"]
    for text in (result.stdout, result.stderr, log_file.read_text(encoding="utf-8")):
        assert PASSWORD not in text


def test_log_settings_from_the_environment_human_lines_in_the_file(
    tmp_path: Path, dwetl: Any
) -> None:
    log_file = tmp_path / "dwetl.log"
    env = {**RETRY_FAST, "DWETL_LOG_FILE": str(log_file)}
    result = dwetl(
        "init", "--dw", f"duckdb:///{tmp_path}/w.duckdb", "--source", UNREACHABLE,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 1
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert any("WARNING dwetl: source postgresql://etl:***@" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)
    assert PASSWORD not in log_file.read_text(encoding="utf-8")


def test_an_unknown_log_format_is_bad_usage(tmp_path: Path, dwetl: Any) -> None:
    result = dwetl("--log-format", "xml", "version", cwd=tmp_path)
    assert result.returncode == 2
    assert "xml" in result.stderr


@pytest.mark.parametrize("where", ["a-file/dwetl.log", "a-folder"])
def test_a_log_file_that_cannot_be_opened_is_one_line_naming_it(
    tmp_path: Path, dwetl: Any, restore_logging: None, where: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "a-folder").mkdir()
    result = dwetl("--log-file", str(tmp_path / where), "version", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: log file {tmp_path / where}: cannot be opened")
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_event_fields_become_json_keys_and_secrets_are_masked(restore_logging: None) -> None:
    masking.remember(PASSWORD)
    stream = io.StringIO()
    logs.setup_logging(fmt="json", stream=stream)
    logs.event(
        "entity loaded",
        run_id=7,
        entity="dim_loja",
        phase="merge",
        status="partial",
        counts={"extracted": 10, "inserted": 8, "rejected": 2},
        seconds=0.25,
    )
    logs.event("entity failed", level=logging.ERROR, entity="dim_cliente", status=f"x {PASSWORD}")
    first, second = _json_lines(stream.getvalue())
    assert first["message"] == "entity loaded"
    assert first["run_id"] == 7 and first["entity"] == "dim_loja" and first["phase"] == "merge"
    assert first["counts"] == {"extracted": 10, "inserted": 8, "rejected": 2}
    assert first["seconds"] == 0.25
    assert second["level"] == "error" and second["status"] == "x ***"
    assert PASSWORD not in stream.getvalue()


def test_event_fields_on_a_human_line_and_unknown_fields_refused(restore_logging: None) -> None:
    stream = io.StringIO()
    logs.configure("human", verbose=True)  # `dwetl -v`: INFO events on the console too
    logs.setup_logging(stream=stream)
    logs.event("merged", entity="dim_loja", counts={"inserted": 3})
    assert stream.getvalue().rstrip().endswith('merged entity="dim_loja" counts={"inserted": 3}')
    with pytest.raises(TypeError, match="colour"):
        logs.event("x", colour="red")


def test_configure_sets_what_a_command_s_own_setup_uses(
    tmp_path: Path, restore_logging: None
) -> None:
    log_file = tmp_path / "a.log"
    logs.configure("json", log_file)
    logs.setup_logging(stream=io.StringIO())  # what every command calls, with no arguments
    logging.getLogger("dwetl").info("hello")
    assert _json_lines(log_file.read_text(encoding="utf-8"))[-1]["message"] == "hello"
