"""Full-reload and incremental benchmark: dwetl side by side with the floor, dlt and pandas.

    uv run --group bench python -m benchmarks.reload --items 1000000 --dw duckdb --repeat 3
    uv run --group bench python -m benchmarks.reload --sizes 1M,5M,20M --repeat 3,2,1 \
        --changed 50000 --dw postgresql --baseline benchmarks/results/<previous>.json

Per size: generates the source (`dwetl sample`, seeded), then runs the tools in turn, round
after round (A B A B ...) so machine drift hits all alike, each in its own process against a
fresh warehouse. dwetl's rounds also change `--changed` order items on the source (stamped
with the source's clock) for the incremental run, put them back after it, and checksum the
warehouse after the full and the incremental run; the checksums are compared across rounds,
with the previous commit's dwetl run in the same rounds (`--before DIR`) and with a results
file (`--baseline`).
Writes one benchmarks/results/<name>.json for all sizes, with .md and .png (see
benchmarks/README.md); exits 1 when a warehouse differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import checks, dwetl_steps, scaling
from benchmarks.databases import (
    RUN_COLUMNS,
    STAMP_COLUMNS,
    Database,
    change_items,
    create_database,
    drop_database,
    revert_items,
    source_row_counts,
    warehouse_checksums,
)
from benchmarks.measure import Measurement, child_env, python_module, run_measured, warm_up
from benchmarks.report import across_sizes, entity_breakdown, ratios, summarise, write

ALL_TOOLS = ("dwetl", "floor", "warehouse_floor", "dlt", "pandas")
#: the dwetl tools: this checkout's, and with --before the previous commit's
DWETL = ("dwetl", "dwetl_before")
#: the records a dwetl tool ("dwetl", "dwetl_before") writes per round, by suffix
DWETL_STEPS = ("full", "unchanged", "incremental")
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


def items_label(items: int) -> str:
    """A size as file names spell it: 1000000 -> "1M", 2000 -> "2k", 1500 -> "1500"."""
    if items % 1_000_000 == 0:
        return f"{items // 1_000_000}M"
    if items % 1_000 == 0:
        return f"{items // 1_000}k"
    return str(items)


def parse_size(text: str) -> int:
    """A size as the command line spells it: "1M" -> 1000000, "2k" -> 2000, "1500" -> 1500."""
    text = text.strip()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    number = text[:-1] if scale != 1 else text
    try:
        value = int(float(number) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (say 2000, 2k or 1M)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive: {text!r}")
    return value


def changed_items(spec: str, items: int) -> int:
    """How many order items the incremental run finds changed: `spec` is a count ("50000",
    "50k": the same at every size) or a share of the size ("1%")."""
    if spec.endswith("%"):
        return max(1, round(items * float(spec[:-1]) / 100))
    return parse_size(spec)


def _run_record(tool: str, round_no: int, m: Measurement, phases: dict[str, float]) -> dict:
    """One `dwetl run` as a record: its wall time and phases, plus what its summary counts."""
    record = _record(tool, round_no, m, phases)
    record.update(dwetl_steps.totals(m.report))
    record["failed_entities"] = dwetl_steps.failed_entities(m.report)
    record["run_exit_code"] = m.returncode
    record["summary"] = dwetl_steps.entity_counts(m.report)
    return record


def measure_dwetl(
    source: Database,
    dw: Database,
    work: Path,
    round_no: int,
    changed: int,
    tool: str = "dwetl",
    dwetl: dwetl_steps.Dwetl = dwetl_steps.HERE,
) -> list[dict]:
    """Full reload (init + run --full), a run with nothing changed, then an incremental run
    after `changed` order items changed on the source; the warehouse is checksummed (not
    timed) after the full reload and after the incremental run. The source is put back as it
    was before returning, for the next tool."""
    init = dwetl_steps.init(source.url, dw.url, work, dwetl)
    full = dwetl_steps.run(source.url, dw.url, work, full=True, dwetl=dwetl)
    combined = Measurement(
        wall_s=init.wall_s + full.wall_s,
        peak_rss_mb=max(init.peak_rss_mb, full.peak_rss_mb),
        returncode=full.returncode,
        report=full.report,
    )
    phases = {"init": init.wall_s, **dwetl_steps.phase_seconds(full.report)}
    records = [_run_record(f"{tool}_full", round_no, combined, phases)]
    records[-1]["checksums"] = warehouse_checksums(dw, RUN_COLUMNS)
    # Nothing changed yet: what every incremental run pays whatever changed (start-up,
    # imports, a watermark query and an empty extract per entity, the run log).
    unchanged = dwetl_steps.run(source.url, dw.url, work, full=False, dwetl=dwetl)
    phases = dwetl_steps.phase_seconds(unchanged.report)
    records.append(_run_record(f"{tool}_unchanged", round_no, unchanged, phases))

    touched = change_items(source, changed)
    try:
        inc = dwetl_steps.run(source.url, dw.url, work, full=False, dwetl=dwetl)
    finally:
        revert_items(source)
    records.append(
        _run_record(f"{tool}_incremental", round_no, inc, dwetl_steps.phase_seconds(inc.report))
    )
    records[-1]["source_rows_changed"] = touched
    # the changed rows carry the source's clock of this round: the rest must be as before
    records[-1]["checksums"] = warehouse_checksums(dw, RUN_COLUMNS + STAMP_COLUMNS)
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


def one_round(
    args: argparse.Namespace, source: Database, work: Path, round_no: int, size: dict[str, int]
) -> list[dict]:
    """Every selected tool once, each against its own fresh warehouse."""
    records: list[dict] = []
    jobs: list[tuple[str, Any]] = []
    if "dwetl" in args.tools:
        changed = size["changed_items"]
        if args.before is not None:
            # the previous commit first, then this one: alternated, round after round
            before = dwetl_steps.Dwetl.of_checkout(args.before)
            jobs.append(
                (
                    "dwetl_before",
                    lambda dw: measure_dwetl(
                        source, dw, work, round_no, changed, "dwetl_before", before
                    ),
                )
            )
        jobs.append(("dwetl", lambda dw: measure_dwetl(source, dw, work, round_no, changed)))
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
        limit = str(size["pandas_items"])
        jobs.append(
            (
                "pandas",
                lambda dw: [
                    measure_child(
                        "pandas",
                        "benchmarks.tools.pandas_load",
                        ["--source", source.url, "--dw", dw.url, "--limit", limit],
                        round_no,
                    )
                ],
            )
        )
    for name, job in jobs:
        dw = create_database(args.dw, f"bench_{name}_{round_no}", work)
        _log(f"round {round_no + 1}: {name}")
        try:
            done = job(dw)
            for record in done:
                _log(
                    f"  {record['tool']}: {record['wall_s']:.2f} s, {record['peak_rss_mb']:.0f} MB"
                )
            records += done
        except Exception as exc:  # a failing tool is a result, not the end of the benchmark
            _log(f"  {name} FAILED: {exc}")
            tools = [f"{name}_{step}" for step in DWETL_STEPS] if name in DWETL else [name]
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
    sizes = parser.add_mutually_exclusive_group(required=True)
    sizes.add_argument("--items", type=parse_size, help="order items in the source (one size)")
    sizes.add_argument(
        "--sizes",
        help="several sizes in one run, smallest first, e.g. 1M,5M,20M (one JSON for all)",
    )
    parser.add_argument("--dw", choices=("duckdb", "postgresql"), default="duckdb")
    parser.add_argument("--source", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument(
        "--repeat",
        default="1",
        help="rounds (K) per size, figures are medians: one K for every size, or one per size "
        "(3,2,1 with --sizes 1M,5M,20M)",
    )
    parser.add_argument(
        "--changed",
        default="1%",
        help="order items changed on the source before dwetl's incremental run: a share of "
        "each size (1%%, the default) or a count, the same at every size (50000)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="PATH",
        help="a results file of the previous commit (same sizes, seed, damage, source, "
        "warehouse): its warehouse checksums must equal this run's, else exit 1",
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        metavar="DIR",
        help="a checkout of the previous commit with its own environment (git worktree add DIR "
        "COMMIT; uv sync --frozen there): its dwetl runs too, right before this one in every "
        "round, and both warehouses must be equal",
    )
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
        "step changes --changed of its order items); one size, --items its item count",
    )
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="skip compiling the bytecode of site-packages first (smoke tests)",
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--name",
        default=None,
        help="result file name (default date-dw-sizes, e.g. 2026-12-07-duckdb-1M-5M-20M)",
    )
    args = parser.parse_args(argv)
    try:
        args.sizes = (
            [args.items] if args.items else [parse_size(s) for s in args.sizes.split(",") if s]
        )
        repeats = [int(k) for k in args.repeat.split(",")]
        for size in args.sizes:
            changed_items(args.changed, size)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(str(exc))
    if args.sizes != sorted(set(args.sizes)):
        parser.error(f"--sizes must grow and not repeat: {args.sizes}")
    if len(repeats) == 1:
        repeats *= len(args.sizes)
    if len(repeats) != len(args.sizes) or min(repeats) < 1:
        parser.error(f"--repeat needs one K >= 1, or one per size ({len(args.sizes)})")
    args.repeat = dict(zip(args.sizes, repeats, strict=True))
    if args.existing_source and len(args.sizes) > 1:
        parser.error("--existing-source is one size: give --items, its number of order items")
    if args.before is not None and not (args.before / ".venv" / "bin" / "dwetl").exists():
        parser.error(f"--before {args.before}: no .venv/bin/dwetl there (uv sync --frozen in it)")
    if args.baseline is not None and not args.baseline.is_file():
        parser.error(f"--baseline {args.baseline}: no such file")
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(args.tools) - set(ALL_TOOLS)
    if unknown:
        parser.error(f"unknown tool(s) {sorted(unknown)}; choose from {','.join(ALL_TOOLS)}")
    return args


def measure_size(args: argparse.Namespace, items: int, work: Path) -> dict[str, Any]:
    """Every round at one size, on its own source: the size's block of the result."""
    repeat = args.repeat[items]
    size = {
        "changed_items": changed_items(args.changed, items),
        "pandas_items": min(args.pandas_items, items),
    }
    if args.existing_source:
        source = _existing(args.existing_source)
    else:
        source = create_database(args.source, "bench_source", work)
    sample_s = None
    try:
        if not args.existing_source:
            _log(f"sample: {items:,} items into {args.source} (seed {args.seed})")
            started = time.perf_counter()
            dwetl_steps.sample(source.url, items, args.seed, args.damage, work)
            sample_s = time.perf_counter() - started
        counts = source_row_counts(source)
        warehouse_rows = None
        if "warehouse_floor" in args.tools:
            _log("warehouse floor: a dwetl full reload (not timed) gives the rows it loads")
            warehouse_rows = export_warehouse_rows(args, source, work)
        runs: list[dict] = []
        for round_no in range(repeat):
            _log(f"{items_label(items)}, round {round_no + 1}/{repeat}")
            runs += one_round(args, source, work, round_no, size)
    finally:
        if not args.existing_source:
            drop_database(source)

    notes = []
    if warehouse_rows is not None:
        notes.append(
            f"warehouse floor: the {sum(warehouse_rows.values()):,} rows a dwetl full reload "
            "wrote, loaded by dwetl's first-load path into a warehouse `dwetl init` created "
            "(its types, CHECKs and keys), with no read and no transform."
        )
    failed: dict[tuple[str, str], tuple[int, str]] = {}
    for r in runs:
        for entity, error in r.get("failed_entities", {}).items():
            count, _ = failed.get((r["tool"], entity), (0, ""))
            failed[(r["tool"], entity)] = (count + 1, error)
    for (tool, entity), (count, error) in sorted(failed.items()):
        notes.append(
            f"WARNING: {tool}: {entity} failed in {count} of {repeat} rounds (nothing of it "
            f"loaded, so that time is not a complete load): {error}"
        )
    summary = summarise(runs)
    first = {r["tool"]: r for r in reversed(runs) if "checksums" in r}
    return {
        "items": items,
        "label": items_label(items),
        "repeat": repeat,
        "changed_items": size["changed_items"] if "dwetl" in args.tools else None,
        "pandas_items": size["pandas_items"] if "pandas" in args.tools else None,
        "sample_s": sample_s,
        "source_rows": counts,
        "source_rows_total": sum(counts.values()),
        "warehouse_rows": warehouse_rows,
        "runs": runs,
        "summary": summary,
        "ratios": ratios(summary),
        "entities": {
            tool: entity_breakdown(runs, tool) for tool in ("dwetl_full", "dwetl_incremental")
        },
        # round 1's; checks.across_rounds compares the other rounds' with them
        "checksums": {
            stage: first[f"dwetl_{stage}"]["checksums"]
            for stage in checks.STAGES
            if f"dwetl_{stage}" in first
        },
        "notes": notes,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write its results; returns the result object."""
    args = parse_args(argv)
    command = "python -m benchmarks.reload " + shlex.join(sys.argv[1:] if argv is None else argv)
    today = dt.date.today().isoformat()
    labels = "-".join(items_label(size) for size in args.sizes)
    name = args.name or f"{today}-{args.dw}-{labels}"
    work = Path(args.work or tempfile.mkdtemp(prefix="dwetl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    warm_up_s = None
    try:
        if not args.no_warm_up:
            _log("warm-up: compiling bytecode of every tool's imports")
            warm_up_s = warm_up((args.before,) if args.before else ())
        sizes = [measure_size(args, items, work) for items in args.sizes]
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    notes = []
    if "pandas" in args.tools:
        notes.append(
            f"pandas copies the fact table (venda_itens) only, its first {args.pandas_items:,} "
            "rows (at most the size), with read_sql + to_sql defaults."
        )
    if "dlt" in args.tools:
        notes.append(
            f"dlt: sql_database, backend={args.dlt_backend}, write_disposition=merge on id, "
            "dedup_sort desc on atualizado_em; all source tables."
        )
    if "dwetl" in args.tools:
        notes.append(
            "dwetl full = init (empty warehouse) + run --entity all --full; unchanged = "
            "run --entity all right after it, nothing changed; incremental = run --entity all "
            f"after --changed {args.changed} order items got quantidade + 1 and the source's "
            "clock as atualizado_em. The warehouse is checksummed after the full and the "
            "incremental run (every column but id_execucao; after the incremental run also "
            "atualizado_em, which the change stamped)."
        )
    result: dict[str, Any] = {
        "meta": {
            "date": today,
            "commit": _git("rev-parse", "--short", "HEAD"),
            "command": command,
            "uncommitted_changes": bool(_git("status", "--porcelain", "src", "transforms", "sql")),
            "sizes": args.sizes,
            "source": args.source,
            "dw": args.dw,
            "repeat": [args.repeat[size] for size in args.sizes],
            "changed": args.changed,
            "seed": args.seed,
            "damage": args.damage,
            "tools": args.tools,
            "dlt_backend": args.dlt_backend if "dlt" in args.tools else None,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"{_memory_gb():.0f} GB RAM, Python {platform.python_version()}",
            "load_average": _load_average(),
            "warm_up_s": warm_up_s,
            "baseline": str(args.baseline) if args.baseline else None,
            "before": (
                {
                    "checkout": str(args.before),
                    "commit": _git("rev-parse", "--short", "HEAD", cwd=args.before),
                }
                if args.before
                else None
            ),
            "notes": notes,
        },
        "sizes": sizes,
    }
    result["across_sizes"] = across_sizes(sizes)
    result["checks"] = checks.check(result, args.baseline)
    alarms = checks.alarms(result["checks"])
    for line in alarms:
        _log(f"!!! {line}")
    written = write(result, args.out, name)
    if len(sizes) > 1:
        by_size = {size["items"]: size for size in sizes}
        written += scaling.write(by_size, args.out, name, args.dw)
    for path in written:
        _log(f"wrote {path}")
    if alarms:
        _log("!!! THE WAREHOUSE IS NOT WHAT IT WAS: see checks in the results")
    return result


def exit_code(result: dict[str, Any]) -> int:
    """1 when a warehouse differed (between rounds or from the baseline), else 0."""
    return 1 if checks.alarms(result["checks"]) else 0


def _git(*args: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd or Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def _existing(url: str) -> Database:
    if url.startswith("sqlite:///"):
        return Database("sqlite", url, path=Path(url.removeprefix("sqlite:///")))
    kind = "postgresql" if url.startswith("postgresql://") else "mariadb"
    return Database(kind, url, name=url.rsplit("/", 1)[-1])


def _before(checkout: Path | None) -> dict[str, str] | None:
    if checkout is None:
        return None
    return {"checkout": str(checkout), "commit": _git("rev-parse", "--short", "HEAD", cwd=checkout)}


def _load_average() -> list[float] | None:
    # how busy the shared machine was when the run ended (1, 5 and 15 minutes)
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _memory_gb() -> float:
    try:
        with open("/proc/meminfo") as meminfo:
            return int(meminfo.readline().split()[1]) / 1024 / 1024
    except OSError:
        return 0.0


if __name__ == "__main__":
    sys.exit(exit_code(main()))
