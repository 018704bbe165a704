"""`dwetl sample`: write a realistic, damaged OLTP source with its ground truth."""

from __future__ import annotations

import time

import typer

from dwetl.cli.options import SourceOption
from dwetl.core.config import load_settings
from dwetl.core.errors import UsageError


def sample(
    rows: int = typer.Option(50_000, "--rows", help="Order items (venda_itens) to write."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same data."),
    damage: float = typer.Option(
        0.02, "--damage", help="Damage rate R: fraction of rows (and of text values) damaged."
    ),
    source: SourceOption = None,
) -> None:
    """Write the OLTP source (N items, the rest in proportion) and its sample_damage table.

    Only into an empty database or one `dwetl sample` wrote (its table sample_marker): a
    database with other tables (an ERP) is refused with exit 2, nothing dropped.
    """
    from dwetl.sample import generate_sample
    from dwetl.sample.expected import expected_counts
    from dwetl.sample.writers import writer_for

    if rows < 1:
        raise UsageError(f"--rows must be >= 1 (got {rows})")
    if not 0.0 <= damage <= 1.0:
        raise UsageError(f"--damage must be between 0 and 1 (got {damage})")
    settings = load_settings(source=source)
    writer = writer_for(settings.source, settings)
    start = time.perf_counter()
    data = generate_sample(rows, seed, damage, legacy_bytes=writer.legacy_bytes)
    generated = time.perf_counter() - start
    writer.write(data)
    total = time.perf_counter() - start
    info = data.info()
    counts = ", ".join(f"{t} {n:,}" for t, n in zip(info["tabela"], info["linhas"], strict=True))
    typer.echo(f"sample: {counts}")
    # every source row a full load quarantines, as the run counts them (an order's damage
    # rejects each of its items too), not the damages that cannot be repaired
    rejected = sum(e.rejected for e in expected_counts(data.tables, data.truth).values())
    typer.echo(
        f"sample: {data.truth.height:,} damages recorded in sample_damage; "
        f"a full load quarantines exactly {rejected:,} rows"
    )
    typer.echo(
        f"sample: wrote {settings.source} (seed {seed}, damage {damage}) in {total:.1f} s "
        f"(generate {generated:.1f} s, write {total - generated:.1f} s)"
    )
