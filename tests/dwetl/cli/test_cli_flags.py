"""Every command's help shows its flags as flags (`--json`, never `--json <bool>`), and the
flags work as written there."""

from __future__ import annotations

import json

import pytest

COMMANDS = (
    ("check",),
    ("contract",),
    ("demo",),
    ("history",),
    ("init",),
    ("rejects",),
    ("rollout",),
    ("rollout", "status"),
    ("rollout", "enable"),
    ("rollout", "disable"),
    ("run",),
    ("sample",),
    ("status",),
    ("version",),
)


@pytest.mark.parametrize("command", [(), *COMMANDS], ids=lambda c: " ".join(c) or "dwetl")
def test_help_shows_no_bool_metavar(dwetl, tmp_path, command):
    done = dwetl(*command, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "<bool>" not in done.stdout
    assert "--help" in done.stdout


def test_every_command_is_in_the_list(dwetl, tmp_path):
    listed = dwetl("--help", cwd=tmp_path).stdout
    names = {line.split()[0] for line in listed.split("Commands:")[1].splitlines() if line.strip()}
    assert names == {c[0] for c in COMMANDS}


def test_json_flag_works_on_the_read_commands(etl, dwetl):
    etl.sample(300, 1, 0.0)
    etl.init()
    for command in (("status",), ("history",), ("rejects",), ("check",), ("rollout", "status")):
        done = dwetl(*command, "--json", cwd=etl.folder, env=etl.env)
        assert done.returncode == 0, (command, done.stderr)
        json.loads(done.stdout)
    value = dwetl("status", "--json", "true", cwd=etl.folder, env=etl.env)
    assert value.returncode == 2  # a flag takes no value
