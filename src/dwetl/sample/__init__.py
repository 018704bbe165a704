"""A realistic, damaged OLTP source for dwetl: `generate_sample(...)` then `write_sample(...)`.

Generation (`generate`), damage with its ground truth (`damage`, `textdamage`) and the writers
per source backend (`writers`) are separate modules; this one ties them together.

>>> s = generate_sample(rows=300, seed=7, damage=0.05)
>>> s.tables["venda_itens"].filter(s.tables["venda_itens"]["id"] <= 300)["id"].n_unique()
300
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from dwetl.core.config import Settings
from dwetl.core.urls import DbUrl
from dwetl.sample.damage import Damaged, damage_frames
from dwetl.sample.generate import generate_clean


@dataclass
class Sample:
    """The source tables (with damage), legacy-encoded cells, ground truth and parameters."""

    rows: int
    seed: int
    damage: float
    tables: dict[str, pl.DataFrame]
    legacy: dict[tuple[str, str], dict[int, bytes]] = field(default_factory=dict)
    truth: pl.DataFrame = field(default_factory=pl.DataFrame)

    def info(self) -> pl.DataFrame:
        """The `sample_info` rows: per table, rows written and distinct ids, plus parameters."""
        return pl.DataFrame(
            {
                "tabela": list(self.tables),
                "linhas": [f.height for f in self.tables.values()],
                "ids_distintos": [f["id"].n_unique() for f in self.tables.values()],
                "semente": [self.seed] * len(self.tables),
                "itens": [self.rows] * len(self.tables),
                "taxa_dano": [self.damage] * len(self.tables),
            },
            schema={
                "tabela": pl.String,
                "linhas": pl.Int64,
                "ids_distintos": pl.Int64,
                "semente": pl.Int64,
                "itens": pl.Int64,
                "taxa_dano": pl.Float64,
            },
        )


def generate_sample(rows: int, seed: int, damage: float, *, legacy_bytes: bool = True) -> Sample:
    """N = `rows` order items and the rest in proportion, damaged at rate `damage`.

    `legacy_bytes`: whether the target can store non-UTF-8 text (class `codificacao_legada`).
    """
    frames = generate_clean(rows, seed)
    damaged: Damaged = damage_frames(frames, damage, seed, legacy_bytes=legacy_bytes)
    return Sample(
        rows=rows,
        seed=seed,
        damage=damage,
        tables=damaged.tables,
        legacy=damaged.legacy,
        truth=damaged.truth,
    )


def write_sample(
    sample: Sample, url: DbUrl | str, settings: Settings | None = None
) -> dict[str, float]:
    """Write `sample` to the source database at `url`; seconds per table.

    The writer is picked by the URL's scheme (`dwetl.sample.writers.WRITERS`); it drops and
    recreates the OLTP tables and `sample_damage` / `sample_info`.
    """
    from dwetl.sample.writers import write_sample as _write

    return _write(sample, url, settings)


__all__ = ["Sample", "generate_sample", "write_sample"]
