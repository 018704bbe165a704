"""A documented fault-injection point, for tests of crash safety only.

`DWETL_FAIL_AT=<point>[:<entity>][:kill]` makes the runner fail at `<point>` ("merge": after the
batch is loaded — into the staging table, or on a first load straight into the empty target —
before the MERGE; "commit": after the MERGE, before the commit; "committed": once the entity's
transaction has committed (the error a driver may raise after a COMMIT that went through);
"batch<n>", e.g. "batch2": after the n-th batch of an entity loaded in batches is loaded: into
the target on a first load, else staged and committed to its staging table; under `--engine
spark`, "task<n>": in the Spark task that reads the n-th batch, on every attempt, and
"task<n>-first": on its first attempt only, which Spark then retries; "task<n>-written-first":
on its first attempt, after it wrote the batch (its Parquet, or its COPY into PostgreSQL)) — for
every entity, or only `<entity>`. Plain: it raises `InjectedFault` (the entity fails and rolls
back like any error). With `:kill`: the process kills itself with SIGKILL, as a crash would.
With `:pause=<seconds>`: it waits there that long and goes on; with `:hold=<file>`: it waits
there while `<file>` exists, having written `<file>.held` (a run held in the middle of an
entity, for drills and tests of two processes at once, or of a signal). Unset (the normal case),
`fault_point` does nothing.
"""

from __future__ import annotations

import os
import signal
import time

from dwetl.core.errors import DwetlError

FAULT_ENV = "DWETL_FAIL_AT"


class InjectedFault(DwetlError):
    """The failure asked for by DWETL_FAIL_AT."""


def fault_point(point: str, entity: str, wanted: str | None = None) -> None:
    """Fail here if DWETL_FAIL_AT asks for `point` (optionally only for `entity`); `wanted`:
    the value to go by instead of this process's DWETL_FAIL_AT (a Spark task's: the driver's).

    >>> fault_point("merge", "dim_cliente")  # DWETL_FAIL_AT unset: nothing happens
    """
    wanted = os.environ.get(FAULT_ENV, "") if wanted is None else wanted
    if not wanted:
        return
    parts = wanted.split(":")
    kill = parts[-1] == "kill"
    wait = parts[-1].startswith(("pause=", "hold="))
    if kill or wait:
        parts, last = parts[:-1], parts[-1]
    if parts[0] != point or (len(parts) > 1 and parts[1] != entity):
        return
    if wait:
        _wait(last)
        return
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(f"{FAULT_ENV}={wanted}: injected failure at {point} of {entity}")


def _wait(how: str) -> None:
    kind, _, value = how.partition("=")
    if kind == "pause":
        time.sleep(float(value))
        return
    with open(f"{value}.held", "w"):  # the drill's sign that the run is there
        pass
    while os.path.exists(value):
        time.sleep(0.05)
