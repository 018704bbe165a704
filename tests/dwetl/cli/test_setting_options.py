"""The commands' setting options are the settings' declaration: the option each setting names,
on the commands it lists, with its help."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from dwetl.cli.app import app
from dwetl.core.config import SETTINGS
from dwetl.core.errors import UsageError

#: options spelled as a setting's that are not it: `demo` takes files of its own under --source
#: and --dw, never the settings; `check --source` is a flag (check the source instead)
NOT_SETTINGS = {("demo", "--source"), ("demo", "--dw"), ("check", "--source")}


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    """Every command of the CLI by its full name ("rollout enable")."""
    found = {}
    for name, command in getattr(group, "commands", {}).items():
        full = f"{prefix}{name}"
        found[full] = command
        found |= _commands(command, f"{full} ")
    return found


def test_each_setting_option_is_on_the_commands_its_declaration_lists() -> None:
    commands = _commands(typer.main.get_command(app))
    by_option = {s.option: s for s in SETTINGS.values()}
    offered: dict[str, set[str]] = {name: set() for name in SETTINGS}
    for full, command in commands.items():
        for param in command.params:
            for opt in param.opts:
                if opt in by_option and (full, opt) not in NOT_SETTINGS:
                    setting = by_option[opt]
                    offered[setting.name].add(full.split()[0])
                    assert param.help == setting.option_help, (full, opt)
    assert offered == {name: set(s.commands) for name, s in SETTINGS.items()}


def test_a_setting_option_out_of_bounds_is_refused_naming_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --max-reject-ratio went straight to the run, unchecked; now it is bounded as its variable
    monkeypatch.chdir(tmp_path)
    for command in (["run"], ["rollout", "enable", "dim_loja"]):
        result = CliRunner().invoke(app, [*command, "--max-reject-ratio", "2"])
        assert isinstance(result.exception, UsageError), result.output
        assert str(result.exception) == "--max-reject-ratio: must be between 0 and 1, got 2.0"
    assert not (tmp_path / "data").exists()  # refused before anything was opened
