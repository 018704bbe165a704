"""Keys of warehouse rows: fold source versions, attach and assign surrogate keys (pure Polars).

>>> f = pl.DataFrame({"id": [1, 1], "v": ["old", "new"], "atualizado_em": [1, 2]})
>>> fold_versions(f, ["id"], "atualizado_em")[0]["v"].to_list()
['new']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol, cast

import polars as pl

UNKNOWN_SK = -1


class LookupLike(Protocol):
    """What `attach_surrogate_keys` needs of a lookup (`dwetl.entities.spec.Lookup` is one)."""

    @property
    def dimension(self) -> str: ...
    @property
    def source_column(self) -> str: ...
    @property
    def sk_column(self) -> str: ...
    @property
    def optional(self) -> bool: ...


def _columns(key: str | Sequence[str]) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


class Folded(NamedTuple):
    """What `fold_newest` returns: the newest version of each key, how many older versions it
    folded away, and for how many keys the newest version tied with another on `order_by`."""

    frame: pl.DataFrame
    folded: int
    ties: int


def fold_versions(
    frame: pl.DataFrame,
    key: str | Sequence[str],
    order_by: str,
    *,
    tie_break: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, int]:
    """Keep the latest version (greatest `order_by`) of each key; return it and how many folded
    (`fold_newest`, whose rule breaks ties, without the count of ties)."""
    folded = fold_newest(frame, key, order_by, tie_break=tie_break)
    return folded.frame, folded.folded


def fold_newest(
    frame: pl.DataFrame,
    key: str | Sequence[str],
    order_by: str,
    *,
    tie_break: pl.DataFrame | None = None,
) -> Folded:
    """Keep the newest version of each key: the greatest `order_by` (NULL is the oldest).

    Versions whose `order_by` ties are told apart by the values of `tie_break` (a frame with the
    rows of `frame`, in the same order: the rows as the source gave them, before a transform
    that may depend on the other rows read), compared column by column in its column order, the
    greatest kept (NULL lowest; nested columns left out); without `tie_break`, by `frame`'s
    other columns. So the kept version depends only on the versions themselves: the same in a
    full reload as in any run that reads them again. Rows with a NULL key are kept as they are
    (validation rejects them; folding them together would lose rows).

    >>> f = pl.DataFrame({"id": [1, 1, 1, 2], "v": ["b", "c", "a", "x"], "at": [5, 5, 4, 1]})
    >>> kept = fold_newest(f, "id", "at")
    >>> kept.frame.rows(), kept.folded, kept.ties
    ([(1, 'c', 5), (2, 'x', 1)], 2, 1)
    """
    keys = _columns(key)
    key_expr = pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)
    # Only keys that occur more than once are sorted (on every column, for the tie-break): a
    # full reload has few versions. They are found by one sort of the key (`repeated`), or one
    # hash pass for a compound key. The older versions are then dropped by row number: one pass
    # over the frame, which keeps its order.
    if len(keys) == 1:
        twice = repeated(frame.get_column(keys[0]))
        if not twice.len():
            return Folded(frame, 0, 0)
        versioned = frame.select(key_expr.is_in(twice.implode()).fill_null(False)).to_series()
    else:
        has_null_key = pl.any_horizontal(pl.col(keys).is_null())
        versioned = frame.select(~has_null_key & key_expr.is_duplicated()).to_series()
        if not versioned.any():
            return Folded(frame, 0, 0)
    at = versioned.arg_true()
    if tie_break is None:
        tie_break = frame.select(c for c in frame.columns if c not in keys and c != order_by)
    elif tie_break.height != frame.height:
        raise ValueError(
            f"tie_break has {tie_break.height} rows, the frame {frame.height}: they must align"
        )
    ties = [c for c in tie_break.columns if not tie_break.schema[c].is_nested()]
    by = [f"{_TIE}{i}" for i in range(len(ties))]
    ordered = (
        frame[at]
        .select(*keys, order_by)
        .with_columns(
            at.alias(_ROW),
            *(tie_break.get_column(c).gather(at).alias(b) for c, b in zip(ties, by, strict=True)),
        )
        .sort([*keys, order_by, *by], nulls_last=False, maintain_order=True)
    )
    newest = key_expr.is_last_distinct()
    tied = (
        newest
        & (key_expr == key_expr.shift(1))
        & pl.col(order_by).eq_missing(pl.col(order_by).shift(1))
    )
    older = ordered.filter(~newest).get_column(_ROW)
    tie_count = int(ordered.select(tied.sum()).item())
    kept = pl.repeat(True, frame.height, eager=True).scatter(older, False)
    return Folded(frame.filter(kept), older.len(), tie_count)


def repeated(values: pl.Series) -> pl.Series:
    """The values that occur more than once in `values`, each once (NULLs left out): what
    `is_duplicated` flags, from a distinct count and, where that finds any, one sort, both on
    every core (`is_duplicated` hashes on one: docs/decisions/0010-transform-kernels.md).

    >>> repeated(pl.Series([3, 1, 3, None, None, 2, 3])).to_list()
    [3]
    """
    present = values.drop_nulls()
    if present.n_unique() == present.len():
        return present.clear()
    ordered = present.sort()
    return ordered.filter(ordered == ordered.shift(1)).unique()


_ROW = "__dwetl_row"  # a versioned row's number in the frame, while its versions are sorted
_TIE = "__dwetl_tie"  # the tie-break columns, by position (their names may be the frame's)


def attach_surrogate_keys(
    frame: pl.DataFrame,
    lookups: Iterable[LookupLike],
    key_maps: Mapping[str, pl.DataFrame],
) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """Add each lookup's `sk_column` by joining its natural key with `key_maps[dimension]`.

    `key_maps[dimension]` has two columns: the dimension's natural key, then its sk. A NULL key
    of an optional lookup maps to -1; a NULL required key stays NULL (validation rejects it); a
    key the map lacks stays NULL and is listed in `missing[dimension]` (distinct, sorted) so the
    caller can create inferred members and attach again (an existing sk column is replaced).
    Example: key 7 with map {7: 70} -> sk 70; key 8 -> NULL and missing == {dim: [8]}.
    """
    missing: dict[str, pl.Series] = {}
    attached: list[pl.Series] = []
    for lookup in lookups:
        key_map = key_maps[lookup.dimension]
        natural, sk = key_map.columns[:2]
        key, sk_column = lookup.source_column, lookup.sk_column
        keys = frame.get_column(key)
        renamed = (
            key_map.select(
                pl.col(natural).cast(keys.dtype).alias(key),
                pl.col(sk).cast(pl.Int64).alias(sk_column),
            )
            .drop_nulls(key)
            .unique(subset=[key], keep="first")
        )
        sks = _sks_of(keys, renamed.get_column(key), renamed.get_column(sk_column))
        found = keys.filter(keys.is_not_null() & sks.is_null()).unique().sort()
        if found.len():
            previous = missing.get(lookup.dimension)
            if previous is not None:
                found = pl.concat([previous, found.cast(previous.dtype)]).unique().sort()
            missing[lookup.dimension] = found
        if lookup.optional:
            sks = sks.set(keys.is_null(), UNKNOWN_SK)
        attached.append(sks.alias(sk_column))
    return frame.with_columns(attached), missing


#: a key map whose integer keys span at most this many times its rows is looked up by position
_DENSE_SPAN = 4


_INT64_HOLDS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)


def _fits_int64(dtype: pl.DataType) -> bool:
    """Integers whose every value an Int64 holds (positions are computed in Int64)."""
    return dtype in _INT64_HOLDS


def _sks_of(keys: pl.Series, natural: pl.Series, sks: pl.Series) -> pl.Series:
    """For each of `keys`, the sk of the `natural` key it equals (`natural`: distinct, no NULL),
    NULL where none does.

    Surrogate-keyed dimensions are numbered by the ERP's ids, which are dense: their sks are
    then gathered from a table indexed by key minus the smallest key, with no hashing
    (docs/decisions/0008-key-maps.md).
    Other keys are joined. Only the key column is joined, not the frame: a fact's other columns
    are not copied once per lookup.

    >>> _sks_of(pl.Series([7, 9, None, 8]), pl.Series([7, 8]), pl.Series([70, 80])).to_list()
    [70, None, None, 80]
    """
    if _fits_int64(keys.dtype) and _fits_int64(natural.dtype) and natural.len():
        low, high = cast(int, natural.min()), cast(int, natural.max())
        if high - low < _DENSE_SPAN * natural.len():
            table = pl.repeat(None, high - low + 1, dtype=sks.dtype, eager=True)
            table = table.scatter(natural.cast(pl.Int64) - low, sks)
            inside = keys.is_between(low, high)
            at = pl.select(pl.when(inside).then(keys.cast(pl.Int64) - low)).to_series()
            return table.gather(at)
    mapped = pl.DataFrame({"key": natural, "sk": sks})
    joined = keys.to_frame("key").join(mapped, on="key", how="left", maintain_order="left")
    return joined.get_column("sk")


def assign_surrogate_keys(
    frame: pl.DataFrame, existing: pl.DataFrame, sk: str, key: str | Sequence[str]
) -> pl.DataFrame:
    """Give each row its dimension's sk: the existing one for a known key, else max(sk)+1, ...

    `existing` holds the dimension's current `key` columns and `sk`. New keys are numbered in
    key order, starting after max(existing sk, 0), so the unknown member -1 is never reused.
    Example: existing {10: 1}, frame keys [11, 10] -> sks [2, 1].
    """
    keys = _columns(key)
    known = existing.select(
        *(pl.col(k).cast(frame.schema[k]) for k in keys), pl.col(sk).cast(pl.Int64)
    ).unique(subset=keys, keep="first")
    start = max(int(known.get_column(sk).max() or 0), 0) + 1  # type: ignore[arg-type]
    joined = frame.drop(sk, strict=False).join(known, on=keys, how="left", maintain_order="left")
    new_keys = (
        joined.filter(pl.col(sk).is_null())
        .select(keys)
        .unique()
        .drop_nulls()
        .sort(keys)
        .with_row_index("__dwetl_new")
        .select(*keys, (pl.col("__dwetl_new").cast(pl.Int64) + start).alias("__dwetl_sk"))
    )
    numbered = joined.join(new_keys, on=keys, how="left", maintain_order="left")
    return numbered.select(
        pl.coalesce(sk, "__dwetl_sk").alias(sk),
        *(c for c in frame.columns if c != sk),
    )
