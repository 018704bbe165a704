"""The `dwetl` console script: one Typer app; each command group is a module of `dwetl.cli`
registered here by name.

Nothing here or in a command module imports polars, pyarrow, a driver or sqlglot at import time:
a command imports what it needs when it runs, so `dwetl --help` and `dwetl CMD --help` start in
a fraction of a second (`benchmarks/cli_start.py`; `tests/dwetl/cli/test_lazy_imports.py`)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dwetl.cli import (
    check,
    contract,
    demo,
    history,
    init,
    process_exit,
    rejects,
    rollout,
    run,
    sample,
    status,
    version,
)
from dwetl.core import diskspace, logs, masking
from dwetl.core.errors import DwetlError

app = typer.Typer(
    name="dwetl",
    help="Batch ETL from the retail ERP into the sales data warehouse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich help shows every flag as `--json <bool>` (which takes no value) and
    # reads `[...]` in help text as markup
    rich_markup_mode=None,
)


class LogFormat(StrEnum):
    human = "human"
    json = "json"


@app.callback()
def _root(
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            envvar="DWETL_LOG_FORMAT",
            help="human (default) or json: one JSON object per event, for log shippers.",
        ),
    ] = LogFormat.human,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file", envvar="DWETL_LOG_FILE", help="Also append the log to this file."
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show the INFO log lines on the console too (else warnings)."
        ),
    ] = False,
) -> None:
    """Batch ETL from the retail ERP into the sales data warehouse."""
    logs.configure("json" if log_format is LogFormat.json else "human", log_file, verbose)
    logs.setup_logging()


# One line per command group; keep alphabetical.
app.command()(check.check)
app.command()(contract.contract)
app.command(help=demo.HELP)(demo.demo)
app.command()(history.history)
app.command()(init.init)
app.command()(rejects.rejects)
app.add_typer(rollout.rollout_app, name="rollout")
app.command("run")(run.run_command)
app.command()(sample.sample)
app.command()(status.status)
app.command()(version.version)


def console() -> None:
    """The `dwetl` console script (and `python -m dwetl`): `main`, then the process ends
    without the interpreter's teardown (`process_exit.leave`)."""
    try:
        main()
    except SystemExit as done:
        process_exit.leave(done.code)
    process_exit.leave(0)


def main() -> None:
    """Entry point: runs the app; a DwetlError becomes one line on stderr and its exit code, and
    so does a full disk wherever it is met (exit 1)."""
    # Click prints usage errors itself, quoting the argument whole (a URL put where none belongs)
    sys.stderr = masking.ScrubbedStream(sys.stderr)
    try:
        app()
    except DwetlError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        full = diskspace.describe(exc, "a file dwetl writes")
        if full is None:
            raise
        typer.echo(f"error: {full}; free space there and run again", err=True)
        sys.exit(1)
