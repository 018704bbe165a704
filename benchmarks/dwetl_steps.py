"""dwetl as a user runs it: the `dwetl` console script, one process per command.

`init` on the empty warehouse, then `run --entity all --full --json` (the full reload), then,
after items changed on the source, `run --entity all --json` (the incremental run). The
per-phase seconds come from the run's JSON summary. A `Dwetl` names which installation runs:
this checkout's, or another checkout's (`--before`: the previous commit, in its own virtual
environment).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import Measurement, child_env, console_script, run_measured

#: run exit codes that mean "loaded": 0, every entity loaded (a damaged source's quarantined
#: rows included); 3 (an entity did not load) fails the benchmark, as 1 does
RUN_OK = (0,)
PHASES = ("extract", "transform", "fold", "keys", "validate", "load", "merge")


@dataclass(frozen=True)
class Dwetl:
    """One installation of dwetl: its console script, and the checkout whose top-level
    packages (`transforms`) it must import, ahead of the harness's own on PYTHONPATH."""

    script: str
    checkout: Path | None = None

    @classmethod
    def of_checkout(cls, checkout: Path) -> Dwetl:
        """The dwetl installed in `checkout`'s own `.venv` (`uv sync` there)."""
        script = checkout / ".venv" / "bin" / "dwetl"
        if not script.exists():
            raise FileNotFoundError(
                f"{script} does not exist: run `uv sync --frozen` in {checkout} first"
            )
        return cls(str(script), checkout.resolve())


#: this checkout's dwetl
HERE = Dwetl(console_script("dwetl"))


def _env(source_url: str, dw_url: str, dwetl: Dwetl = HERE) -> dict[str, str]:
    extra = {"DWETL_SOURCE_URL": source_url, "DWETL_DW_URL": dw_url}
    if dwetl.checkout is not None:
        extra["PYTHONPATH"] = str(dwetl.checkout)
    return child_env(extra)


def sample(source_url: str, items: int, seed: int, damage: float, cwd: Path) -> Measurement:
    """`dwetl sample` writes the OLTP source (seeded, damaged at rate `damage`)."""
    argv = [
        console_script("dwetl"),
        "sample",
        "--rows",
        str(items),
        "--seed",
        str(seed),
        "--damage",
        str(damage),
        "--source",
        source_url,
    ]
    return run_measured(argv, env=_env(source_url, ""), cwd=cwd)


def init(source_url: str, dw_url: str, cwd: Path, dwetl: Dwetl = HERE) -> Measurement:
    """`dwetl init` on the (empty) warehouse."""
    return run_measured([dwetl.script, "init"], env=_env(source_url, dw_url, dwetl), cwd=cwd)


def run(source_url: str, dw_url: str, cwd: Path, *, full: bool, dwetl: Dwetl = HERE) -> Measurement:
    """`dwetl run --entity all [--full] --json`."""
    argv = [dwetl.script, "run", "--entity", "all", "--json"]
    if full:
        argv.append("--full")
    return run_measured(argv, env=_env(source_url, dw_url, dwetl), cwd=cwd, ok_codes=RUN_OK)


def _phase_dicts(node: Any) -> Iterator[dict[str, float]]:
    # The summary nests phase seconds per entity; accept any dict whose keys are phase names.
    if isinstance(node, dict):
        numeric = {
            k: float(v)
            for k, v in node.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        phase_keys = {k.removesuffix("_s").removesuffix("_seconds") for k in numeric}
        if len(phase_keys & set(PHASES)) >= 2:
            yield {k.removesuffix("_s").removesuffix("_seconds"): v for k, v in numeric.items()}
            return
        for value in node.values():
            yield from _phase_dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _phase_dicts(value)


def phase_seconds(summary: dict[str, Any]) -> dict[str, float]:
    """Seconds per phase, summed over the entities of a run's JSON summary."""
    totals: dict[str, float] = {}
    for phases in _phase_dicts(summary):
        for name, seconds in phases.items():
            totals[name] = totals.get(name, 0.0) + seconds
    return totals


def entity_counts(summary: dict[str, Any]) -> dict[str, Any]:
    """What the run says it did: status and per-entity counts, kept verbatim for the record."""
    keep: dict[str, Any] = {}
    for key in ("status", "id_execucao", "run_id"):
        if key in summary:
            keep[key] = summary[key]
    entities = summary.get("entities")
    if isinstance(entities, list | dict):
        keep["entities"] = entities
    return keep


def totals(summary: dict[str, Any]) -> dict[str, int]:
    """Rows extracted (all entities, all versions), rejected and loaded, from the summary."""
    entities = summary.get("entities") or []
    out = {"rows": 0, "rejected": 0, "loaded": 0}
    for e in entities if isinstance(entities, list) else []:
        out["rows"] += int(e.get("extracted", 0))
        out["rejected"] += int(e.get("rejected", 0))
        out["loaded"] += sum(int(e.get(k, 0)) for k in ("inserted", "updated", "unchanged"))
    return out


def failed_entities(summary: dict[str, Any]) -> dict[str, str]:
    """Entities the run reports as failed (nothing of them committed), with their error."""
    entities = summary.get("entities") or []
    return {
        e.get("entity", "?"): str(e.get("error") or "")[:300]
        for e in entities
        if e.get("status") == "failed"
    }
