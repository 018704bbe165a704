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
    interrupts,
    process_exit,
    rejects,
    rollout,
    run,
    sample,
    status,
    streams,
    version,
)
from dwetl.core import diskspace, logs, masking
from dwetl.core.errors import DwetlError, os_reason

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
    ctx: typer.Context,
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
    if isinstance(ctx.obj, interrupts.CommandInterrupt):
        ctx.obj.command = f"dwetl {ctx.invoked_subcommand}"
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
    so does a full disk wherever it is met (exit 1), and Ctrl-C or SIGTERM (exit 130, 143)."""
    # Click prints usage errors itself, quoting the argument whole (a URL put where none belongs)
    sys.stderr = streams.ReaderMayLeave(masking.ScrubbedStream(sys.stderr))
    sys.stdout = streams.ReaderMayLeave(sys.stdout)
    interrupt = interrupts.CommandInterrupt()
    try:
        with interrupt.on_signals():
            app(obj=interrupt)
    except BaseException as exc:
        ending = _ending(exc, interrupt)
        if ending is None:
            raise
        code, line = ending
        typer.echo(f"error: {line}", err=True)
        sys.exit(code)


def _ending(exc: BaseException, interrupt: interrupts.CommandInterrupt) -> tuple[int, str] | None:
    """The exit code and one line for how a command ended, or None to let `exc` through. A
    signal wins: whatever it became where it landed (Typer's exit 130, a driver's error) is it."""
    if interrupt.ended(exc):
        return interrupt.exit_code, interrupt.line()
    if isinstance(exc, DwetlError):
        return exc.exit_code, str(exc)
    if isinstance(exc, Exception):
        full = diskspace.describe(exc, "a file dwetl writes")
        if full is not None:
            return 1, f"{full}; free space there and run again"
    if isinstance(exc, OSError) and exc.filename is not None:
        # a file or folder the system refused (missing, not a folder, no permission) that no
        # command turned into its own line yet: the path and why, not a traceback
        return 1, os_reason(exc)
    return None
