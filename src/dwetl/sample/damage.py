"""Damage clean OLTP frames at rate R the way real ERP exports are damaged, recording ground truth.

What rate R means, per table with n rows (before versions are added):

* row damage: `round(R * n)` distinct rows get exactly one row damage each; the classes of the
  table (`ROW_DAMAGE[table]`, in that order, starting at a seeded offset) are dealt round-robin,
  so each class gets `round(R * n) / len(classes)` rows (+-1);
* text damage: in every column of `TEXT_COLUMNS[table]`, `round(R * n)` rows (drawn from the rows
  with no row damage; a row may be hit in several columns) get one text class each, uniformly
  among `textdamage.TEXT_CLASSES` (without `codificacao_legada` where the backend cannot hold
  non-UTF-8 bytes). A class that would not change the value (an accent class on `SP`) falls
  back to `espacos` or `caixa`, and the fallback is what is recorded.

Ground truth, one row per damaged cell or row (the `sample_damage` table):
`tabela, id, atualizado_em, coluna, classe, valor_limpo, valor_danificado, recuperavel`.
`(tabela, id, atualizado_em)` names the exact source row (version) whose `coluna` holds
`valor_danificado` (values as text: numbers with their scale, dates ISO, NULL as NULL;
for `codificacao_legada` the cp1252 bytes, a BLOB in SQLite). `valor_limpo` is what the
warehouse should end up with. `recuperavel` is TRUE when the row is expected to load
(a text class is repaired, a version folded, an orphan key becomes an inferred member) and
FALSE when the warehouse's constraints must reject it.

Row classes (table.column: classe -> effect; "rejects" means recuperavel = FALSE):

* clientes.nome: nulo_obrigatorio -> dim_cliente rejects (NN_dim_cliente_nome)
* clientes.uf: fora_do_dominio ('XX') -> dim_cliente rejects (CK_DIM_CLIENTE_uf)
* produtos.categoria: nulo_obrigatorio -> dim_produto rejects (CK_DIM_PRODUTO_obrigatorio);
  fora_do_dominio ('Artigos Diversos') -> dim_produto rejects (CK_DIM_PRODUTO_categoria)
* lojas.nome: nulo_obrigatorio -> dim_loja rejects (NN_dim_loja_nome)
* lojas.uf: fora_do_dominio -> dim_loja rejects (CK_DIM_LOJA_uf)
* vendedores.nome: nulo_obrigatorio -> dim_vendedor rejects (NN_dim_vendedor_nome)
* descontos.tipo_desconto ('Desconto Relâmpago'), .metodo_desconto ('Cashback'),
  .aplica_em ('Carrinho'): fora_do_dominio -> dim_desconto rejects (CK_DIM_DESCONTO_tipo,
  _metodo, _aplica_em); descontos.fim_vigencia: vigencia_invertida -> rejects
  (CK_DIM_DESCONTO_vigencia); descontos.valor: nulo_obrigatorio -> rejects (_obrigatorio)
* vendas.canal: fora_do_dominio ('Marketplace') -> fact_vendas rejects EVERY item of that
  venda (CK_FACT_VENDAS_canal)
* vendas.id_cliente: fk_orfa -> loads; the facts get an inferred dim_cliente member
* venda_itens.quantidade: quantidade_negativa -> fact_vendas rejects (CK_FACT_VENDAS_quantidade)
* venda_itens.valor_desconto: desconto_acima_bruto -> fact_vendas rejects
  (CK_FACT_VENDAS_desconto)
* venda_itens.id_produto: fk_orfa -> loads, inferred dim_produto member
* venda_descontos.valor: fora_do_dominio (0.00) -> fact_descontos rejects
  (CK_FACT_DESCONTOS_valor)
* venda_descontos.id_desconto: fk_orfa -> loads, inferred dim_desconto member
* metas.mes: fora_do_dominio (13) -> fact_metas rejects (CK_FACT_METAS_mes)
* metas.id_loja: fk_orfa -> loads, inferred dim_loja member
* every table but vendas: chave_duplicada -> an extra OLDER version row (same id, one other
  value) that is folded away; atualizacao -> an extra NEWER version row (same id, one other
  value) that wins. Both load.

Versions never change `id_venda`/`id_produto` of an item, so a join on an item's versions
always finds the same product; `vendas` gets no versions (a duplicated header would multiply its
items in the fact_vendas join). Orphan ids are above the referenced table's largest id (items,
vendas, venda_descontos share a pool of ~k/10 missing ids; metas get one per row so the target
grain stays unique). A dimension row that is rejected is still referenced by facts, which then
get an inferred member for it (not a reject).

Expected rejects per entity: the distinct ids of the table with a `recuperavel = FALSE` row, and
for fact_vendas also every item whose `id_venda` has one (tabela = 'vendas'). Expected versions
folded per entity = the `chave_duplicada` + `atualizacao` rows of its table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from dwetl.sample import textdamage, vocab
from dwetl.sample.generate import MONEY, rng_for

#: table -> the text columns that get text damage
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "clientes": ("nome", "cidade", "uf"),
    "produtos": ("nome", "categoria", "marca"),
    "lojas": ("nome", "cidade", "uf", "regiao"),
    "vendedores": ("nome",),
    "descontos": ("descricao", "tipo_desconto", "metodo_desconto", "aplica_em"),
    "vendas": ("canal",),
}

#: referencing column -> referenced table (for orphan ids)
REFERENCES: dict[str, str] = {
    "id_cliente": "clientes",
    "id_produto": "produtos",
    "id_desconto": "descontos",
    "id_loja": "lojas",
}

VERSION_CLASSES = frozenset({"chave_duplicada", "atualizacao"})
#: how much older a duplicate version may be (default 30 days): an item's older version stays
#: newer than its order header (items are written 2-24 h after it, discounts 26-48 h after),
#: so the extract's "latest of the joined rows" timestamp still orders an item's versions
OLDER_BY_S: dict[str, int] = {"venda_itens": 3600, "venda_descontos": 3600}


def _as_money(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64).round(2).cast(MONEY)


def _null(column: str) -> Callable[[pl.DataFrame], pl.Expr]:
    return lambda frame: pl.lit(None, dtype=frame.schema[column])


def _const(value: object) -> Callable[[pl.DataFrame], pl.Expr]:
    return lambda frame: pl.lit(value)


def _other_domain(email: pl.Expr) -> pl.Expr:
    return (
        pl.when(email.str.ends_with("@gmail.com"))
        .then(email.str.replace(r"@.*$", "@outlook.com"))
        .otherwise(email.str.replace(r"@.*$", "@gmail.com"))
    )


@dataclass(frozen=True)
class RowDamage:
    """One row-damage class on one column; `value` builds the damaged (or version) value."""

    classe: str
    coluna: str
    value: Callable[[pl.DataFrame], pl.Expr]
    recuperavel: bool = False


def _orphans(column: str, per_row: bool = False) -> RowDamage:
    # `_base` (largest id of the referenced table) and `_j` (0..k-1) are columns of the sub-frame
    pool = pl.col("_j") if per_row else pl.col("_j") % pl.col("_pool")
    return RowDamage("fk_orfa", column, lambda f: pl.col("_base") + 1 + pool, recuperavel=True)


def _version(classe: str, column: str, value: Callable[[pl.DataFrame], pl.Expr]) -> RowDamage:
    return RowDamage(classe, column, value, recuperavel=True)


ROW_DAMAGE: dict[str, tuple[RowDamage, ...]] = {
    "clientes": (
        RowDamage("nulo_obrigatorio", "nome", _null("nome")),
        RowDamage("fora_do_dominio", "uf", _const(vocab.FORA_DO_DOMINIO["uf"])),
        _version("chave_duplicada", "email", lambda f: _other_domain(pl.col("email"))),
        _version("atualizacao", "email", lambda f: _other_domain(pl.col("email"))),
    ),
    "produtos": (
        RowDamage("nulo_obrigatorio", "categoria", _null("categoria")),
        RowDamage("fora_do_dominio", "categoria", _const(vocab.FORA_DO_DOMINIO["categoria"])),
        _version(
            "chave_duplicada", "preco_lista", lambda f: _as_money(pl.col("preco_lista") * 0.9)
        ),
        _version("atualizacao", "preco_lista", lambda f: _as_money(pl.col("preco_lista") * 1.1)),
    ),
    "lojas": (
        RowDamage("nulo_obrigatorio", "nome", _null("nome")),
        RowDamage("fora_do_dominio", "uf", _const(vocab.FORA_DO_DOMINIO["uf"])),
        _version("chave_duplicada", "nome", lambda f: pl.format("Antiga {}", "nome")),
        _version("atualizacao", "nome", lambda f: pl.format("Mega {}", "nome")),
    ),
    "vendedores": (
        RowDamage("nulo_obrigatorio", "nome", _null("nome")),
        _version("chave_duplicada", "id_loja", lambda f: pl.col("id_loja") % pl.col("_lojas") + 1),
        _version("atualizacao", "id_loja", lambda f: pl.col("id_loja") % pl.col("_lojas") + 1),
    ),
    "descontos": (
        RowDamage(
            "fora_do_dominio", "tipo_desconto", _const(vocab.FORA_DO_DOMINIO["tipo_desconto"])
        ),
        RowDamage(
            "fora_do_dominio", "metodo_desconto", _const(vocab.FORA_DO_DOMINIO["metodo_desconto"])
        ),
        RowDamage("fora_do_dominio", "aplica_em", _const(vocab.FORA_DO_DOMINIO["aplica_em"])),
        RowDamage(
            "vigencia_invertida",
            "fim_vigencia",
            lambda f: pl.col("inicio_vigencia") - pl.duration(days=1 + (pl.col("_r") * 30).floor()),
        ),
        RowDamage("nulo_obrigatorio", "valor", _null("valor")),
        _version("chave_duplicada", "valor", lambda f: _as_money((pl.col("valor") / 2).floor())),
        _version(
            "atualizacao", "fim_vigencia", lambda f: pl.col("fim_vigencia") + pl.duration(days=30)
        ),
    ),
    "vendas": (
        RowDamage("fora_do_dominio", "canal", _const(vocab.FORA_DO_DOMINIO["canal"])),
        _orphans("id_cliente"),
    ),
    "venda_itens": (
        RowDamage("quantidade_negativa", "quantidade", lambda f: -pl.col("quantidade")),
        RowDamage(
            "desconto_acima_bruto",
            "valor_desconto",
            lambda f: _as_money(
                pl.col("quantidade") * pl.col("preco_unitario").cast(pl.Float64)
                + 0.01
                + (pl.col("_r") * 5000).floor() / 100
            ),
        ),
        _orphans("id_produto"),
        _version("chave_duplicada", "quantidade", lambda f: pl.col("quantidade") + 1),
        _version("atualizacao", "quantidade", lambda f: pl.col("quantidade") + 1),
    ),
    "venda_descontos": (
        RowDamage("fora_do_dominio", "valor", lambda f: pl.lit(0).cast(MONEY)),
        _orphans("id_desconto"),
        _version("chave_duplicada", "valor", lambda f: _as_money(pl.col("valor") + 1)),
        _version("atualizacao", "valor", lambda f: _as_money(pl.col("valor") + 1)),
    ),
    "metas": (
        RowDamage("fora_do_dominio", "mes", lambda f: pl.lit(13, dtype=pl.Int32)),
        _orphans("id_loja", per_row=True),
        _version("chave_duplicada", "valor_meta", lambda f: _as_money(pl.col("valor_meta") * 0.9)),
        _version("atualizacao", "valor_meta", lambda f: _as_money(pl.col("valor_meta") * 1.1)),
    ),
}

TRUTH_SCHEMA: dict[str, pl.DataType] = {
    "tabela": pl.String(),
    "id": pl.Int64(),
    "atualizado_em": pl.Datetime("us"),
    "coluna": pl.String(),
    "classe": pl.String(),
    "valor_limpo": pl.String(),
    "valor_danificado": pl.String(),
    "valor_danificado_bytes": pl.Binary(),
    "recuperavel": pl.Boolean(),
}


@dataclass
class Damaged:
    """Damaged frames, the legacy-encoded cells the writer stores as bytes, the ground truth."""

    tables: dict[str, pl.DataFrame]
    #: (table, column) -> {row position in the frame: bytes}; the frame holds the clean text there
    legacy: dict[tuple[str, str], dict[int, bytes]] = field(default_factory=dict)
    truth: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=TRUTH_SCHEMA))


def _text(values: pl.Series) -> pl.Series:
    return values.cast(pl.String)


def damage_frames(
    frames: dict[str, pl.DataFrame], rate: float, seed: int, *, legacy_bytes: bool
) -> Damaged:
    """Apply row damage then text damage to every table at `rate` (see the module docstring)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError("damage rate must be between 0 and 1")
    base = {name: int(frame["id"].max() or 0) for name, frame in frames.items()}  # type: ignore[arg-type]
    truths: list[pl.DataFrame] = []
    out = Damaged(tables={})
    classes = tuple(c for c in textdamage.TEXT_CLASSES if legacy_bytes or c != "codificacao_legada")
    for name, frame in frames.items():
        rng = rng_for(seed, f"damage:{name}")
        n = frame.height
        k_row = round(rate * n) if name in ROW_DAMAGE else 0
        hit = rng.choice(n, size=k_row, replace=False)  # random order; O(k), not O(n)
        frame, extra, truth = _row_damage(name, frame, hit, rng, base)
        truths.extend(truth)
        columns = TEXT_COLUMNS.get(name, ())
        if columns:
            spared = np.ones(n, dtype=bool)
            spared[hit] = False
            free = np.flatnonzero(spared)
        for column in columns:
            k = min(round(rate * n), free.size)
            picked = np.sort(rng.choice(free, size=k, replace=False))
            frame, legacy, truth_text = _text_damage(name, column, frame, picked, rng, classes)
            if legacy:
                out.legacy[(name, column)] = legacy
            truths.append(truth_text)
        out.tables[name] = pl.concat([frame, *extra]) if extra else frame
    out.truth = pl.concat([t.select(list(TRUTH_SCHEMA)) for t in truths]) if truths else out.truth
    return out


def _row_damage(
    name: str,
    frame: pl.DataFrame,
    rows: np.ndarray,
    rng: np.random.Generator,
    base: dict[str, int],
) -> tuple[pl.DataFrame, list[pl.DataFrame], list[pl.DataFrame]]:
    specs = ROW_DAMAGE.get(name, ())
    if not specs or rows.size == 0:
        return frame, [], []
    offset = int(rng.integers(len(specs)))
    which = (np.arange(rows.size) + offset) % len(specs)
    extra: list[pl.DataFrame] = []
    truths: list[pl.DataFrame] = []
    for i, spec in enumerate(specs):
        pos = np.sort(rows[which == i])
        if pos.size == 0:
            continue
        k = pos.size
        sub = frame[pos].with_columns(
            _r=pl.Series(rng.random(k)),
            _j=pl.Series(np.arange(k, dtype=np.int64)),
            _pool=pl.lit(max(1, -(-k // 10)), dtype=pl.Int64),
            _base=pl.lit(base.get(REFERENCES.get(spec.coluna, ""), 0), dtype=pl.Int64),
            _lojas=pl.lit(base.get("lojas", 1), dtype=pl.Int64),
        )
        # with_columns broadcasts a literal (a NULL, an out-of-domain constant) to every row
        new = sub.with_columns(spec.value(frame).cast(frame.schema[spec.coluna]).alias("_v"))["_v"]
        clean = sub[spec.coluna]
        if spec.classe in VERSION_CLASSES:
            shift = (
                rng.integers(1, OLDER_BY_S.get(name, 30 * 86_400), k)
                if spec.classe == "chave_duplicada"
                else rng.integers(30 * 86_400, 365 * 86_400, k)
            ) * 1_000_000
            sign = -1 if spec.classe == "chave_duplicada" else 1
            version = sub.select(frame.columns).with_columns(
                new.alias(spec.coluna),
                (pl.col("atualizado_em") + pl.Series(sign * shift).cast(pl.Duration("us"))),
            )
            extra.append(version)
            if spec.classe == "chave_duplicada":
                at, limpo, danificado = version["atualizado_em"], clean, new
            else:
                at, limpo, danificado = sub["atualizado_em"], new, clean
        else:
            column = frame[spec.coluna].clone()
            column.scatter(pos, new)
            frame = frame.with_columns(column)
            at, limpo, danificado = sub["atualizado_em"], clean, new
        truths.append(
            pl.DataFrame(
                {
                    "tabela": [name] * k,
                    "id": sub["id"],
                    "atualizado_em": at,
                    "coluna": [spec.coluna] * k,
                    "classe": [spec.classe] * k,
                    "valor_limpo": _text(limpo),
                    "valor_danificado": _text(danificado),
                    "valor_danificado_bytes": pl.Series([None] * k, dtype=pl.Binary),
                    "recuperavel": [spec.recuperavel] * k,
                },
                schema=TRUTH_SCHEMA,
            )
        )
    return frame, extra, truths


def _text_damage(
    name: str,
    column: str,
    frame: pl.DataFrame,
    pos: np.ndarray,
    rng: np.random.Generator,
    classes: tuple[str, ...],
) -> tuple[pl.DataFrame, dict[int, bytes], pl.DataFrame]:
    chosen = rng.integers(0, len(classes), pos.size)
    values = frame[column].gather(pos).to_list()
    ids = frame["id"].gather(pos).to_list()
    out_classes: list[str] = []
    damaged: list[str | None] = []
    legacy: dict[int, bytes] = {}
    legacy_bytes: list[bytes | None] = []
    # one Python call per damaged value: k = R * n values, never the whole column
    for p, value, row_id, c in zip(pos.tolist(), values, ids, chosen.tolist(), strict=True):
        classe = classes[c]
        if not textdamage.applicable(value, classe):
            classe = "caixa" if row_id % 2 and textdamage.applicable(value, "caixa") else "espacos"
        result = textdamage.damage_text(value, classe, row_id)
        out_classes.append(classe)
        if isinstance(result, bytes):
            legacy[p] = result
            damaged.append(None)
            legacy_bytes.append(result)
        else:
            damaged.append(result)
            legacy_bytes.append(None)
    text_pos = np.array([p for p, d in zip(pos.tolist(), damaged, strict=True) if d is not None])
    if text_pos.size:
        col = frame[column].clone()
        col.scatter(text_pos, pl.Series([d for d in damaged if d is not None], dtype=pl.String))
        frame = frame.with_columns(col)
    truth = pl.DataFrame(
        {
            "tabela": [name] * pos.size,
            "id": pl.Series(ids, dtype=pl.Int64),
            "atualizado_em": frame["atualizado_em"].gather(pos),
            "coluna": [column] * pos.size,
            "classe": out_classes,
            "valor_limpo": pl.Series(values, dtype=pl.String),
            "valor_danificado": pl.Series(damaged, dtype=pl.String),
            "valor_danificado_bytes": pl.Series(legacy_bytes, dtype=pl.Binary),
            "recuperavel": [True] * pos.size,
        },
        schema=TRUTH_SCHEMA,
    )
    return frame, legacy, truth
