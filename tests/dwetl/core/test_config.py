"""Settings: URL parsing, precedence option > env > dwetl.toml > default, one-line errors."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dwetl.core import config
from dwetl.core.config import SETTINGS, load_settings
from dwetl.core.errors import UsageError
from dwetl.core.paths import sql_root
from dwetl.core.urls import DbUrl


def test_defaults_are_embedded_files_under_cwd(tmp_path: Path) -> None:
    s = load_settings(cwd=tmp_path, env={})
    assert s.source.scheme == "sqlite" and s.source.path == tmp_path / "data" / "oltp.sqlite"
    assert s.dw.scheme == "duckdb" and s.dw.path == tmp_path / "data" / "warehouse.duckdb"
    assert s.sql_dir == sql_root() / "extract"
    assert s.ddl_dir == sql_root() / "ddl"
    assert (s.connect_attempts, s.connect_backoff_seconds, s.connect_backoff_max_seconds) == (
        (5, 0.5, 8.0)
    )
    assert (s.watermark_overlap_seconds, s.max_reject_ratio) == (300, 0.05)
    assert s.lock_timeout_seconds == 60


def test_an_existing_earlier_default_warehouse_is_kept_with_one_notice(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dw.duckdb").touch()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign, assignment]
    logging.getLogger("dwetl").addHandler(handler)
    try:
        for _ in range(2):
            settings = load_settings(cwd=tmp_path, env={})
            assert settings.dw.path == tmp_path / "data" / "dw.duckdb"
    finally:
        logging.getLogger("dwetl").removeHandler(handler)
    (notice,) = [r.getMessage() for r in records]
    assert "using the existing warehouse data/dw.duckdb" in notice
    assert "the default is now data/warehouse.duckdb" in notice
    # an explicit URL is never second-guessed, and once the new default exists it wins
    env = {"DWETL_DW_URL": "duckdb:///data/other.duckdb"}
    assert load_settings(cwd=tmp_path, env=env).dw.path == tmp_path / "data" / "other.duckdb"
    (tmp_path / "data" / "warehouse.duckdb").touch()
    assert load_settings(cwd=tmp_path, env={}).dw.path == tmp_path / "data" / "warehouse.duckdb"


def test_option_beats_env_beats_toml(tmp_path: Path) -> None:
    (tmp_path / "dwetl.toml").write_text(
        '[dw]\nurl = "duckdb:///toml.duckdb"\n[source]\nurl = "sqlite:///toml.sqlite"\n'
        "[connect]\nattempts = 7\nbackoff_seconds = 0.25\n"
        '[run]\nlock_timeout_seconds = 5\n[extract]\nsql_dir = "myextract"\n'
    )
    env = {"DWETL_DW_URL": "duckdb:///env.duckdb"}
    s = load_settings(cwd=tmp_path, env=env)
    assert s.dw.path == tmp_path / "env.duckdb"
    assert s.source.path == tmp_path / "toml.sqlite"
    assert s.connect_attempts == 7 and s.connect_backoff_seconds == 0.25
    assert s.lock_timeout_seconds == 5
    assert s.sql_dir == tmp_path / "myextract"
    s = load_settings(dw="duckdb:////abs/opt.duckdb", cwd=tmp_path, env=env)
    assert s.dw.path == Path("/abs/opt.duckdb")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("oracle://u:s3cret@h/db", "unknown database scheme 'oracle'"),
        ("postgresql://u:s3cret@h:notaport/db", "malformed database URL"),
        ("just-a-path.duckdb", "malformed database URL"),
        ("postgresql://u:s3cret@h:5432/", "must name one database"),
        ("duckdb://somehost/x.duckdb", "no host"),
    ],
)
def test_bad_url_names_the_setting_and_hides_password(
    tmp_path: Path, text: str, fragment: str
) -> None:
    cases: list[tuple[dict[str, Any], dict[str, str], str]] = [
        ({"dw": text}, {}, "--dw"),
        ({}, {"DWETL_DW_URL": text}, "DWETL_DW_URL"),
    ]
    for kwargs, env, origin in cases:
        with pytest.raises(UsageError) as info:
            load_settings(cwd=tmp_path, env=env, **kwargs)
        message = str(info.value)
        assert message.startswith(f"{origin}: ") and fragment in message
        assert "s3cret" not in message and "\n" not in message
        assert info.value.exit_code == 2
    (tmp_path / "dwetl.toml").write_text(f'[dw]\nurl = "{text}"\n')
    with pytest.raises(UsageError, match=r"^dwetl\.toml \[dw\] url: "):
        load_settings(cwd=tmp_path, env={})


def test_bad_numbers_and_unknown_toml_keys(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="DWETL_CONNECT_ATTEMPTS: expected a whole number"):
        load_settings(cwd=tmp_path, env={"DWETL_CONNECT_ATTEMPTS": "many"})
    with pytest.raises(UsageError, match="DWETL_CONNECT_ATTEMPTS: must be >= 1"):
        load_settings(cwd=tmp_path, env={"DWETL_CONNECT_ATTEMPTS": "0"})
    (tmp_path / "dwetl.toml").write_text("[run]\nmax_reject_ratio = 2\n")
    with pytest.raises(UsageError, match=r"\[run\] max_reject_ratio: must be between 0 and 1"):
        load_settings(cwd=tmp_path, env={})
    (tmp_path / "dwetl.toml").write_text("[connect]\nattempt = 3\n")
    with pytest.raises(UsageError, match=r"unknown setting \[connect\] attempt"):
        load_settings(cwd=tmp_path, env={})
    (tmp_path / "dwetl.toml").write_text("[dw\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_settings(cwd=tmp_path, env={})


def test_batch_rows_option_beats_env_beats_toml_and_zero_never_batches(tmp_path: Path) -> None:
    assert load_settings(cwd=tmp_path, env={}).batch_rows == 1_000_000
    (tmp_path / "dwetl.toml").write_text("[run]\nbatch_rows = 500000\n")
    assert load_settings(cwd=tmp_path, env={}).batch_rows == 500_000
    env = {"DWETL_BATCH_ROWS": "250000"}
    assert load_settings(cwd=tmp_path, env=env).batch_rows == 250_000
    assert load_settings(cwd=tmp_path, env=env, batch_rows=0).batch_rows == 0
    with pytest.raises(UsageError, match="--batch-rows: must be >= 0, got -1"):
        load_settings(cwd=tmp_path, env=env, batch_rows=-1)
    with pytest.raises(UsageError, match="DWETL_BATCH_ROWS: expected a whole number, got '1e6'"):
        load_settings(cwd=tmp_path, env={"DWETL_BATCH_ROWS": "1e6"})


#: a valid value of each setting, in the form each channel gives it: (option, env, toml)
_GOOD: dict[str, tuple[Any, str, str]] = {
    "source": ("sqlite:///given.sqlite", "sqlite:///given.sqlite", '"sqlite:///given.sqlite"'),
    "dw": ("duckdb:///given.duckdb", "duckdb:///given.duckdb", '"duckdb:///given.duckdb"'),
    "sql_dir": ("given", "given", '"given"'),
    "ddl_dir": ("given", "given", '"given"'),
    "connect_attempts": (7, "7", "7"),
    "connect_backoff_seconds": (0.25, "0.25", "0.25"),
    "connect_backoff_max_seconds": (3.0, "3", "3"),
    "watermark_overlap_seconds": (10.0, "10", "10"),
    "max_reject_ratio": (0.5, "0.5", "0.5"),
    "lock_timeout_seconds": (5.0, "5", "5"),
    "batch_rows": (10, "10", "10"),
    "on_failed_dimension": ("infer", "infer", '"infer"'),
    "engine": ("spark", "spark", '"spark"'),
    "spark_master": ("local[2]", "local[2]", '"local[2]"'),
    "spark_staging_dir": ("/shared/dwetl", "/shared/dwetl", '"/shared/dwetl"'),
}


def _expected(name: str, tmp_path: Path) -> object:
    """The value `load_settings` gives for `_GOOD[name]`."""
    if name in ("source", "dw"):
        return getattr(load_settings(cwd=tmp_path, env={}, **{name: _GOOD[name][0]}), name)
    if name in ("sql_dir", "ddl_dir"):
        return tmp_path / "given"
    return _GOOD[name][0]


def test_every_setting_has_a_value_to_test_and_one_name() -> None:
    assert set(_GOOD) == set(SETTINGS)
    for name, s in SETTINGS.items():
        assert s.name == name
        base = name.upper() + ("_URL" if s.kind is DbUrl else "")
        assert s.env == f"DWETL_{base}"
        assert s.option == "--" + name.replace("_", "-")
        assert f"{s.section}_{s.key}" == name or s.key == name or s.key == "url"


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_setting_from_each_channel_by_its_one_name(tmp_path: Path, name: str) -> None:
    s = SETTINGS[name]
    option, env_value, toml_value = _GOOD[name]
    want = _expected(name, tmp_path)
    from_option = load_settings(cwd=tmp_path, env={}, **{name: option})
    assert getattr(from_option, name) == want
    assert getattr(load_settings(cwd=tmp_path, env={s.env: env_value}), name) == want
    (tmp_path / "dwetl.toml").write_text(f"[{s.section}]\n{s.key} = {toml_value}\n")
    assert getattr(load_settings(cwd=tmp_path, env={}), name) == want
    assert getattr(load_settings(cwd=tmp_path / "elsewhere", env={}), name) != want


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("connect_attempts", "0", "must be >= 1, got"),
        ("connect_backoff_seconds", "-1", "must be >= 0, got"),
        ("connect_backoff_max_seconds", "-0.5", "must be >= 0, got"),
        ("watermark_overlap_seconds", "-1", "must be >= 0, got"),
        ("max_reject_ratio", "1.5", "must be between 0 and 1, got"),
        ("lock_timeout_seconds", "-5", "must be >= 0, got"),
        ("batch_rows", "-1", "must be >= 0, got"),
        ("on_failed_dimension", "maybe", "expected one of skip, infer, got 'maybe'"),
    ],
)
def test_out_of_bounds_values_are_refused_naming_their_source(
    tmp_path: Path, name: str, bad: str, message: str
) -> None:
    s = SETTINGS[name]
    number = s.kind in (int, float)
    option_value = s.kind(bad) if number else bad
    (tmp_path / "dwetl.toml").write_text(
        f"[{s.section}]\n{s.key} = {bad if number else repr(bad)}\n"
    )
    for kwargs, env, origin in [
        ({name: option_value}, {s.env: bad}, s.option),
        ({}, {s.env: bad}, s.env),
        ({}, {}, f"dwetl.toml {s.toml}"),
    ]:
        with pytest.raises(UsageError) as info:
            load_settings(cwd=tmp_path, env=env, **kwargs)
        assert str(info.value).startswith(f"{origin}: ") and message in str(info.value)
        assert "\n" not in str(info.value) and info.value.exit_code == 2


def _warnings(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.levelno == logging.WARNING]


@pytest.fixture
def dwetl_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[logging.LogRecord]]:
    """The records the `dwetl` logger emits; old names not yet warned about in this process."""
    monkeypatch.setattr(config, "_warned", set())
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign, assignment]
    logging.getLogger("dwetl").addHandler(handler)
    yield records
    logging.getLogger("dwetl").removeHandler(handler)


def test_the_old_toml_key_of_the_watermark_overlap_still_works_with_one_warning(
    tmp_path: Path, dwetl_log: list[logging.LogRecord]
) -> None:
    (tmp_path / "dwetl.toml").write_text("[extract]\noverlap_seconds = 42\n")
    for _ in range(2):
        assert load_settings(cwd=tmp_path, env={}).watermark_overlap_seconds == 42
    (warning,) = _warnings(dwetl_log)
    assert warning == (
        "dwetl.toml [extract] overlap_seconds is deprecated: "
        "use [extract] watermark_overlap_seconds (same meaning)"
    )
    # a bad value under the old name is named by the old name
    (tmp_path / "dwetl.toml").write_text("[extract]\noverlap_seconds = -1\n")
    with pytest.raises(UsageError, match=r"^dwetl\.toml \[extract\] overlap_seconds: must be"):
        load_settings(cwd=tmp_path, env={})
    # the new name, given too, wins; given alone, it warns of nothing
    (tmp_path / "dwetl.toml").write_text(
        "[extract]\noverlap_seconds = 42\nwatermark_overlap_seconds = 7\n"
    )
    assert load_settings(cwd=tmp_path, env={}).watermark_overlap_seconds == 7
    dwetl_log.clear()
    config._warned.clear()
    (tmp_path / "dwetl.toml").write_text("[extract]\nwatermark_overlap_seconds = 7\n")
    assert load_settings(cwd=tmp_path, env={}).watermark_overlap_seconds == 7
    assert _warnings(dwetl_log) == []


def test_old_environment_names_are_read_after_the_new_with_one_warning(
    tmp_path: Path, dwetl_log: list[logging.LogRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    # no environment variable was renamed yet: the mechanism, on a setting given an old name
    renamed = dataclasses.replace(
        SETTINGS["lock_timeout_seconds"], old_names=("DWETL_LOCK_TIMEOUT_S",)
    )
    monkeypatch.setitem(SETTINGS, "lock_timeout_seconds", renamed)
    env = {"DWETL_LOCK_TIMEOUT_S": "9"}
    assert load_settings(cwd=tmp_path, env=env).lock_timeout_seconds == 9
    env["DWETL_LOCK_TIMEOUT_SECONDS"] = "11"
    assert load_settings(cwd=tmp_path, env=env).lock_timeout_seconds == 11
    assert _warnings(dwetl_log) == [
        "DWETL_LOCK_TIMEOUT_S is deprecated: use DWETL_LOCK_TIMEOUT_SECONDS (same meaning)"
    ]


def test_a_misspelt_dwetl_variable_is_named_with_one_warning(
    tmp_path: Path, dwetl_log: list[logging.LogRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "_warned", set())
    env = {"DWETL_DW_ULR": "postgresql://etl@dw/dw", "DWETL_LOG_FILE": "run.log"}
    assert load_settings(cwd=tmp_path, env=env).dw.scheme == "duckdb"  # not read: the default
    load_settings(cwd=tmp_path, env=env)
    assert _warnings(dwetl_log) == [
        "DWETL_DW_ULR is set, but dwetl has no such setting (did you mean DWETL_DW_URL?): "
        "it is ignored"
    ]


def test_an_unknown_option_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="lock_timeout_s"):
        load_settings(cwd=tmp_path, env={}, lock_timeout_s=5)


def test_spark_properties_pass_through_from_the_spark_table(tmp_path: Path) -> None:
    """`spark.*` keys of `[spark]`, quoted or dotted, are Spark's properties (text), beside the
    table's own settings; any other unknown key is still refused."""
    (tmp_path / "dwetl.toml").write_text(
        '[spark]\nmaster = "local[2]"\n"spark.executor.memory" = "4g"\n'
        "spark.sql.shuffle.partitions = 4\n",
        encoding="utf-8",
    )
    settings = load_settings(cwd=tmp_path, env={})
    assert settings.spark_master == "local[2]"
    assert dict(settings.spark_conf) == {
        "spark.executor.memory": "4g",
        "spark.sql.shuffle.partitions": "4",
    }
    (tmp_path / "dwetl.toml").write_text('[spark]\nexecutor_memory = "4g"\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"unknown setting \[spark\] executor_memory"):
        load_settings(cwd=tmp_path, env={})
