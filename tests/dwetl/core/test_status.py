"""The status types hold exactly the strings the warehouse's CHECKs accept."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from dwetl.core.status import (
    EntityStatus,
    RecordedEntityStatus,
    RunOutcome,
    RunStatus,
    ShownRunStatus,
)
from dwetl.run.summary import EXIT_CODES, entity_status
from transforms.constraints import constraint_sets_from_ddl
from transforms.domains import allowed_values

DDL = Path(__file__).resolve().parents[3] / "sql" / "ddl"


def test_statuses_are_the_values_the_ctl_tables_accept() -> None:
    sets = constraint_sets_from_ddl(
        [p.read_text(encoding="utf-8") for p in sorted(DDL.glob("*.sql"))]
    )
    assert set(allowed_values(sets["ctl.etl_run"])["status"]) == set(get_args(RunStatus))
    recorded = set(get_args(RecordedEntityStatus))
    assert set(allowed_values(sets["ctl.etl_run_entity"])["status"]) == recorded
    assert set(allowed_values(sets["ctl.etl_control"])["last_status"]) == recorded
    assert set(get_args(RunOutcome)) == set(get_args(RunStatus)) - {"running"} == set(EXIT_CODES)
    assert set(get_args(ShownRunStatus)) == set(get_args(RunStatus)) | {"abandoned"}


def test_every_recorded_entity_status_reads_as_a_status_of_this_version() -> None:
    read = {entity_status(s) for s in get_args(RecordedEntityStatus)}
    assert read | {"skipped"} == set(get_args(EntityStatus))
    with pytest.raises(ValueError, match="'done'"):
        entity_status("done")
