"""Logging for the `dwetl` logger: readable on a terminal, JSON for machines, passwords masked."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from dwetl.core import masking
from dwetl.core.errors import UsageError, os_reason

LOGGER = "dwetl"
LogFormat = Literal["human", "json"]

#: what an event may carry besides its message (see `event`): JSON keys, `key=value` for people
EVENT_FIELDS = ("run_id", "entity", "phase", "status", "counts", "seconds")

# Set once per process by the global --log-format / --log-file options (the app callback);
# a command's own `setup_logging()` call then keeps them.
_defaults: dict[str, Any] = {"fmt": "human", "log_file": None, "verbose": False}


def configure(
    fmt: LogFormat = "human", log_file: str | Path | None = None, verbose: bool = False
) -> None:
    """Choose the format, log file and verbosity every later `setup_logging()` uses (the
    global options)."""
    _defaults["fmt"] = fmt
    _defaults["log_file"] = None if log_file is None else Path(log_file)
    _defaults["verbose"] = verbose


def event(message: str, /, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with structured fields, e.g. `event("merged", run_id=7, entity="dim_loja",
    phase="merge", counts={"inserted": 3}, seconds=0.2)`."""
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown event field(s): {', '.join(sorted(unknown))}")
    logging.getLogger(LOGGER).log(level, message, extra=fields)


def _event_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: getattr(record, k) for k in EVENT_FIELDS if getattr(record, k, None) is not None}


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return masking.scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    return value


class MaskPasswords(logging.Filter):
    """Rewrites every record's message with known passwords shown as `***`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = masking.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # the traceback text would bypass the message: keep only the scrubbed exception line
            record.msg += f" ({masking.scrub(str(record.exc_info[1]))})"
            record.exc_info = None
            record.exc_text = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
                **_scrubbed(_event_fields(record)),
            },
            ensure_ascii=False,
            default=str,
        )


class HumanFormatter(logging.Formatter):
    """The message, then the event's fields as `key=value`."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _scrubbed(_event_fields(record))
        extra = " ".join(
            f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in fields.items()
        )
        return f"{line} {extra}" if extra else line


def setup_logging(
    level: int | str = logging.INFO,
    fmt: LogFormat | None = None,
    stream: IO[str] | None = None,
    log_file: str | Path | None = None,
) -> logging.Logger:
    """Send the `dwetl` logger to `stream` (stderr), and to `log_file` if given, in `fmt`
    (default: what `configure` chose); calling it again replaces the setup. A human console
    gets warnings and errors only, unless `configure(verbose=True)` (`dwetl -v`): INFO events
    would print over the progress display; the log file and JSON logs keep every level.

    >>> setup_logging(fmt="json").name
    'dwetl'
    """
    fmt = fmt or _defaults["fmt"]
    log_file = log_file if log_file is not None else _defaults["log_file"]
    logger = logging.getLogger(LOGGER)
    for old in list(logger.handlers):
        if getattr(old, "_dwetl", False):
            logger.removeHandler(old)
            old.close()
    out = stream or sys.stderr
    console = _handler(logging.StreamHandler(out), fmt, out.isatty())
    if fmt != "json":
        console.addFilter(_without_phase_events)
        if not _defaults["verbose"]:
            console.setLevel(logging.WARNING)
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        handlers.append(_handler(_file_handler(Path(log_file)), fmt, tty=False))
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def _file_handler(path: Path) -> logging.FileHandler:
    """The log file's handler (its folder created); one it cannot open is a UsageError naming it
    (--log-file, DWETL_LOG_FILE)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"log file {path}: cannot be opened for writing ({os_reason(exc)}); "
            "set --log-file or DWETL_LOG_FILE to a file in a writable folder"
        ) from None


def _without_phase_events(record: logging.LogRecord) -> bool:
    """Per-phase timings are for log shippers and log files; a person reading the console
    gets one line per entity (the summary has the phases)."""
    return getattr(record, "phase", None) is None or getattr(record, "status", None) is not None


def _handler(handler: logging.Handler, fmt: LogFormat, tty: bool) -> logging.Handler:
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif tty:
        handler.setFormatter(HumanFormatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    else:
        handler.setFormatter(HumanFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskPasswords())
    handler._dwetl = True  # type: ignore[attr-defined]
    return handler
