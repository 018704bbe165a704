"""Logging for the `dwetl` logger: readable on a terminal, JSON for machines, passwords masked."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Literal

from dwetl import masking

LOGGER = "dwetl"
LogFormat = Literal["human", "json"]


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
    """One JSON object per line: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


def setup_logging(
    level: int | str = logging.INFO,
    fmt: LogFormat = "human",
    stream: IO[str] | None = None,
) -> logging.Logger:
    """Send the `dwetl` logger to `stream` (stderr) in `fmt`; calling it again replaces the setup.

    >>> setup_logging(fmt="json").name
    'dwetl'
    """
    logger = logging.getLogger(LOGGER)
    for old in list(logger.handlers):
        if getattr(old, "_dwetl", False):
            logger.removeHandler(old)
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif out.isatty():
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskPasswords())
    handler._dwetl = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger
