"""Full-reload and incremental benchmark: dwetl side by side with the floor, dlt and pandas.

    uv run --group bench python -m benchmarks.reload --items 1000000 --dw duckdb --repeat 3

Generates the source once (`dwetl sample`, seeded), then runs the tools in turn, round after
round (A B A B ...) so machine drift hits all alike, each in its own process against a fresh
warehouse. Writes benchmarks/results/<name>.json, .md and .png (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import dwetl_steps
from benchmarks.databases import (
    Database,
    create_database,
    drop_database,
    source_row_counts,
    touch_one_percent,
)
from benchmarks.measure import Measurement, child_env, python_module, run_measured, warm_up
from benchmarks.report import entity_breakdown, ratios, summarise, write

ALL_TOOLS = ("dwetl", "floor", "warehouse_floor", "dlt", "pandas")
#: the records the dwetl tool writes per round
DWETL_TOOLS = ("dwetl_full", "dwetl_unchanged", "dwetl_incremental")
RESULTS = Path(__file__).parent / "results"
#: folder (in the scratch folder) of the rows the warehouse floor loads
WAREHOUSE_ROWS = "warehouse_rows"


def _log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _record(tool: str, round_no: int, m: Measurement, phases: dict[str, float]) -> dict[str, Any]:
    return {
        "tool": tool,
        "round": round_no,
        "wall_s": m.wall_s,
        "peak_rss_mb": m.peak_rss_mb,
        "phases": phases,
        "rows": m.report.get("rows"),
    }


def _items_label(items: int) -> str:
    if items % 1_000_000 == 0:
        return f"{items // 1_000_000}M"
    if items % 1_000 == 0:
        return f"{items // 1_000}k"
    return str(items)


def _run_record(tool: str, round_no: int, m: Measurement, phases: dict[str, float]) -> dict:
    """One `dwetl run` as a record: its wall time and phases, plus what its summary counts."""
    record = _record(tool, round_no, m, phases)
    record.update(dwetl_steps.totals(m.report))
    record["failed_entities"] = dwetl_steps.failed_entities(m.report)
    record["run_exit_code"] = m.returncode
    record["summary"] = dwetl_steps.entity_counts(m.report)
    return record


def measure_dwetl(source: Database, dw: Database, work: Path, round_no: int) -> list[dict]:
    """Full reload (init + run --full), a run with nothing changed, then an incremental run
    after 1% of the source changed."""
    init = dwetl_steps.init(source.url, dw.url, work)
    full = dwetl_steps.run(source.url, dw.url, work, full=True)
    combined = Measurement(
        wall_s=init.wall_s + full.wall_s,
        peak_rss_mb=max(init.peak_rss_mb, full.peak_rss_mb),
        returncode=full.returncode,
        report=full.report,
    )
    phases = {"init": init.wall_s, **dwetl_steps.phase_seconds(full.report)}
    records = [_run_record("dwetl_full", round_no, combined, phases)]
    # Nothing changed yet: what every incremental run pays whatever changed (start-up,
    # imports, a watermark query and an empty extract per entity, the run log).
    unchanged = dwetl_steps.run(source.url, dw.url, work, full=False)
    phases = dwetl_steps.phase_seconds(unchanged.report)
    records.append(_run_record("dwetl_unchanged", round_no, unchanged, phases))

    touched = touch_one_percent(source, round_no)
    inc = dwetl_steps.run(source.url, dw.url, work, full=False)
    records.append(
        _run_record("dwetl_incremental", round_no, inc, dwetl_steps.phase_seconds(inc.report))
    )
    records[-1]["source_rows_touched"] = touched
    return records


def export_warehouse_rows(args: argparse.Namespace, source: Database, work: Path) -> dict:
    """The rows the warehouse floor loads: a dwetl full reload (not timed) into a reference
    warehouse, its `dw.*` tables written to `work/WAREHOUSE_ROWS`; the reference is dropped."""
    reference = create_database(args.dw, "bench_reference", work)
    try:
        dwetl_steps.init(source.url, reference.url, work)
        reloaded = dwetl_steps.run(source.url, reference.url, work, full=True)
        # a failed entity would leave its rows out of the floor, making it look cheaper
        failed = dwetl_steps.failed_entities(reloaded.report)
        if failed:
            raise RuntimeError(f"the warehouse floor's reference reload failed: {failed}")
        done = run_measured(
            python_module(
                "benchmarks.tools.warehouse_floor",
                "export",
                "--dw",
                reference.url,
                "--rows",
                str(work / WAREHOUSE_ROWS),
            )
        )
        return dict(done.report["rows"])
    finally:
        drop_database(reference)


def measure_child(
    tool: str, module: str, args: list[str], round_no: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One baseline tool (a module under benchmarks.tools) in its own process."""
    m = run_measured(python_module(module, *args), env=env)
    return _record(tool, round_no, m, {k: float(v) for k, v in m.report["phases"].items()})


def one_round(args: argparse.Namespace, source: Database, work: Path, round_no: int) -> list[dict]:
    """Every selected tool once, each against its own fresh warehouse."""
    records: list[dict] = []
    jobs: list[tuple[str, Any]] = []
    if "dwetl" in args.tools:
        jobs.append(("dwetl", lambda dw: measure_dwetl(source, dw, work, round_no)))
    if "floor" in args.tools:
        jobs.append(
            (
                "floor",
                lambda dw: [
                    measure_child(
                        "floor",
                        "benchmarks.tools.floor",
                        ["--source", source.url, "--dw", dw.url],
                        round_no,
                    )
                ],
            )
        )
    if "warehouse_floor" in args.tools:
        rows = str(work / WAREHOUSE_ROWS)
        jobs.append(
            (
                "warehouse_floor",
                lambda dw: [
                    measure_child(
                        "warehouse_floor",
                        "benchmarks.tools.warehouse_floor",
                        ["load", "--dw", dw.url, "--rows", rows, "--source", source.url],
                        round_no,
                    )
                ],
            )
        )
    if "dlt" in args.tools:
        formats: list[tuple[str, str | None]] = [("dlt", None)]
        if args.dw == "postgresql":
            formats.append(("dlt_parquet", "parquet"))
        for name, file_format in formats:
            dlt_args = ["--source", source.url, "--backend", args.dlt_backend]
            if file_format:
                dlt_args += ["--file-format", file_format]

            def dlt_job(dw: Database, name: str = name, dlt_args: list[str] = dlt_args) -> list:
                dlt_work = Path(tempfile.mkdtemp(prefix="dlt-", dir=work))
                try:
                    env = child_env({"DLT_DATA_DIR": str(dlt_work)})
                    return [
                        measure_child(
                            name,
                            "benchmarks.tools.dlt_load",
                            [*dlt_args, "--dw", dw.url, "--work", str(dlt_work)],
                            round_no,
                            env,
                        )
                    ]
                finally:
                    shutil.rmtree(dlt_work, ignore_errors=True)

            jobs.append((name, dlt_job))
    if "pandas" in args.tools:
        jobs.append(
            (
                "pandas",
                lambda dw: [
                    measure_child(
                        "pandas",
                        "benchmarks.tools.pandas_load",
                        ["--source", source.url, "--dw", dw.url, "--limit", str(args.pandas_items)],
                        round_no,
                    )
                ],
            )
        )
    for name, job in jobs:
        dw = create_database(args.dw, f"bench_{name}_{round_no}", work)
        _log(f"round {round_no + 1}/{args.repeat}: {name}")
        try:
            done = job(dw)
            for record in done:
                _log(
                    f"  {record['tool']}: {record['wall_s']:.2f} s, {record['peak_rss_mb']:.0f} MB"
                )
            records += done
        except Exception as exc:  # a failing tool is a result, not the end of the benchmark
            _log(f"  {name} FAILED: {exc}")
            tools = [*DWETL_TOOLS] if name == "dwetl" else [name]
            error = "".join(traceback.format_exception_only(exc)).strip()
            records += [{"tool": t, "round": round_no, "error": error} for t in tools]
        finally:
            drop_database(dw)
    return records


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.reload",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--items", type=int, required=True, help="order items in the source")
    parser.add_argument("--dw", choices=("duckdb", "postgresql"), default="duckdb")
    parser.add_argument("--source", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (K); figures are medians")
    parser.add_argument("--tools", default=",".join(ALL_TOOLS), help="comma-separated subset")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--damage", type=float, default=0.02)
    parser.add_argument(
        "--pandas-items",
        type=int,
        default=200_000,
        help="pandas copies at most this many fact rows (it is slow); default 200000",
    )
    parser.add_argument("--dlt-backend", choices=("pyarrow", "connectorx"), default="pyarrow")
    parser.add_argument(
        "--existing-source",
        default=None,
        metavar="URL",
        help="benchmark this source as it is instead of generating one (kept; the incremental "
        "step updates 1%% of its rows)",
    )
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="skip compiling the bytecode of site-packages first (smoke tests)",
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default=None, help="result file name (default date-dw-items)")
    args = parser.parse_args(argv)
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(args.tools) - set(ALL_TOOLS)
    if unknown:
        parser.error(f"unknown tool(s) {sorted(unknown)}; choose from {','.join(ALL_TOOLS)}")
    args.pandas_items = min(args.pandas_items, args.items)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write its results; returns the result object."""
    args = parse_args(argv)
    today = dt.date.today().isoformat()
    name = args.name or f"{today}-{args.dw}-{_items_label(args.items)}"
    work = Path(args.work or tempfile.mkdtemp(prefix="dwetl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.existing_source:
        source = _existing(args.existing_source)
    else:
        source = create_database(args.source, "bench_source", work)
    try:
        warm_up_s = None
        if not args.no_warm_up:
            _log("warm-up: compiling bytecode of every tool's imports")
            warm_up_s = warm_up()
        sample_s = None
        if not args.existing_source:
            _log(f"sample: {args.items:,} items into {args.source} (seed {args.seed})")
            started = time.perf_counter()
            dwetl_steps.sample(source.url, args.items, args.seed, args.damage, work)
            sample_s = time.perf_counter() - started
        counts = source_row_counts(source)
        warehouse_rows = None
        if "warehouse_floor" in args.tools:
            _log("warehouse floor: a dwetl full reload (not timed) gives the rows it loads")
            warehouse_rows = export_warehouse_rows(args, source, work)
        runs: list[dict] = []
        for round_no in range(args.repeat):
            if round_no and "dwetl" in args.tools and not args.existing_source:
                # The last round's incremental step touched the source; its rows sit at the new
                # watermark, which dwetl's overlap re-reads. The same seed gives the same source.
                _log("re-sample: the source as it was before the last round's update")
                drop_database(source)
                source = create_database(args.source, "bench_source", work)
                dwetl_steps.sample(source.url, args.items, args.seed, args.damage, work)
            runs += one_round(args, source, work, round_no)
    finally:
        if not args.existing_source:
            drop_database(source)
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    notes = []
    if "pandas" in args.tools:
        notes.append(
            f"pandas copies the fact table (venda_itens) only, its first {args.pandas_items:,} "
            "rows, with read_sql + to_sql defaults."
        )
    if "dlt" in args.tools:
        notes.append(
            f"dlt: sql_database, backend={args.dlt_backend}, write_disposition=merge on id, "
            "dedup_sort desc on atualizado_em; all source tables."
        )
    if warehouse_rows is not None:
        notes.append(
            f"warehouse floor: the {sum(warehouse_rows.values()):,} rows a dwetl full reload "
            "wrote, loaded by dwetl's first-load path into a warehouse `dwetl init` created "
            "(its types, CHECKs and keys), with no read and no transform."
        )
    if "dwetl" in args.tools:
        notes.append(
            "dwetl full = init (empty warehouse) + run --entity all --full; unchanged = "
            "run --entity all right after it, nothing changed; incremental = run --entity all "
            "after 1% of every source table got a newer atualizado_em."
        )
    failed: dict[tuple[str, str], tuple[int, str]] = {}
    for r in runs:
        for entity, error in r.get("failed_entities", {}).items():
            count, _ = failed.get((r["tool"], entity), (0, ""))
            failed[(r["tool"], entity)] = (count + 1, error)
    for (tool, entity), (count, error) in sorted(failed.items()):
        notes.append(
            f"WARNING: {tool}: {entity} failed in {count} of {args.repeat} rounds (nothing of it "
            f"loaded, so that time is not a complete load): {error}"
        )
    result: dict[str, Any] = {
        "meta": {
            "date": today,
            "commit": _git("rev-parse", "--short", "HEAD"),
            "uncommitted_changes": bool(_git("status", "--porcelain", "src", "transforms", "sql")),
            "items": args.items,
            "source": args.source,
            "dw": args.dw,
            "repeat": args.repeat,
            "seed": args.seed,
            "damage": args.damage,
            "tools": args.tools,
            "pandas_items": args.pandas_items if "pandas" in args.tools else None,
            "dlt_backend": args.dlt_backend if "dlt" in args.tools else None,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"{_memory_gb():.0f} GB RAM, Python {platform.python_version()}",
            "sample_s": sample_s,
            "warm_up_s": warm_up_s,
            "source_rows": counts,
            "source_rows_total": sum(counts.values()),
            "warehouse_rows": warehouse_rows,
            "notes": notes,
        },
        "runs": runs,
    }
    result["summary"] = summarise(runs)
    result["ratios"] = ratios(result["summary"])
    result["entities"] = {
        tool: entity_breakdown(runs, tool) for tool in ("dwetl_full", "dwetl_incremental")
    }
    for path in write(result, args.out, name):
        _log(f"wrote {path}")
    return result


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def _existing(url: str) -> Database:
    if url.startswith("sqlite:///"):
        return Database("sqlite", url, path=Path(url.removeprefix("sqlite:///")))
    kind = "postgresql" if url.startswith("postgresql://") else "mariadb"
    return Database(kind, url, name=url.rsplit("/", 1)[-1])


def _memory_gb() -> float:
    try:
        with open("/proc/meminfo") as meminfo:
            return int(meminfo.readline().split()[1]) / 1024 / 1024
    except OSError:
        return 0.0


if __name__ == "__main__":
    main()
