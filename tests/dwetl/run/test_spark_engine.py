"""`dwetl run --engine spark` (real Spark in local mode, real databases) leaves the warehouse that
`--engine polars` leaves: every dw table row by row, surrogate keys included, the same rejects
and counts, on a full reload and an incremental run after new, updated and late-arriving rows;
a task that fails its first attempt is retried without duplicate rows; a run whose task keeps
failing leaves the fact, its watermark and the quarantine as they were, and the next completes.
Without pyspark, `--engine spark` is one line and exit 2.

One SparkSession for the module (the engine takes the active session: the JVM starts once);
the 50,000-item damaged sample is generated once per session (`sample_file`, `sample_data`)."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dwetl.entities.registry import get_entity
from dwetl.run.faults import FAULT_ENV
from dwetl.run.runner import run
from dwetl.run.spark import pg_staging
from dwetl.run.spark.session import INSTALL
from dwetl.source import extract

pytestmark = [
    pytest.mark.spark,
    # pyspark's notice that it does not fully support pandas 3 (dwetl's Spark path uses none)
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

ITEMS = 50_000
#: 5 batches of fact_vendas on the full reload
FULL_BATCH_ROWS = 10_000
#: the incremental run's few hundred changed items, in several batches too
INCREMENTAL_BATCH_ROWS = 100
#: the statuses, counts and watermarks of `--json`, less what depends on time
TIMED = ("seconds", "source_clock", "started_at", "finished_at")
#: a staging table (or a twin of the target) left behind
LEFT = (
    "SELECT COUNT(*) FROM information_schema.tables "
    "WHERE table_schema = 'stg' OR POSITION('__loading_' IN table_name) > 0"
)


@pytest.fixture(scope="module")
def spark(unavailable: Callable[[str], NoReturn]) -> Iterator[Any]:
    """A local SparkSession for the module (2 cores, 2 attempts per task: Spark retries)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        unavailable("pyspark is not installed (uv sync --extra spark)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2,2]")
        .appName("dwetl-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _run(etl: Any, engine: str, *, full: bool, batch_rows: int, staging: Path) -> Any:
    settings = dataclasses.replace(
        etl.settings, engine=engine, batch_rows=batch_rows, spark_staging_dir=str(staging)
    )
    return run(settings, ["all"], full=full, max_reject_ratio=1.0)


def _counts(summary: Any) -> dict[str, dict[str, Any]]:
    return {
        e.entity: {k: v for k, v in e.to_dict().items() if k not in TIMED} for e in summary.entities
    }


def _warehouse(etl: Any, *, lineage: bool = True) -> dict[str, pl.DataFrame]:
    """Every dw table and the quarantine, sorted on every column (`lineage` False: without the
    run ids, where the two warehouses' run histories differ)."""
    names = [t for (t,) in etl.dw(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dw' "
        "AND table_type = 'BASE TABLE' ORDER BY 1"
    )]  # fmt: skip
    tables = {f"dw.{name}": etl.dw_frame(f"SELECT * FROM dw.{name}") for name in names}
    tables["ctl.etl_reject"] = etl.dw_frame(
        "SELECT run_id, entity, source_key, reasons, row_json, applied, resolved_run_id "
        "FROM ctl.etl_reject"
    )
    if not lineage:
        tables = {
            name: frame.drop("id_execucao", "run_id", "resolved_run_id", strict=False)
            for name, frame in tables.items()
        }
        run_id = pl.col("row_json").str.replace_all(r'"id_execucao":\s*\d+', '"id_execucao":0')
        tables["ctl.etl_reject"] = tables["ctl.etl_reject"].with_columns(run_id)
    return {name: frame.sort(pl.all(), nulls_last=True) for name, frame in tables.items()}


def _same(mine: Any, theirs: Any, *, lineage: bool = True, blocked: bool = True) -> None:
    """Every table equal (`blocked` False: the quarantine's applied rows only, where `mine`
    had a failed run, which kept its rejects as not applied)."""
    left, right = _warehouse(mine, lineage=lineage), _warehouse(theirs, lineage=lineage)
    if not blocked:
        for tables in (left, right):
            tables["ctl.etl_reject"] = tables["ctl.etl_reject"].filter(pl.col("applied"))
    assert left.keys() == right.keys()
    assert left["dw.fact_vendas"].height > 40_000
    for name, frame in left.items():
        try:
            assert_frame_equal(frame, right[name], check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def _change_source(etl: Any) -> None:
    """Updated items, new items, and new items whose product has not arrived yet (a
    late-arriving dimension member: the fact gets an inferred member), all after the watermark;
    spread over the keys so that the incremental run reads several batches."""
    later = etl.later("venda_itens")
    etl.src(
        "UPDATE venda_itens SET quantidade = quantidade + 1, atualizado_em = ? WHERE id % 200 = 7",
        [later],
    )
    (top,), *_ = etl.src("SELECT MAX(id) FROM venda_itens")
    (late_product,), *_ = etl.src("SELECT MAX(id) + 1000 FROM produtos")
    for offset in range(60):
        product = late_product + offset % 3 if offset % 2 else "id_produto"
        etl.src(
            "INSERT INTO venda_itens (id, id_venda, id_produto, quantidade, preco_unitario, "
            f"valor_desconto, atualizado_em) SELECT {top + 1 + offset}, id_venda, {product}, "
            "2, preco_unitario, 0, ? FROM venda_itens WHERE id = ?",
            [later, 1 + offset * 500],
        )


def _twins(etl: Any, new_etl: Any) -> Any:
    """`etl` (for the Polars engine) and a second warehouse on the same 50,000-item damaged
    source (for Spark), both initialised."""
    etl.sample(ITEMS, 3, 0.02)
    etl.init()
    other = new_etl("spark")
    other.use_source_of(etl)
    other.init()
    return other


def _driver_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times this process (the driver; Spark's workers are processes of their own)
    reads each extract file from the source, by file name, from now on."""
    reads: dict[str, int] = {}
    read = extract._read

    def counted(reading: Any, path: Path, *args: Any, **kwargs: Any) -> Any:
        reads[path.name] = reads.get(path.name, 0) + 1
        return read(reading, path, *args, **kwargs)

    monkeypatch.setattr(extract, "_read", counted)
    return reads


def _staged_files(staging: Path) -> list[Path]:
    return sorted(staging.glob("dwetl-run*")) if staging.exists() else []


@pytest.mark.pairs("sqlite-duckdb")
def test_spark_retries_a_task_fails_cleanly_and_equals_polars(
    spark: Any, etl: Any, new_etl: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_spark = _twins(etl, new_etl)
    staging = tmp_path / "staging"
    reads = _driver_reads(monkeypatch)

    polars_full = _run(etl, "polars", full=True, batch_rows=FULL_BATCH_ROWS, staging=staging)
    parts = {p.sql for p in get_entity("fact_vendas").extract_parts[1:]}
    assert parts <= set(reads)  # the Polars engine reads the order headers once, whole
    reads.clear()
    # the second batch's task raises on its first attempt: Spark runs it again
    monkeypatch.setenv(FAULT_ENV, "task2-first:fact_vendas")
    spark_full = _run(on_spark, "spark", full=True, batch_rows=FULL_BATCH_ROWS, staging=staging)
    monkeypatch.delenv(FAULT_ENV)

    assert spark_full.status == "success", spark_full.to_dict()
    vendas = next(e for e in spark_full.entities if e.entity == "fact_vendas")
    assert vendas.batches == 5 and vendas.inferred and vendas.rejected and vendas.folded
    # nothing of the distributed facts is read by the driver: each task reads the order
    # headers its own items join (the driver neither reads nor broadcasts them all)
    distributed = [e.entity for e in spark_full.entities if e.entity.startswith("fact_")
                   and e.batches > 1]  # fmt: skip
    assert "fact_vendas" in distributed
    for entity in distributed:
        files = {p.sql for p in get_entity(entity).extract_parts}
        assert not files & set(reads), (entity, reads)
    assert _counts(spark_full) == _counts(polars_full)
    _same(on_spark, etl)  # no duplicate row of the retried batch
    assert _staged_files(staging) == []

    _change_source(etl)
    # the third batch's task fails on every attempt: after others wrote their batches
    _fails_leaving_the_fact_as_it_was(on_spark, staging, monkeypatch, "task3")
    assert _staged_files(staging) == []

    spark_next = _run(
        on_spark, "spark", full=False, batch_rows=INCREMENTAL_BATCH_ROWS, staging=staging
    )
    polars_next = _run(etl, "polars", full=False, batch_rows=INCREMENTAL_BATCH_ROWS,
                       staging=staging)  # fmt: skip
    assert spark_next.status == "success", spark_next.to_dict()
    # only fact_vendas read the same changes on both sides: the failed run loaded the others
    # (their watermarks moved), on one side
    mine, theirs = _counts(spark_next)["fact_vendas"], _counts(polars_next)["fact_vendas"]
    assert mine["batches"] > 1 and mine["inferred"] > 0 and mine["updated"] > 0
    assert mine == theirs
    _same(on_spark, etl, lineage=False)  # the failed run took a run id on one side only


@pytest.mark.servers
@pytest.mark.pairs("postgresql-postgresql")
def test_spark_tasks_copy_into_postgresql_and_equal_polars(
    spark: Any, etl: Any, new_etl: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_spark = _twins(etl, new_etl)
    staging = tmp_path / "staging"
    attached: list[tuple[str, int]] = []  # (table, rows) the driver attached, per batch
    attach_table = pg_staging.attach

    def attach(wh: Any, table: str, parent: str) -> None:  # what it attached, told
        (rows,), *_ = wh.fetchall(f"SELECT COUNT(*) FROM {table}")
        attached.append((table, int(rows)))
        attach_table(wh, table, parent)

    monkeypatch.setattr(pg_staging, "attach", attach)

    # the second batch's task fails on its first attempt after its COPY committed: Spark runs
    # it again, and only the attempt it reports as done is merged
    monkeypatch.setenv(FAULT_ENV, "task2-written-first:fact_vendas")
    mine = _run(on_spark, "spark", full=True, batch_rows=FULL_BATCH_ROWS, staging=staging)
    monkeypatch.delenv(FAULT_ENV)
    theirs = _run(etl, "polars", full=True, batch_rows=FULL_BATCH_ROWS, staging=staging)
    assert mine.status == "success", mine.to_dict()
    assert _counts(mine) == _counts(theirs)
    _copied_by_tasks(_counts(mine)["fact_vendas"], attached)
    _same(on_spark, etl)  # no duplicate row of the retried batch
    # the staging tables are dropped, the retried batch's failed attempt's too
    assert on_spark.dw(LEFT) == [(0,)]

    _change_source(etl)
    # every task has COPYed its batch when the merge fails
    _fails_leaving_the_fact_as_it_was(on_spark, staging, monkeypatch, "merge")
    attached.clear()
    mine = _run(on_spark, "spark", full=False, batch_rows=INCREMENTAL_BATCH_ROWS, staging=staging)
    theirs = _run(etl, "polars", full=False, batch_rows=INCREMENTAL_BATCH_ROWS, staging=staging)
    assert mine.status == "success", mine.to_dict()
    # only fact_vendas read the same changes on both sides: the failed run loaded the others
    vendas = _counts(mine)["fact_vendas"]
    assert vendas == _counts(theirs)["fact_vendas"]
    assert vendas["inferred"] > 0 and vendas["updated"] > 0
    _copied_by_tasks(vendas, attached)
    # the failed run took a run id, and kept its rejects as not applied, on one side only
    _same(on_spark, etl, lineage=False, blocked=False)
    assert on_spark.dw(LEFT) == [(0,)]


def _copied_by_tasks(vendas: dict[str, Any], attached: list[tuple[str, int]]) -> None:
    """Each batch of fact_vendas went by its task's COPY into a table of its own attempt,
    one attempt per batch attached, holding the rows the merge took."""
    assert vendas["batches"] > 1
    tables = [t for t, _ in attached if re.fullmatch(r"stg\.fact_vendas_\d+_b\d+_t\d+", t)]
    assert len(tables) == len({t.rpartition("_t")[0] for t in tables}) > 1
    loaded = vendas["inserted"] + vendas["updated"] + vendas["unchanged"]
    assert sum(n for t, n in attached if t in tables) == loaded


def _fails_leaving_the_fact_as_it_was(
    on_spark: Any, staging: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """An incremental run whose fact_vendas fails at `fault` (a fault point of
    `dwetl.run.faults`) leaves the fact, its watermark and the quarantine as they were, and
    no staging table."""
    before = _warehouse(on_spark)
    watermark = on_spark.dw(
        "SELECT watermark_value FROM ctl.etl_control WHERE entity = 'fact_vendas'"
    )
    monkeypatch.setenv(FAULT_ENV, f"{fault}:fact_vendas")
    failed = _run(on_spark, "spark", full=False, batch_rows=INCREMENTAL_BATCH_ROWS, staging=staging)
    monkeypatch.delenv(FAULT_ENV)
    vendas = next(e for e in failed.entities if e.entity == "fact_vendas")
    assert vendas.status == "failed" and fault in str(vendas.error), vendas.to_dict()
    after = _warehouse(on_spark)
    assert_frame_equal(after["dw.fact_vendas"], before["dw.fact_vendas"])
    applied = pl.col("applied")
    assert_frame_equal(
        after["ctl.etl_reject"].filter(applied), before["ctl.etl_reject"].filter(applied)
    )
    assert (
        on_spark.dw("SELECT watermark_value FROM ctl.etl_control WHERE entity = 'fact_vendas'")
        == watermark
    )
    assert on_spark.dw(LEFT) == [(0,)]


def test_without_pyspark_the_spark_engine_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # a process where `import pyspark` fails, as where the extra is not installed
    code = (
        "import sys; sys.modules['pyspark'] = None; "
        "from dwetl.cli.app import main; sys.argv = ['dwetl'] + sys.argv[1:]; main()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    done = subprocess.run(
        [sys.executable, "-c", code, "run", "--engine", "spark", "--dw",
         f"duckdb:///{tmp_path / 'dw.duckdb'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and INSTALL in lines[0], done.stderr
    assert "uv sync --extra spark" in lines[0]
    assert not (tmp_path / "dw.duckdb").exists()  # refused before opening anything
