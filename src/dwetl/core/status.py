"""The statuses dwetl records and shows: the strings the warehouse stores and JSON prints.

`tests/dwetl/core/test_status.py` holds them to the DDL's CHECKs on the `ctl` tables.
"""

from __future__ import annotations

from typing import Literal

#: a finished run: every entity loaded, some did, none did (exit 0, 3, 1)
RunOutcome = Literal["success", "partial", "failed"]
#: `ctl.etl_run.status`: a run is `running` until it finishes
RunStatus = Literal["running", "success", "partial", "failed"]
#: how `dwetl history` and `dwetl status` show a run: `abandoned` is a run whose process is
#: gone (recorded `failed`, or still `running` until the next run records it)
ShownRunStatus = Literal["running", "success", "partial", "failed", "abandoned"]
#: an entity in a run: it loaded (rows quarantined or not), nothing of it committed, or it was
#: not tried because a dimension it needs failed
EntityStatus = Literal["success", "failed", "skipped"]
#: `ctl.etl_run_entity.status` and `ctl.etl_control.last_status`: `skipped` is stored as
#: `failed` with an error starting `skipped:`; `partial` is what earlier versions wrote for an
#: entity that loaded with quarantined rows
RecordedEntityStatus = Literal["success", "partial", "failed"]
