"""`dwetl demo`: a sample source, the warehouse, and a full run — on embedded databases."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from dwetl.cli.app import app
from dwetl.cli.options import DwOption, SourceOption
from dwetl.cli.run import print_summary
from dwetl.config import load_settings
from dwetl.errors import DwetlError
from dwetl.logs import setup_logging
from dwetl.run.progress import live_progress
from dwetl.run.runner import run

DEFAULT_ROWS = 50_000


@app.command()
def demo(
    rows: Annotated[
        int, typer.Option("--rows", help="Order items in the sample source.")
    ] = DEFAULT_ROWS,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample.")] = 42,
    damage: Annotated[
        float, typer.Option("--damage", help="Share of damaged values / rows in the sample.")
    ] = 0.02,
    source: SourceOption = None,
    dw: DwOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary as one JSON object.")
    ] = False,
) -> None:
    """Write a sample source, `init` the warehouse, run every entity, print the summary.

    Exits 0 when the run loaded (success, or partial: the sample's unrepairable rows are
    quarantined on purpose), 1 when it failed.
    """
    from dwetl.init import run_init
    from dwetl.sample import generate_sample
    from dwetl.sample.write import writer_for

    setup_logging()
    settings = load_settings(source=source, dw=dw)
    started = time.perf_counter()
    writer = writer_for(settings.source)
    writer.write(generate_sample(rows, seed, damage, legacy_bytes=writer.legacy_bytes))
    sample_s = time.perf_counter() - started
    say = (lambda _: None) if as_json else typer.echo
    say(
        f"sample: {rows} items (seed {seed}, damage {damage:g}) -> {settings.source} "
        f"in {sample_s:.1f} s"
    )
    report = run_init(settings)
    if not report.ok:
        raise DwetlError(f"init check failed: {'; '.join(report.problems + report.missing)}")
    say(f"init: {settings.dw} ready (run {report.run_id})")
    with live_progress() as progress:
        summary = run(settings, ["all"], progress=None if as_json else progress)
    print_summary(summary, as_json=as_json)
    say(
        f"demo: run {summary.run_id} {summary.status} in {summary.seconds:.1f} s "
        f"(total {time.perf_counter() - started:.1f} s); `dwetl status` shows the warehouse"
    )
    raise typer.Exit(1 if summary.status == "failed" else 0)
