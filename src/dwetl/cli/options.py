"""Options shared by the commands, declared once so their names and help never drift apart."""

from __future__ import annotations

import shlex
from typing import Annotated, Any

import typer

from dwetl.core.config import SETTINGS
from dwetl.core.masking import scrub


def _setting_option(name: str) -> Any:
    """The option of setting `name`, its name and help from the settings' one declaration."""
    setting = SETTINGS[name]
    return typer.Option(setting.option, help=setting.option_help)


DwOption = Annotated[str | None, _setting_option("dw")]
SourceOption = Annotated[str | None, _setting_option("source")]
SqlDirOption = Annotated[str | None, _setting_option("sql_dir")]
DdlDirOption = Annotated[str | None, _setting_option("ddl_dir")]
MaxRejectRatioOption = Annotated[float | None, _setting_option("max_reject_ratio")]
BatchRowsOption = Annotated[int | None, _setting_option("batch_rows")]
OnFailedDimensionOption = Annotated[str | None, _setting_option("on_failed_dimension")]
EngineOption = Annotated[str | None, _setting_option("engine")]
SparkMasterOption = Annotated[str | None, _setting_option("spark_master")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def dw_argument(dw: str | None) -> str:
    """` --dw URL` (password masked, shell-quoted) for a command line printed as advice, when
    the command was given --dw; else "" (the environment or dwetl.toml still apply).

    >>> dw_argument(None), dw_argument("duckdb:///tmp/my dw.duckdb")
    ('', " --dw 'duckdb:///tmp/my dw.duckdb'")
    """
    return "" if dw is None else f" --dw {shlex.quote(scrub(dw))}"
