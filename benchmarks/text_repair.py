"""Throughput of `transforms.text` against ftfy on realistic damaged ERP text.

uv run python -m benchmarks.text_repair --values 10000000
"""

from __future__ import annotations

import argparse
import time
import unicodedata
from collections.abc import Callable
from functools import partial

import ftfy
import numpy as np
import polars as pl

from transforms.text import normalize, repair, repair_report, repair_to_domain

PRIMEIROS = [
    "João", "José", "Antônio", "Conceição", "Sebastião", "Márcia", "Lúcia", "Sérgio", "Fábio",
    "Flávia", "Vinícius", "Cláudia", "Mônica", "Patrícia", "Letícia", "Rogério", "Júlio", "Inês",
    "Ana", "Maria", "Pedro", "Paulo", "Carlos", "Luís", "Ângela", "Débora", "Otávio", "Tânia",
    "Valéria", "Estêvão",
]  # fmt: skip
SOBRENOMES = [
    "Gonçalves", "Araújo", "Simões", "Magalhães", "Guimarães", "Brandão", "Falcão", "Leão",
    "Nóbrega", "Conceição", "Assunção", "Silva", "Souza", "Oliveira", "Pereira", "Lima", "Gusmão",
    "Cortês", "Cortes", "Sá", "Romão", "Galvão", "Estêves", "Antunes", "Fernandes", "Patrício",
    "Damião", "Salomão", "Aragão", "Cândido",
]  # fmt: skip
CIDADES = [
    "São Paulo", "Goiânia", "Maceió", "Florianópolis", "Brasília", "Belém", "Vitória", "Cuiabá",
    "Macapá", "São Luís", "João Pessoa", "Niterói", "Jundiaí", "Ribeirão Preto", "Uberlândia",
    "Maringá", "Foz do Iguaçu", "Petrópolis", "Guarujá", "Santarém", "Marabá", "Macaé", "Itajaí",
    "Chapecó", "Criciúma", "Paranaguá", "Araçatuba", "Taubaté", "Jacareí", "Poços de Caldas",
    "Curitiba", "Porto Alegre", "Recife", "Salvador", "Natal", "Fortaleza", "Manaus", "Londrina",
]  # fmt: skip
TIPOS = ["Promoção Automática", "Cupom", "Negociação Manual", "Programa de Fidelidade", "Atacado"]

# How the old Windows stack damaged text, with how often each path shows up (clean first).
DAMAGE: dict[str, tuple[float, Callable[[str], str]]] = {
    "clean": (0.55, lambda s: s),
    "cp1252": (0.10, lambda s: s.encode("utf-8").decode("cp1252", "replace")),
    "latin1": (0.04, lambda s: s.encode("utf-8").decode("latin-1")),
    "twice": (0.03, lambda s: s.encode("utf-8").decode("latin-1").encode("utf-8").decode("cp1252")),
    "lowered": (0.04, lambda s: s.encode("utf-8").decode("cp1252", "replace").lower()),
    "nfd": (0.04, lambda s: unicodedata.normalize("NFD", s)),
    "ascii?": (0.08, lambda s: s.encode("ascii", "replace").decode()),
    "fffd": (0.04, lambda s: s.encode("cp1252").decode("utf-8", "replace")),
    "stripped": (
        0.03,
        lambda s: unicodedata.normalize("NFD", s).encode("ascii", "ignore").decode(),
    ),
    "upper": (0.02, lambda s: s.upper()),
    "spaces": (0.03, lambda s: " " + s.replace(" ", "\xa0 ", 1) + "  "),
}


def _damaged_pool(clean: list[str]) -> tuple[list[str], np.ndarray]:
    """Every damage path applied to every distinct clean value, with its sampling weight."""
    values, weights = [], []
    for weight, damage in DAMAGE.values():
        for value in clean:
            values.append(damage(value))
            weights.append(weight / len(clean))
    probabilities = np.asarray(weights)
    return values, probabilities / probabilities.sum()


def generate(n: int, seed: int = 7) -> pl.DataFrame:
    """`n` rows of customer names, cities and discount types, damaged by real codec paths."""
    rng = np.random.default_rng(seed)
    nomes = [f"{a} {b} {c}" for a in PRIMEIROS for b in SOBRENOMES[:12] for c in SOBRENOMES]
    columns = {}
    for name, clean in {"nome": nomes, "cidade": CIDADES, "tipo_desconto": TIPOS}.items():
        pool, probabilities = _damaged_pool(clean)
        index = rng.choice(len(pool), size=n, p=probabilities)
        columns[name] = pl.Series(pool, dtype=pl.String).gather(index)
    # A free-text column where every value is distinct: no gain from working on distinct values.
    return pl.DataFrame(columns).with_columns(
        descricao=pl.concat_str(pl.col("nome"), pl.lit(" nº "), pl.int_range(n).cast(pl.String))
    )


def _timed(label: str, n: int, run: Callable[[], object]) -> tuple[float, float]:
    """Values per wall-clock second and per CPU second (other work on the machine skews wall)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label:<44} {n:>11,} values {wall:8.2f} s wall {n / wall:>13,.0f}/s"
        f" {cpu:8.2f} s CPU {n / cpu:>13,.0f}/CPU-s"
    )
    return n / wall, n / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=10_000_000)
    parser.add_argument("--ftfy-sample", type=int, default=50_000)
    args = parser.parse_args()

    frame = generate(args.values)
    n = frame.height
    print(
        f"{n:,} rows; distinct nome {frame['nome'].n_unique():,}, "
        f"descricao {frame['descricao'].n_unique():,}, cidade {frame['cidade'].n_unique():,}, "
        f"tipo_desconto {frame['tipo_desconto'].n_unique():,}"
    )
    normalize(pl.lit("warm-up: build the mojibake table once"))
    frame.head(100).select(normalize(pl.col("nome")))
    sample = frame["nome"].sample(min(args.ftfy_sample, n), seed=1).to_list()
    rates = {
        "ftfy": _timed(
            "ftfy.fix_text per value (nome, sample)",
            len(sample),
            lambda: [ftfy.fix_text(v) for v in sample],
        ),
        "normalize": _timed("normalize (nome)", n, lambda: frame.select(normalize(pl.col("nome")))),
        "normalize_distinct": _timed(
            "normalize (descricao, all values distinct)",
            n,
            lambda: frame.select(normalize(pl.col("descricao"))),
        ),
        "normalize_lazy": _timed(
            "normalize (nome, lazy streaming)",
            n,
            lambda: frame.lazy().select(normalize(pl.col("nome"))).collect(engine="streaming"),
        ),
        "domain": _timed(
            "repair_to_domain (tipo_desconto)",
            n,
            lambda: frame.select(repair_to_domain(pl.col("tipo_desconto"), TIPOS)),
        ),
        "equality": _timed(
            "one string comparison per row (floor)",
            n,
            lambda: frame.select(pl.col("tipo_desconto") == "Cupom"),
        ),
        "repair_nome": _timed("repair (nome, free text)", n, lambda: repair(frame["nome"])),
        "repair_cidade": _timed("repair (cidade, free text)", n, lambda: repair(frame["cidade"])),
    }
    # The run log's counts: each column before and after its repair (`dwetl.run.repair_counts`).
    for column in ("nome", "cidade"):
        before, after = frame[column], repair(frame[column])
        rates[f"report_{column}"] = _timed(
            f"repair_report ({column})", n, partial(repair_report, before, after)
        )
    print()
    for name in (
        "normalize",
        "normalize_distinct",
        "normalize_lazy",
        "domain",
        "repair_nome",
        "repair_cidade",
    ):
        wall_ratio = rates[name][0] / rates["ftfy"][0]
        cpu_ratio = rates[name][1] / rates["ftfy"][1]
        print(f"{name:<20} {wall_ratio:8.1f}x ftfy (wall) {cpu_ratio:8.1f}x ftfy (CPU)")
    print(
        f"{'domain':<20} {rates['equality'][0] / rates['domain'][0]:8.1f}x the wall time of "
        "one string comparison per row"
    )


if __name__ == "__main__":
    main()
