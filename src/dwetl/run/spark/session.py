"""The run's SparkSession: the one already active (a notebook's, a `spark-submit` job's), or one
this run starts with `--spark-master` and the `[spark]` properties of `dwetl.toml`, and stops at
its end. Without pyspark, `--engine spark` is one line saying how to install it."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

from dwetl.core.config import Settings
from dwetl.core.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

INSTALL = (
    "--engine spark needs pyspark, which is not installed: install dwetl's spark extra "
    "(uv sync --extra spark, or pip install 'dwetl[spark]') and a Java runtime"
)

#: properties of a session this run starts, before the `[spark]` table's (which win)
DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def require_pyspark() -> None:
    """A UsageError (exit 2) saying how to install pyspark, where it cannot be imported."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL) from None


class SparkEngine:
    """The session the Spark engine schedules its tasks on, started when first needed (a run
    whose facts fit in one batch starts no JVM)."""

    def __init__(self, settings: Settings) -> None:
        require_pyspark()
        # pyspark checks that pandas is importable for mapInArrow (which dwetl uses with Arrow
        # and Polars only) and warns of pandas 3 on every job: not news to a user of dwetl
        warnings.filterwarnings(
            "ignore", "PySpark does not yet fully support pandas", category=FutureWarning
        )
        self.settings = settings
        self._session: SparkSession | None = None
        self._started = False

    @property
    def session(self) -> SparkSession:
        """The active SparkSession, or one started now (stopped by `close`)."""
        if self._session is None:
            from pyspark.sql import SparkSession

            active = SparkSession.getActiveSession()
            if active is not None:
                self._session = active
            else:
                self._session = self._start(SparkSession.builder)
                self._started = True
        return self._session

    def _start(self, builder: Any) -> SparkSession:
        master = self.settings.spark_master
        conf = dict(DEFAULTS)
        if master.startswith("local"):
            # the workers must be this interpreter, which has dwetl, Polars and pyarrow (a
            # cluster's executors have their own Python: spark.pyspark.python there)
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            conf["spark.pyspark.python"] = sys.executable
        conf |= dict(self.settings.spark_conf)
        builder = builder.master(master).appName("dwetl")
        for key, value in conf.items():
            builder = builder.config(key, value)
        log.info("starting Spark (master %s)", master)
        session: SparkSession = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session

    def close(self) -> None:
        """Stop the session if this run started it."""
        if self._started and self._session is not None:
            self._session.stop()
        self._session, self._started = None, False

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
