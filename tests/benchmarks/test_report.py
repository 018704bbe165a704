"""A benchmark never writes its result over an earlier one: the default names are dated, and
two runs on one day would otherwise share them."""

from __future__ import annotations

from pathlib import Path

from benchmarks.report import unused_name


def test_a_taken_name_gets_the_next_free_number(tmp_path: Path) -> None:
    assert unused_name(tmp_path, "2026-12-07-cli-start") == "2026-12-07-cli-start"
    (tmp_path / "2026-12-07-cli-start.json").write_text("{}")
    assert unused_name(tmp_path, "2026-12-07-cli-start") == "2026-12-07-cli-start-2"
    (tmp_path / "2026-12-07-cli-start-2.md").write_text("# earlier")  # a markdown alone counts
    assert unused_name(tmp_path, "2026-12-07-cli-start") == "2026-12-07-cli-start-3"


def test_a_longer_name_sharing_the_prefix_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "2026-12-07-cli-start-quiet-ca9eabc.json").write_text("{}")
    (tmp_path / "2026-12-07-cli-start.png").write_text("")  # a chart alone is not a result
    assert unused_name(tmp_path, "2026-12-07-cli-start") == "2026-12-07-cli-start"
