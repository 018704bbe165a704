"""The README's benchmark section from results files, and the old section's move into
benchmarks/README.md: headings one level down, links relative to benchmarks/, newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks import readme_table


def _wall(seconds: float, rss_mb: float = 1024.0) -> dict[str, Any]:
    return {
        "wall_s": {"median": seconds, "min": seconds, "max": seconds, "n": 1},
        "peak_rss_mb": {"median": rss_mb, "min": rss_mb, "max": rss_mb, "n": 1},
    }


def _result(path: Path, dw: str) -> Path:
    result = {
        "meta": {
            "date": "2026-12-07",
            "dw": dw,
            "commit": "abc1234",
            "machine": "x86_64, 2 cores",
            "load_average": [3.0, 2.0, 1.0],
            "command": f"python -m benchmarks.reload --items 1M --dw {dw}",
        },
        "sizes": [
            {
                "items": 1_000_000,
                "label": "1M",
                "repeat": 3,
                "changed_items": 10_000,
                "summary": {
                    "dwetl_full": _wall(10.0, 1536.0),
                    "floor": _wall(4.0),
                    "dlt": _wall(40.0),
                    "dlt_parquet": _wall(30.0),
                    "dwetl_incremental": _wall(0.5),
                },
                "ratios": {"dwetl_full / floor": 2.5, "dwetl_incremental / dwetl_full": 0.05},
            }
        ],
        "checks": {"baseline": {"status": "equal", "commit": "0ld0000", "path": "old.json"}},
    }
    path.write_text(json.dumps(result))
    return path


README = """# dwetl

## Install

uv sync

## Benchmarks (latest, 2026-12-05)

| warehouse | dwetl full |
|---|---|
| DuckDB | 34.7 s |

Results: [benchmarks/results/2026-12-05-duckdb-5M.md](benchmarks/results/2026-12-05-duckdb-5M.md),
see [docs/architecture.md](docs/architecture.md#reading-ahead) and [dlt](https://dlthub.com).

### 2026-12-04: every tool

![chart](benchmarks/results/2026-12-04-duckdb-5M.png)

## Documentation

- [docs/configuration.md](docs/configuration.md)
"""


def test_the_new_section_replaces_the_old_which_moves_to_the_benchmarks_readme(
    tmp_path: Path,
) -> None:
    readme, bench_readme = tmp_path / "README.md", tmp_path / "benchmarks-README.md"
    readme.write_text(README)
    bench_readme.write_text("# Benchmarks\n\nHow to run.\n")
    files = [_result(tmp_path / "d.json", "duckdb"), _result(tmp_path / "p.json", "postgresql")]
    argv = [str(f) for f in files]
    argv += ["--write", "--readme", str(readme), "--benchmarks-readme", str(bench_readme)]

    readme_table.main(argv)

    text = readme.read_text()
    assert text.startswith("# dwetl\n\n## Install\n\nuv sync\n\n## Benchmarks (latest, 2026-12-07)")
    assert text.endswith("## Documentation\n\n- [docs/configuration.md](docs/configuration.md)\n")
    assert "34.7 s" not in text and "### 2026-12-04" not in text
    assert (
        "| DuckDB, 1M items (K=3) | 10.0 s | 4.0 s |  | 30.0 s |  | 0.5 s (10,000 changed) " in text
    )
    assert "| 1.50 GB |" in text
    assert "| dwetl_full / floor | 2.50 | 2.50 | ≤ 1.5 at 5M, ≤ 2.0 at 1M (DuckDB) |" in text
    assert "the warehouse is **equal** against the baseline run of commit 0ld0000" in text
    assert "    uv run --group bench python -m benchmarks.reload --items 1M --dw postgresql" in text

    moved = bench_readme.read_text()
    assert moved.startswith("# Benchmarks\n\nHow to run.\n\n## Earlier results\n")
    assert "### Benchmarks (2026-12-05)\n" in moved
    assert "#### 2026-12-04: every tool" in moved
    assert "[benchmarks/results/2026-12-05-duckdb-5M.md](results/2026-12-05-duckdb-5M.md)" in moved
    assert "[docs/architecture.md](../docs/architecture.md#reading-ahead)" in moved
    assert "[dlt](https://dlthub.com)" in moved
    assert "![chart](results/2026-12-04-duckdb-5M.png)" in moved

    # the next replacement puts the section it replaces above the older ones
    readme_table.main(argv)
    moved = bench_readme.read_text()
    assert moved.count("## Earlier results") == 1
    latest = moved.index("### Benchmarks (2026-12-07)")
    assert latest < moved.index("### Benchmarks (2026-12-05)")
    assert moved.index("## Earlier results") < latest


def _size(items: int, full: float, rss_mb: float, incremental: float) -> dict[str, Any]:
    return {
        "items": items,
        "label": f"{items // 1_000_000}M",
        "repeat": 1,
        "changed_items": 50_000,
        "summary": {
            "dwetl_full": _wall(full, rss_mb),
            "floor": _wall(full / 2),
            "dwetl_incremental": _wall(incremental),
        },
        "ratios": {},
    }


def test_growth_shows_each_size_against_the_one_before_and_the_checks_that_ran(
    tmp_path: Path,
) -> None:
    # issue 23's growth targets name 20M / 5M, which a run over 1M, 5M and 20M must show
    result = json.loads(_result(tmp_path / "d.json", "duckdb").read_text())
    result["sizes"] = [
        _size(1_000_000, 6.0, 1000.0, 2.0),
        _size(5_000_000, 17.0, 1400.0, 3.0),
        _size(20_000_000, 63.0, 2800.0, 9.0),
    ]
    result["checks"] = {
        "rounds": {"status": "equal"},
        "before": {"status": "equal"},
        "baseline": {"status": "no baseline"},
    }
    path = tmp_path / "three.json"
    path.write_text(json.dumps(result))

    text = readme_table.section([result], [path])

    incremental = "dwetl_incremental, 50,000 items changed at both"
    assert f"| DuckDB: {incremental}, 20,000,000 / 5,000,000 items | 3.00 | ≤ 1.5 at 20M" in text
    assert "| DuckDB: dwetl_full peak RSS, 20,000,000 / 5,000,000 items | 2.00 | ≤ 1.3" in text
    # against the smallest size too, where no target applies
    assert f"| DuckDB: {incremental}, 20,000,000 / 1,000,000 items | 4.50 |  |" in text
    assert (
        "- DuckDB: the warehouse is **equal** in every round; **equal** to the previous "
        "commit's, loaded in the same rounds; not compared with a baseline run." in text
    )
