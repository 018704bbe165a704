"""Shared fixtures: a real sample SQLite source and a fresh DuckDB warehouse after `init`.

`etl` (function scope) is a small harness over real files in the test's tmp folder:

    etl.sample(rows=1000, seed=3, damage=0.02)   # writes tmp/oltp.sqlite (cached per params)
    etl.init()                                   # tmp/dw.duckdb through dwetl.init.run_init
    summary = etl.run("all")                     # dwetl.run.runner.run, a RunSummary
    etl.dw("SELECT COUNT(*) FROM dw.dim_cliente")  # rows from the warehouse
    etl.src("SELECT COUNT(*) FROM clientes")       # rows from the source (sqlite3)
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dwetl.config import Settings, load_settings

SampleFile = Callable[[int, int, float], Path]


@pytest.fixture(scope="session")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> SampleFile:
    """`sample_file(rows, seed, damage)`: a sample SQLite source, generated once per session."""
    made: dict[tuple[int, int, float], Path] = {}

    def make(rows: int, seed: int, damage: float) -> Path:
        key = (rows, seed, damage)
        if key not in made:
            from dwetl.sample import generate_sample
            from dwetl.sample.write import writer_for

            path = tmp_path_factory.mktemp("sample") / f"oltp_{rows}_{seed}_{damage}.sqlite"
            url = load_settings(source=f"sqlite:///{path}", env={}).source
            writer = writer_for(url)
            writer.write(generate_sample(rows, seed, damage, legacy_bytes=writer.legacy_bytes))
            made[key] = path
        return made[key]

    return make


class Etl:
    """A source and a warehouse in one tmp folder, driven through dwetl's real functions."""

    def __init__(self, folder: Path, sample_file: SampleFile) -> None:
        self.folder = folder
        self.source_path = folder / "oltp.sqlite"
        self.dw_path = folder / "dw.duckdb"
        self._sample_file = sample_file

    @property
    def settings(self) -> Settings:
        """Settings pointing at this folder's files (no env, no dwetl.toml)."""
        return load_settings(
            source=f"sqlite:///{self.source_path}",
            dw=f"duckdb:///{self.dw_path}",
            cwd=self.folder,
            env={},
        )

    @property
    def env(self) -> dict[str, str]:
        """Environment for the console script: this folder's URLs."""
        return {
            "DWETL_SOURCE_URL": f"sqlite:///{self.source_path}",
            "DWETL_DW_URL": f"duckdb:///{self.dw_path}",
        }

    def sample(self, rows: int = 1000, seed: int = 1, damage: float = 0.0) -> Path:
        """Copy a cached sample source to this folder (a fresh, private copy)."""
        shutil.copyfile(self._sample_file(rows, seed, damage), self.source_path)
        return self.source_path

    def init(self) -> None:
        """`dwetl init` on this folder's warehouse."""
        from dwetl.init import run_init

        report = run_init(self.settings)
        assert report.ok, report.as_dict()

    def run(self, *entities: str, **options: Any) -> Any:
        """`dwetl.run.runner.run` on this folder (entities default to all)."""
        from dwetl.run.runner import run

        return run(self.settings, list(entities) or ["all"], **options)

    def dw(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of a query on the warehouse."""
        from dwetl.dialects import open_warehouse

        with open_warehouse(self.settings.dw, self.settings) as wh:
            return wh.fetchall(sql, params)

    def dw_frame(self, sql: str) -> pl.DataFrame:
        """A query on the warehouse as a Polars frame."""
        from dwetl.dialects import open_warehouse

        with open_warehouse(self.settings.dw, self.settings) as wh:
            return wh.fetch_polars(sql)

    def src(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query (or the effect of a statement, committed) on the source."""
        con = sqlite3.connect(self.source_path)
        try:
            rows = con.execute(sql, tuple(params)).fetchall()
            con.commit()
            return rows
        finally:
            con.close()


@pytest.fixture
def etl(tmp_path: Path, sample_file: SampleFile) -> Etl:
    """A fresh source + warehouse harness in the test's tmp folder."""
    return Etl(tmp_path, sample_file)


@pytest.fixture
def new_etl(tmp_path: Path, sample_file: SampleFile) -> Callable[[str], Etl]:
    """`new_etl("name")`: another harness in its own sub-folder (a second warehouse)."""

    def make(name: str) -> Etl:
        folder = tmp_path / name
        folder.mkdir()
        return Etl(folder, sample_file)

    return make
