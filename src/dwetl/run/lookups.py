"""What an entity looks up in the warehouse: its dimensions' surrogate keys (adding inferred
members for late keys), the parent keys of its foreign keys, and the tuples its other UNIQUE
keys already hold. A dry run's would-be rows (`RunContext.pending`) count as held."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache
from typing import cast

import polars as pl

from dwetl.entities.spec import EntitySpec
from dwetl.run import inferred
from dwetl.run.context import RunContext, WholeMap, remember
from dwetl.run.summary import EntityResult
from dwetl.warehouse import statements as st
from transforms.constraints import ConstraintSet
from transforms.keys import UNKNOWN_SK, assign_surrogate_keys, attach_surrogate_keys


def with_keys(
    ctx: RunContext,
    spec: EntitySpec,
    frame: pl.DataFrame,
    result: EntityResult,
    maps: dict[str, pl.DataFrame] | None = None,
    held: HeldDimensions | None = None,
    *,
    whole: bool = False,
) -> pl.DataFrame:
    """Facts: surrogate keys of their dimensions (inferred members for late keys).
    Dimensions: their own stable surrogate keys and `inferido` FALSE.

    `maps`: the dimensions' key maps read so far (read when missing, re-read after inferred
    members are added), kept by the caller across the batches of one entity.
    `held`: the caller holds the locks of `inferable(ctx, spec)` for its whole transaction,
    which writes the inferred members (see `HeldDimensions`).
    `whole`: the frame is all the entity loads in this run, not one of its batches: no later
    frame reuses the maps, so they may be read for the frame's keys only (`key_map`)."""
    if spec.kind == "dimension" and spec.surrogate_key:
        own = frame.get_column(spec.natural_key[0]) if whole else None
        existing = key_map(ctx, spec, own)
        frame = assign_surrogate_keys(frame, existing, spec.surrogate_key, list(spec.natural_key))
        if "inferido" not in frame.columns:
            frame = frame.with_columns(pl.lit(False).alias(inferred.INFERRED_FLAG))
        return frame
    if not spec.lookups:
        return frame
    maps = {} if maps is None else maps
    wanted = _looked_up(frame, spec) if whole else {}
    for lookup in spec.lookups:
        if lookup.dimension not in maps:
            dim = ctx.specs[lookup.dimension]
            maps[lookup.dimension] = key_map(ctx, dim, wanted.get(lookup.dimension))
    frame, missing = attach_surrogate_keys(frame, spec.lookups, maps)
    late = late_keys(ctx, spec, missing)
    if not late:
        return frame
    for dimension, keys in late.items():
        dim = ctx.specs[dimension]
        if held is not None:
            held.infer(ctx, dim, keys, maps, result)
            continue
        if ctx.dry_run:
            rows = inferred.placeholders(ctx.wh, dim, keys, maps[dimension], ctx.run_id)
            remember(ctx, dim.target_table, rows)
        else:
            rows = inferred.add_inferred(
                ctx.wh, dim, keys, ctx.run_id,
                lock_timeout_s=ctx.settings.lock_timeout_seconds, waiting=ctx.stop.check,
            )  # fmt: skip
        result.inferred += rows.height
        maps[dimension] = key_map(ctx, dim)
    # only the lookups of the dimensions that grew: the others' maps are as they were
    grown = [lookup for lookup in spec.lookups if lookup.dimension in late]
    frame, _ = attach_surrogate_keys(frame, grown, maps)
    return frame


@dataclass
class HeldDimensions:
    """The dimensions whose entity locks a fact holds for its whole transaction (a fact loaded
    in batches): no other run adds to them meanwhile, so their inferred members are numbered
    from the key maps in memory and kept until the fact's transaction writes them (`take`:
    table, rows; when it chooses). `with_keys` grows the maps by them, and the parent keys are
    taken from the maps (`references`): nothing is read back from the warehouse, which may be
    busy with the fact's previous batch."""

    #: per dimension, the text columns a placeholder fills (`inferred.fill_columns`)
    fill: dict[str, list[str]]
    #: the inferred members not yet taken, in the order they were numbered
    members: list[tuple[str, pl.DataFrame]] = field(default_factory=list)

    @classmethod
    def of(cls, ctx: RunContext, spec: EntitySpec) -> HeldDimensions:
        """Those of `spec` (`inferable`), whose locks the caller holds."""
        return cls({d: inferred.fill_columns(ctx.wh, ctx.specs[d]) for d in inferable(ctx, spec)})

    def add(
        self, ctx: RunContext, dim: EntitySpec, keys: pl.Series, existing: pl.DataFrame
    ) -> pl.DataFrame:
        """The inferred members of `dim` for the `keys` not in `existing`, kept for `take`."""
        rows = inferred.placeholders(
            ctx.wh, dim, keys, existing, ctx.run_id, fill=self.fill[dim.name]
        )
        if rows.height:
            self.members.append((dim.target_table, rows))
        return rows

    def infer(
        self,
        ctx: RunContext,
        dim: EntitySpec,
        keys: pl.Series,
        maps: dict[str, pl.DataFrame],
        result: EntityResult,
    ) -> None:
        """The inferred members of `dim` for the `keys` its map in `maps` lacks (`add`): the
        map grown by them, and counted in `result`."""
        existing = maps[dim.name]
        rows = self.add(ctx, dim, keys, existing)
        result.inferred += rows.height
        maps[dim.name] = pl.concat(
            [existing, rows.select(existing.columns)], how="vertical_relaxed"
        )

    def take(self) -> list[tuple[str, pl.DataFrame]]:
        """The inferred members added since the last `take` (table, rows), for the caller to
        write."""
        taken, self.members = self.members, []
        return taken


def late_keys(
    ctx: RunContext, spec: EntitySpec, missing: Mapping[str, pl.Series]
) -> dict[str, pl.Series]:
    """Of the keys `attach_surrogate_keys` found `missing`, per dimension, those that become
    inferred members (not the calendar's: `inferable`)."""
    dims = inferable(ctx, spec)
    return {d: keys for d, keys in missing.items() if d in dims and keys.len()}


def inferable(ctx: RunContext, spec: EntitySpec) -> list[str]:
    """The dimensions `spec` may add inferred members to (sorted: the order to lock them in).

    The calendar is looked up, but never inferred: its rows are generated."""
    dims = {lookup.dimension for lookup in spec.lookups}
    return sorted(d for d in dims if ctx.specs[d].kind == "dimension")


#: up to how many distinct natural keys `key_map` reads a dimension's rows for those keys only
#: (above, every row: one IN list that long costs what reading the rows costs;
#: docs/decisions/0008-key-maps.md).
KEYS_READ_BY_VALUE = 50_000


def key_map(ctx: RunContext, dim: EntitySpec, keys: pl.Series | None = None) -> pl.DataFrame:
    """DataFrame[natural key, sk] of a dimension (or the calendar), plus a dry run's pending.

    `keys`: the natural keys one frame looks up (none: every row is read). When they are few
    (`KEYS_READ_BY_VALUE`), only their rows are read, with the unknown member and the row of the
    highest sk: all that surrogate keys, placeholders (numbered after the highest sk) and parent
    keys (`references`: the map's sks and the unknown member's) need of it, so an incremental
    run reads what changed, not the whole dimension.

    Two reads are spared, the highest sk read first (docs/decisions/0008-key-maps.md): a
    dimension that holds no member but its unknown ones (a first load) is read whole, without
    the keys; and one whose whole map this run read or filled (`RunContext.whole_maps`,
    `filled`) is not read again while its highest sk is the one that map holds: every row
    added to a dimension, an inferred member included, takes an sk above the highest."""
    natural = dim.natural_key[0]
    sk = dim.surrogate_key or natural
    table, dialect = dim.target_table, ctx.wh.sqlglot_dialect
    top = ctx.wh.fetchall(_highest_sql(table, sk, dialect))[0][0]
    whole = ctx.whole_maps.get(table)
    if whole is not None and whole.top == top:
        frame = whole.frame
    else:
        wanted = None if keys is None or top is None or top < 1 else keys.drop_nulls().unique()
        few = wanted is not None and wanted.len() <= KEYS_READ_BY_VALUE
        listed = wanted is not None and few and wanted.len() > 0
        sql = _key_map_sql(table, natural, sk, few, listed, dialect)
        if listed:
            assert wanted is not None
            frame = ctx.wh.fetch_polars_with(sql, _LISTED, wanted.alias(st.LISTED_KEY))
        else:
            frame = ctx.wh.fetch_polars(sql)
        if natural == sk:
            frame = frame.select(pl.col(natural), pl.col(natural).alias(f"{sk}__sk"))
        if not few and not ctx.dry_run:
            ctx.whole_maps[table] = WholeMap(frame, top)
    pending = ctx.pending.get(table)
    if pending is not None:
        frame = pl.concat([frame, pending.select(frame.columns)], how="vertical_relaxed")
    return frame


def filled(ctx: RunContext, dim: EntitySpec, rows: pl.DataFrame, *, withdrawn: int) -> None:
    """After `dim`'s load committed `rows` (its valid rows, surrogate keys assigned): where
    this run read its whole map before the load (under the entity's lock: a first load always
    does), the map grows by them and stays whole, so that the facts after it need not read the
    dimension again (`key_map`). A load that withdrew rows (deleted some) drops the map."""
    table = dim.target_table
    whole = ctx.whole_maps.pop(table, None)
    if whole is None or withdrawn or dim.kind != "dimension" or dim.surrogate_key is None:
        return
    natural, sk = whole.frame.columns[:2]
    added = rows.select(
        pl.col(natural).cast(whole.frame.schema[natural]), pl.col(sk).cast(whole.frame.schema[sk])
    )
    frame = pl.concat([whole.frame, added]).unique(
        subset=[natural], keep="last", maintain_order=True
    )
    tops = [cast(int, t) for t in (whole.top, added.get_column(sk).max()) if t is not None]
    ctx.whole_maps[table] = WholeMap(frame, max(tops, default=None))


@lru_cache(maxsize=64)
def _key_map_sql(table: str, natural: str, sk: str, few: bool, listed: bool, dialect: str) -> str:
    """`key_map`'s query, rendered once per dimension (every frame of a fact reads one)."""
    query = st.key_rows(table, natural, sk, UNKNOWN_SK, few=few, listed=_LISTED if listed else None)
    return st.render(query, dialect)


@lru_cache(maxsize=64)
def _highest_sql(table: str, sk: str, dialect: str) -> str:
    """The query of a dimension's highest sk, rendered once per dimension."""
    return st.render(st.highest(table, sk), dialect)


#: the table `key_map`'s keys are offered to its query as (`Warehouse.fetch_polars_with`)
_LISTED = "__dwetl_keys"


def _looked_up(frame: pl.DataFrame, spec: EntitySpec) -> dict[str, pl.Series]:
    """The natural keys `frame` looks up in each dimension (of every lookup of that dimension)."""
    keys: dict[str, list[pl.Series]] = {}
    for lookup in spec.lookups:
        keys.setdefault(lookup.dimension, []).append(frame.get_column(lookup.source_column))
    return {
        dimension: pl.concat([s.cast(series[0].dtype) for s in series])
        for dimension, series in keys.items()
    }


def references(
    ctx: RunContext,
    cs: ConstraintSet,
    known: Mapping[str, pl.DataFrame] | None = None,
    stale: Set[str] = frozenset(),
    maps: Mapping[str, pl.DataFrame] | None = None,
) -> dict[str, pl.DataFrame]:
    """Parent keys of every foreign key of `cs`; those in `known` are kept unless their parent
    table is `stale` (it got rows since: inferred members). A foreign key to the surrogate key of
    a dimension whose key map is in `maps` (`with_keys`) takes the map's surrogate keys, which
    are all of the dimension's; the others are read from the warehouse."""
    refs: dict[str, pl.DataFrame] = {}
    for fk in cs.foreign_keys:
        if known and fk.name in known and fk.ref_table not in stale:
            refs[fk.name] = known[fk.name]
            continue
        mapped = _surrogate_keys(ctx, fk.ref_table, fk.ref_columns, maps or {})
        if mapped is not None:
            # spares a second read of the dimension (docs/decisions/0008-key-maps.md)
            refs[fk.name] = mapped
            continue
        # no DISTINCT: a foreign key references a primary or unique key, whose values are
        # distinct already (PostgreSQL would hash them anyway)
        query = st.select_columns(fk.ref_table, fk.ref_columns)
        frame = ctx.wh.fetch_polars(st.render(query, ctx.wh.sqlglot_dialect))
        pending = ctx.pending.get(fk.ref_table)
        if pending is not None:
            frame = pl.concat(
                [frame, pending.select(frame.columns)], how="vertical_relaxed"
            ).unique()
        refs[fk.name] = frame
    return refs


def _surrogate_keys(
    ctx: RunContext, table: str, columns: Sequence[str], maps: Mapping[str, pl.DataFrame]
) -> pl.DataFrame | None:
    """The surrogate keys of the dimension `table` as column `columns[0]`, from its key map in
    `maps` (natural key, then sk: as `key_map` reads it, a dry run's pending rows included);
    None when `maps` lacks it or `columns` are not its surrogate key."""
    for name, mapped in maps.items():
        dim = ctx.specs[name]
        if dim.target_table == table and [dim.surrogate_key or dim.natural_key[0]] == [*columns]:
            return mapped.select(pl.col(mapped.columns[1]).alias(columns[0]))
    return None


def held_tuples(ctx: RunContext, spec: EntitySpec, cs: ConstraintSet) -> pl.DataFrame | None:
    """The target's merge key and the columns of its other UNIQUE keys, so that `split` rejects
    a row taking a tuple another row holds (the MERGE would fail the whole entity); None when
    the target has no such key. The surrogate key is left out: dwetl numbers it past max(sk)."""
    natural = set(spec.natural_key)
    keys = [
        k
        for k in (cs.primary_key, *cs.uniques)
        if k is not None and set(k.columns) != natural and k.columns != (spec.surrogate_key,)
    ]
    if not keys:
        return None
    columns = list(dict.fromkeys([*spec.natural_key, *(c for k in keys for c in k.columns)]))
    query = st.select_columns(spec.target_table, columns)
    frame = ctx.wh.fetch_polars(st.render(query, ctx.wh.sqlglot_dialect))
    pending = ctx.pending.get(spec.target_table)
    if pending is not None and set(columns) <= set(pending.columns):
        frame = pl.concat([frame, pending.select(columns)], how="vertical_relaxed")
    return frame
