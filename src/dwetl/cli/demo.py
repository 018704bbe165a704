"""`dwetl demo`: a sample source, the warehouse, and a full run — on embedded databases only.

The demo writes a sample source, which drops the sample's tables (`clientes`, `vendas`, ...) where
it writes: so it never reads DWETL_SOURCE_URL, DWETL_DW_URL or dwetl.toml's URLs (the README
tells users to point those at their ERP and warehouse), and `--source` / `--dw` may name
other SQLite / DuckDB files, never a server.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from dwetl.cli.progress import live_progress
from dwetl.cli.run import print_summary, quarantine_line
from dwetl.core.config import Settings, load_settings
from dwetl.core.errors import DwetlError, UsageError
from dwetl.core.logs import setup_logging
from dwetl.core.urls import DEFAULT_DW_URL, DEFAULT_SOURCE_URL, default_dw_url

DEFAULT_ROWS = 50_000
_NOT_READ = "DWETL_SOURCE_URL, DWETL_DW_URL and dwetl.toml's URLs are not read"


def _embedded(source: str | None, dw: str | None) -> Settings:
    """The demo's settings: its own files, whatever the environment and dwetl.toml say."""
    dw = dw or default_dw_url(Path.cwd())  # an earlier demo's data/dw.duckdb, if only it exists
    settings = load_settings(source=source or DEFAULT_SOURCE_URL, dw=dw)
    for option, url, scheme in (
        ("--source", settings.source, "sqlite"),
        ("--dw", settings.dw, "duckdb"),
    ):
        if url.scheme != scheme:
            raise UsageError(
                f"demo {option}: {url.masked} is not a {scheme} file; the demo writes only "
                f"embedded databases ({scheme}:///path): run `dwetl sample`, `init` and `run` "
                "against a server"
            )
    return settings


HELP = (
    "Write a sample source, `init` the warehouse, run every entity, print the summary."
    "\n\nEmbedded databases only: data/oltp.sqlite and data/warehouse.duckdb unless --source "
    f"/ --dw name other files; {_NOT_READ}, so the demo never writes into a configured server. The "
    "sample is written only into an empty file or one `dwetl sample` wrote.\n\nExits as "
    "`dwetl run` does: 0 when every entity loaded (the sample's unrepairable rows are "
    "quarantined on purpose, and counted), 3 when some entity did not, 1 when none did."
)


def demo(
    rows: Annotated[
        int, typer.Option("--rows", help="Order items in the sample source.")
    ] = DEFAULT_ROWS,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample.")] = 42,
    damage: Annotated[
        float, typer.Option("--damage", help="Share of damaged values / rows in the sample.")
    ] = 0.02,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help=f"SQLite file for the sample source (default {DEFAULT_SOURCE_URL}); "
            f"never a server: {_NOT_READ}.",
        ),
    ] = None,
    dw: Annotated[
        str | None,
        typer.Option(
            "--dw",
            help=f"DuckDB file for the warehouse (default {DEFAULT_DW_URL}); never a server.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary as one JSON object.")
    ] = False,
) -> None:
    """The demo (its help is the command's `help`)."""
    from dwetl.ops.init import run_init
    from dwetl.run.runner import run
    from dwetl.sample import generate_sample
    from dwetl.sample.write import writer_for

    setup_logging()
    settings = _embedded(source, dw)
    # in JSON mode stdout is the one summary object: the notice goes to stderr
    typer.echo(
        f"demo: embedded databases only: source {settings.source}, warehouse {settings.dw} "
        f"({_NOT_READ})",
        err=as_json,
    )
    started = time.perf_counter()
    writer = writer_for(settings.source, settings)
    writer.write(generate_sample(rows, seed, damage, legacy_bytes=writer.legacy_bytes))
    sample_s = time.perf_counter() - started

    def say(line: str) -> None:
        if not as_json:
            typer.echo(line)

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
    print_summary(summary, as_json=as_json, quarantine=False)
    say(
        f"demo: run {summary.run_id} {summary.status} in {summary.seconds:.1f} s "
        f"(total {time.perf_counter() - started:.1f} s); `dwetl status` shows the warehouse"
    )
    if summary.quarantined:
        say(quarantine_line(summary, dw))
    raise typer.Exit(summary.exit_code)
