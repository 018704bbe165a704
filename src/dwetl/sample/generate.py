"""Clean OLTP frames for N order items: vectorised numpy + Polars, deterministic per seed.

Proportions (N = `venda_itens` rows): orders N/3 (every order has >= 1 item), customers N/20
(100 .. 500,000), products N/50 (2,000 .. 20,000), stores N/50,000 (50 .. 300), 8 sellers per
store, discounts N/1,000 (100 .. 300), item discounts on ~15% of items plus order-level discounts
on ~3% of orders, targets = 2 years x 12 months x (stores + sellers). Orders fall in
2024-01-01 .. 2025-12-31; every `atualizado_em` is derived from the row's business date.
Every value passes the warehouse's CHECKs (domains spelled as in `dwetl.sample.vocab`).

>>> frames = generate_clean(rows=30, seed=1)
>>> frames["venda_itens"].height
30
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import polars as pl

from dwetl.sample import vocab
from dwetl.sample.textdamage import strip_accents

MONEY = pl.Decimal(12, 2)
META_MONEY = pl.Decimal(14, 2)
TS = pl.Datetime("us")
YEARS = (2024, 2025)
_EPOCH = datetime(1970, 1, 1)
_DAY = 86_400


def _secs(d: date | datetime) -> int:
    moment = d if isinstance(d, datetime) else datetime(d.year, d.month, d.day)
    return int((moment - _EPOCH).total_seconds())


ORDERS_FROM = _secs(date(2024, 1, 1))
ORDERS_TO = _secs(date(2026, 1, 1))


@dataclass(frozen=True)
class Sizes:
    """How many rows each table gets for N items (before damage adds row versions)."""

    venda_itens: int
    vendas: int
    clientes: int
    produtos: int
    lojas: int
    vendedores: int
    descontos: int


def sizes_for(rows: int) -> Sizes:
    """Realistic proportions for `rows` order items.

    >>> sizes_for(1_000_000).clientes
    50000
    """
    lojas = min(max(rows // 50_000, 50), 300)
    return Sizes(
        venda_itens=rows,
        vendas=max(1, rows // 3),
        clientes=min(max(rows // 20, 100), 500_000),
        produtos=min(max(rows // 50, 2_000), 20_000),
        lojas=lojas,
        vendedores=8 * lojas,
        descontos=min(max(rows // 1_000, 100), 300),
    )


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per (seed, stream): tables do not shift each other's draws."""
    return np.random.default_rng([seed, *stream.encode("utf-8")])


def _ts(seconds: np.ndarray) -> pl.Series:
    return pl.Series(seconds.astype(np.int64) * 1_000_000).cast(TS)


def _dates(seconds: np.ndarray) -> pl.Series:
    return pl.Series((seconds // _DAY).astype(np.int32)).cast(pl.Date)


def _money(cents: np.ndarray, dtype: pl.DataType = MONEY) -> pl.Series:
    # float -> Decimal rounds to the nearest cent (checked exact for every cent up to 10^7)
    return pl.Series(cents.astype(np.float64) / 100).cast(dtype)


def _pick(words: tuple[str, ...], idx: np.ndarray) -> pl.Series:
    return pl.Series(list(words)).gather(pl.Series(idx.astype(np.int64)))


def _places(rng: np.random.Generator, n: int) -> tuple[pl.Series, pl.Series, pl.Series]:
    """(uf, cidade, regiao), UFs weighted by population."""
    ufs = list(vocab.UFS)
    weights = np.array([vocab.UFS[u][2] for u in ufs])
    uf_idx = rng.choice(len(ufs), size=n, p=weights / weights.sum())
    counts = np.array([len(vocab.UFS[u][1]) for u in ufs])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    city_idx = offsets[uf_idx] + (rng.random(n) * counts[uf_idx]).astype(np.int64)
    cities = tuple(c for u in ufs for c in vocab.UFS[u][1])
    return (
        _pick(tuple(ufs), uf_idx),
        _pick(cities, city_idx),
        _pick(tuple(vocab.UFS[u][0] for u in ufs), uf_idx),
    )


def _person_names(rng: np.random.Generator, n: int) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    first = rng.integers(0, len(vocab.PRIMEIROS_NOMES), n)
    last = rng.integers(0, len(vocab.SOBRENOMES), n)
    middle = rng.integers(0, len(vocab.SOBRENOMES), n)
    has_middle = rng.random(n) < 0.5
    frame = pl.DataFrame(
        {
            "f": _pick(vocab.PRIMEIROS_NOMES, first),
            "m": _pick(vocab.SOBRENOMES, middle),
            "l": _pick(vocab.SOBRENOMES, last),
            "h": has_middle,
        }
    )
    nome = frame.select(
        pl.when(pl.col("h"))
        .then(pl.concat_str("f", "m", "l", separator=" "))
        .otherwise(pl.concat_str("f", "l", separator=" "))
    ).to_series()
    return nome.alias("nome"), first, last


def _after(rng: np.random.Generator, seconds: np.ndarray, max_days: int) -> np.ndarray:
    return seconds + rng.integers(60, max_days * _DAY, seconds.shape[0])


def clientes(n: int, seed: int) -> pl.DataFrame:
    rng = rng_for(seed, "clientes")
    nome, first, last = _person_names(rng, n)
    uf, cidade, _ = _places(rng, n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    ascii_first = tuple(strip_accents(w).lower() for w in vocab.PRIMEIROS_NOMES)
    ascii_last = tuple(strip_accents(w).lower() for w in vocab.SOBRENOMES)
    email = (
        pl.DataFrame(
            {
                "f": _pick(ascii_first, first),
                "l": _pick(ascii_last, last),
                "i": pl.Series(ids).cast(pl.String),
                "d": _pick(vocab.DOMINIOS_EMAIL, rng.integers(0, len(vocab.DOMINIOS_EMAIL), n)),
            }
        )
        .select(pl.format("{}.{}{}@{}", "f", "l", "i", "d"))
        .to_series()
    )
    cadastro = rng.integers(_secs(date(2015, 1, 1)), _secs(date(2025, 12, 1)), n)
    return pl.DataFrame(
        {
            "id": ids,
            "nome": nome,
            "cpf": pl.Series(rng.integers(10**9, 10**11, n)).cast(pl.String).str.zfill(11),
            "email": email,
            "cidade": cidade,
            "uf": uf,
            "data_cadastro": _dates(cadastro),
            "atualizado_em": _ts(_after(rng, cadastro, 30)),
        }
    )


def produtos(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """The products, and their list prices in cents (items sell at list price)."""
    rng = rng_for(seed, "produtos")
    cats = list(vocab.CATEGORIAS)
    cat_idx = rng.integers(0, len(cats), n)
    nouns = tuple(noun for c in cats for noun in vocab.CATEGORIAS[c][0])
    brands = tuple(b for c in cats for b in vocab.CATEGORIAS[c][1])
    n_nouns = np.array([len(vocab.CATEGORIAS[c][0]) for c in cats])
    n_brands = np.array([len(vocab.CATEGORIAS[c][1]) for c in cats])
    noun_idx = np.concatenate([[0], np.cumsum(n_nouns)[:-1]])[cat_idx] + (
        rng.random(n) * n_nouns[cat_idx]
    ).astype(np.int64)
    brand_idx = np.concatenate([[0], np.cumsum(n_brands)[:-1]])[cat_idx] + (
        rng.random(n) * n_brands[cat_idx]
    ).astype(np.int64)
    low = np.log(np.array([vocab.CATEGORIAS[c][2][0] for c in cats]))[cat_idx]
    high = np.log(np.array([vocab.CATEGORIAS[c][2][1] for c in cats]))[cat_idx]
    cents = np.round(np.exp(low + rng.random(n) * (high - low)) * 100).astype(np.int64)
    cents = cents - cents % 10 + 9  # retail prices end in 9 cents
    model = pl.DataFrame(
        {
            "a": pl.Series(rng.integers(65, 91, n)).cast(pl.UInt32),
            "b": pl.Series(rng.integers(1, 1000, n)).cast(pl.String),
        }
    ).select(pl.col("a").map_batches(_letters, return_dtype=pl.String) + pl.col("b"))
    marca = _pick(brands, brand_idx)
    nome = pl.DataFrame({"n": _pick(nouns, noun_idx), "m": marca, "x": model.to_series()}).select(
        pl.concat_str("n", "m", "x", separator=" ")
    )
    created = rng.integers(_secs(date(2020, 1, 1)), _secs(date(2023, 12, 1)), n)
    frame = pl.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype=np.int64),
            "nome": nome.to_series(),
            "categoria": _pick(tuple(cats), cat_idx),
            "marca": marca,
            "preco_lista": _money(cents),
            "ativo": pl.Series((rng.random(n) < 0.95).astype(np.int16)),
            "atualizado_em": _ts(_after(rng, created, 60)),
        }
    )
    return frame, cents


def _letters(codes: pl.Series) -> pl.Series:
    table = pl.Series([chr(c) for c in range(256)])
    return table.gather(codes)


def lojas(n: int, seed: int) -> pl.DataFrame:
    rng = rng_for(seed, "lojas")
    uf, cidade, regiao = _places(rng, n)
    sufixo = _pick(vocab.SUFIXOS_LOJA, rng.integers(0, len(vocab.SUFIXOS_LOJA), n))
    abertura = rng.integers(_secs(date(1995, 1, 1)), _secs(date(2023, 1, 1)), n)
    return pl.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype=np.int64),
            "nome": pl.DataFrame({"c": cidade, "s": sufixo})
            .select(pl.format("Loja {} {}", "c", "s"))
            .to_series(),
            "cidade": cidade,
            "uf": uf,
            "regiao": regiao,
            "data_abertura": _dates(abertura),
            "atualizado_em": _ts(_after(rng, abertura, 300)),
        }
    )


def vendedores(n: int, n_lojas: int, seed: int) -> pl.DataFrame:
    rng = rng_for(seed, "vendedores")
    nome, _, _ = _person_names(rng, n)
    admissao = rng.integers(_secs(date(2010, 1, 1)), _secs(date(2023, 12, 1)), n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    return pl.DataFrame(
        {
            "id": ids,
            "nome": nome,
            "id_loja": (ids - 1) % n_lojas + 1,
            "data_admissao": _dates(admissao),
            "atualizado_em": _ts(_after(rng, admissao, 20)),
        }
    )


def descontos(n: int, seed: int) -> pl.DataFrame:
    rng = rng_for(seed, "descontos")
    ids = np.arange(1, n + 1, dtype=np.int64)
    metodo = rng.integers(0, len(vocab.METODOS_DESCONTO), n)
    # Percentual: 5-50 (%); Valor Fixo: R$ 5-200; Preço Fixo: R$ 10-999; Leve Mais Pague Menos: 1-3
    low = np.array([5, 5, 10, 1])[metodo]
    high = np.array([50, 200, 999, 3])[metodo]
    valor = rng.integers(low, high + 1) * 100
    inicio = rng.integers(ORDERS_FROM, ORDERS_TO - 60 * _DAY, n) // _DAY * _DAY
    fim = inicio + rng.integers(1, 61, n) * _DAY
    campanha = _pick(vocab.CAMPANHAS, rng.integers(0, len(vocab.CAMPANHAS), n))
    ano = _dates(inicio).dt.year().cast(pl.String)
    return pl.DataFrame(
        {
            "id": ids,
            "codigo": pl.DataFrame({"i": ids})
            .select(pl.format("DESC{}", pl.col("i").cast(pl.String).str.zfill(5)))
            .to_series(),
            "descricao": pl.DataFrame({"c": campanha, "a": ano})
            .select(pl.concat_str("c", "a", separator=" "))
            .to_series(),
            "tipo_desconto": _pick(vocab.TIPOS_DESCONTO, rng.integers(0, 5, n)),
            "metodo_desconto": _pick(vocab.METODOS_DESCONTO, metodo),
            "aplica_em": _pick(vocab.APLICA_EM, rng.integers(0, len(vocab.APLICA_EM), n)),
            "valor": _money(valor),
            "inicio_vigencia": _dates(inicio),
            "fim_vigencia": _dates(fim),
            "atualizado_em": _ts(inicio - rng.integers(_DAY, 20 * _DAY, n)),
        }
    )


@dataclass(frozen=True)
class Orders:
    """The order frames and the arrays the items and discounts derive from."""

    vendas: pl.DataFrame
    itens: pl.DataFrame
    venda_descontos: pl.DataFrame


def orders(sizes: Sizes, list_cents: np.ndarray, seed: int) -> Orders:
    rng = rng_for(seed, "vendas")
    n_o, n = sizes.vendas, sizes.venda_itens
    data_venda = np.sort(rng.integers(ORDERS_FROM, ORDERS_TO, n_o))
    venda_upd = data_venda + rng.integers(60, 6 * 3600, n_o)
    loja = rng.integers(1, sizes.lojas + 1, n_o)
    canais = list(vocab.CANAIS)
    shares = np.array(list(vocab.CANAIS.values()))
    vendas = pl.DataFrame(
        {
            "id": np.arange(1, n_o + 1, dtype=np.int64),
            "id_cliente": rng.integers(1, sizes.clientes + 1, n_o),
            "id_loja": loja,
            # sellers of store l are l, l + lojas, l + 2*lojas, ... (see vendedores)
            "id_vendedor": loja + rng.integers(0, 8, n_o) * sizes.lojas,
            "data_venda": _ts(data_venda),
            "canal": _pick(tuple(canais), rng.choice(len(canais), n_o, p=shares / shares.sum())),
            "atualizado_em": _ts(venda_upd),
        }
    )

    rng = rng_for(seed, "venda_itens")
    per_order = np.bincount(rng.integers(0, n_o, n - n_o), minlength=n_o) + 1  # >= 1 item each
    venda_idx = np.repeat(np.arange(n_o), per_order)
    produto = (sizes.produtos * rng.random(n) ** 2).astype(np.int64) + 1  # a few sell most
    quantidade = np.minimum(rng.geometric(0.6, n), 10).astype(np.int32)
    preco = list_cents[produto - 1]
    bruto = preco * quantidade
    has_discount = rng.random(n) < 0.15
    pct = rng.integers(1, 7, n) * 5
    desconto = np.where(has_discount, np.clip(bruto * pct // 100, 1, bruto), 0)
    # items are touched after their header and discounts after both, so that the extract's
    # "latest of the joined rows" timestamp still tells an item's (discount's) versions apart
    item_upd = venda_upd[venda_idx] + rng.integers(2 * 3600, 24 * 3600, n)
    item_ids = np.arange(1, n + 1, dtype=np.int64)
    itens = pl.DataFrame(
        {
            "id": item_ids,
            "id_venda": venda_idx + 1,
            "id_produto": produto,
            "quantidade": quantidade,
            "preco_unitario": _money(preco),
            "valor_desconto": _money(desconto),
            "atualizado_em": _ts(item_upd),
        }
    )

    rng = rng_for(seed, "venda_descontos")
    disc_items = np.flatnonzero(has_discount)
    order_level = np.flatnonzero(rng.random(n_o) < 0.03)
    venda_of = np.concatenate([venda_idx[disc_items], order_level])
    item_of = np.concatenate([item_ids[disc_items], np.zeros(order_level.size, dtype=np.int64)])
    cents = np.concatenate([desconto[disc_items], rng.integers(5, 51, order_level.size) * 100])
    order = np.lexsort((item_of == 0, venda_of))  # per order: its items, then the order level
    m = order.size
    vd = pl.DataFrame(
        {
            "id": np.arange(1, m + 1, dtype=np.int64),
            "id_venda": venda_of[order] + 1,
            "id_item": pl.Series(item_of[order]).replace(0, None),
            "id_desconto": rng.integers(1, sizes.descontos + 1, m),
            "valor": _money(cents[order]),
            "atualizado_em": _ts(
                venda_upd[venda_of[order]] + rng.integers(26 * 3600, 48 * 3600, m)
            ),
        }
    )
    return Orders(vendas=vendas, itens=itens, venda_descontos=vd)


def metas(n_lojas: int, n_vendedores: int, seed: int) -> pl.DataFrame:
    rng = rng_for(seed, "metas")
    months = [(y, m) for y in YEARS for m in range(1, 13)]
    per_month = n_lojas + n_vendedores
    n = len(months) * per_month
    ano = np.repeat([y for y, _ in months], per_month)
    mes = np.repeat([m for _, m in months], per_month)
    slot = np.tile(np.arange(per_month), len(months))
    is_store = slot < n_lojas
    vendedor = np.where(is_store, 0, slot - n_lojas + 1)
    loja = np.where(is_store, slot + 1, (vendedor - 1) % n_lojas + 1)
    cents = (
        np.where(is_store, rng.integers(200_000, 2_000_000, n), rng.integers(20_000, 200_000, n))
        * 100
    )
    month_start = np.array([_secs(date(y, m, 1)) for y, m in months])
    upd = np.repeat(month_start, per_month) - rng.integers(5 * _DAY, 25 * _DAY, n)
    return pl.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype=np.int64),
            "ano": ano.astype(np.int32),
            "mes": mes.astype(np.int32),
            "id_loja": loja.astype(np.int64),
            "id_vendedor": pl.Series(vendedor.astype(np.int64)).replace(0, None),
            "valor_meta": _money(cents, META_MONEY),
            "atualizado_em": _ts(upd),
        }
    )


def generate_clean(rows: int, seed: int) -> dict[str, pl.DataFrame]:
    """Every OLTP table, undamaged, in the column order of `sql/source/oltp.sql`."""
    if rows < 1:
        raise ValueError("rows must be >= 1")
    sizes = sizes_for(rows)
    prod, cents = produtos(sizes.produtos, seed)
    o = orders(sizes, cents, seed)
    return {
        "clientes": clientes(sizes.clientes, seed),
        "produtos": prod,
        "lojas": lojas(sizes.lojas, seed),
        "vendedores": vendedores(sizes.vendedores, sizes.lojas, seed),
        "descontos": descontos(sizes.descontos, seed),
        "vendas": o.vendas,
        "venda_itens": o.itens,
        "venda_descontos": o.venda_descontos,
        "metas": metas(sizes.lojas, sizes.vendedores, seed),
    }
