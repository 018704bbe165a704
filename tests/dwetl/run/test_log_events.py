"""`dwetl --log-format json run`: an event per phase and per entity, counts as in the summary."""

from __future__ import annotations

import json


def test_json_log_has_each_entity_phases_and_counts_of_the_summary(tmp_path, dwetl):
    demo = dwetl("demo", "--rows", "600", "--seed", "5", cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr

    run = dwetl("--log-format", "json", "run", "--entity", "all", "--full", "--json", cwd=tmp_path)
    assert run.returncode in (0, 3), run.stderr
    summary = json.loads(run.stdout)
    events = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]

    for entity in summary["entities"]:
        name = entity["entity"]
        mine = [e for e in events if e.get("entity") == name]
        phases = {e["phase"] for e in mine if "phase" in e}
        assert {"extract", "transform", "validate", "load", "merge", "commit"} <= phases, name
        assert all(e["run_id"] == summary["run_id"] for e in mine), name
        (done,) = [e for e in mine if "status" in e]
        assert done["status"] == entity["status"], name
        for count in ("extracted", "folded", "rejected", "inserted", "updated", "unchanged"):
            assert done["counts"][count] == entity[count], (name, count)


def test_human_console_log_has_one_line_per_entity_not_per_phase(tmp_path, dwetl):
    demo = dwetl("demo", "--rows", "600", "--seed", "5", cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    log_file = tmp_path / "run.log"

    quiet = dwetl("run", "--full", cwd=tmp_path)  # by default the console shows no INFO event
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in quiet.stderr.splitlines() if "entity=" in line]

    run = dwetl("-v", "--log-file", str(log_file), "run", "--full", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    console = [line for line in run.stderr.splitlines() if "entity=" in line]
    assert len(console) == 9 and all("status=" in line for line in console)
    in_file = log_file.read_text(encoding="utf-8")
    assert 'phase="merge"' in in_file  # the file keeps every event
