"""Folding source versions and surrogate keys: pure Polars, hand-built frames."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from dwetl.entities.spec import Lookup
from transforms.keys import (
    assign_surrogate_keys,
    attach_surrogate_keys,
    fold_newest,
    fold_versions,
)


def test_fold_keeps_latest_version_and_counts_the_rest() -> None:
    frame = pl.DataFrame(
        {
            "id": [1, 2, 1, 1],
            "nome": ["velho", "b", "novo", "meio"],
            "atualizado_em": [datetime(2024, 1, 1), datetime(2024, 1, 1), datetime(2024, 3, 1),
                              datetime(2024, 2, 1)],
        }
    )  # fmt: skip
    folded, count = fold_versions(frame, ["id"], "atualizado_em")
    assert count == 2
    assert dict(folded.select("id", "nome").iter_rows()) == {1: "novo", 2: "b"}


def test_fold_breaks_ties_the_same_way_whatever_the_input_order() -> None:
    rows = {"id": [1, 1], "nome": ["x", "a"], "atualizado_em": [5, 5]}
    one = fold_versions(pl.DataFrame(rows), "id", "atualizado_em")[0]
    other = fold_versions(pl.DataFrame(rows).reverse(), "id", "atualizado_em")[0]
    assert one.equals(other)
    assert one.height == 1


def test_a_tie_is_broken_by_the_source_values_and_counted() -> None:
    # after a repair that depends on the other rows read, "Jo?o" may or may not be "João":
    # the tie is decided on the rows as read, so either way the same version is kept
    source = pl.DataFrame({"id": [7, 7, 8], "nome": ["Jo?o", "Joana", "x"], "at": [5, 5, 1]})
    for repaired in ("João", "Jo?o"):
        frame = source.with_columns(pl.Series("nome", [repaired, "Joana", "x"]))
        for order in (frame, frame.reverse()):
            tie_break = source if order is frame else source.reverse()
            kept = fold_newest(order, "id", "at", tie_break=tie_break)
            assert dict(kept.frame.select("id", "nome").iter_rows()) == {7: "Joana", 8: "x"}
            assert (kept.folded, kept.ties) == (1, 1)
    # without a tie_break the frame's own values decide, and they differ after the repair
    assert fold_newest(source.with_columns(nome=pl.Series(["João", "Joana", "x"])), "id", "at")[0][
        "nome"
    ].to_list() == ["João", "x"]


def test_ties_count_keys_whose_newest_versions_tie_only() -> None:
    frame = pl.DataFrame(
        {
            "id": [1, 1, 2, 2, 3, 3, 3, 4, None, None],
            "v": list("abcdefghij"),
            "at": [1, 1, 1, 2, 3, 3, 3, None, 1, 1],
        }
    )
    kept = fold_newest(frame, "id", "at")
    # 1 ties; 2's newest is alone; 3 has three at its newest (one key); NULL keys never fold
    assert (kept.folded, kept.ties) == (1 + 1 + 2, 2)
    assert sorted(kept.frame["v"].to_list()) == ["b", "d", "g", "h", "i", "j"]


def test_a_tie_break_must_line_up_with_the_frame() -> None:
    frame = pl.DataFrame({"id": [1, 1], "at": [1, 1]})
    with pytest.raises(ValueError, match="must align"):
        fold_newest(frame, "id", "at", tie_break=frame.head(1))


def test_fold_never_merges_rows_without_a_key() -> None:
    frame = pl.DataFrame({"id": [None, None, 3], "atualizado_em": [1, 2, 3]})
    folded, count = fold_versions(frame, ["id"], "atualizado_em")
    assert (folded.height, count) == (3, 0)


def test_fold_on_a_composite_key() -> None:
    frame = pl.DataFrame(
        {"a": [1, 1, 1], "b": [1, 2, 1], "v": [1, 2, 3], "atualizado_em": [1, 1, 2]}
    )
    folded, count = fold_versions(frame, ["a", "b"], "atualizado_em")
    assert count == 1
    assert sorted(folded["v"].to_list()) == [2, 3]


LOOKUPS = (
    Lookup("dim_cliente", "id_cliente", "sk_cliente", optional=True),
    Lookup("dim_produto", "id_produto", "sk_produto"),
)
KEY_MAPS = {
    "dim_cliente": pl.DataFrame({"id_cliente_origem": [10, -1], "sk_cliente": [100, -1]}),
    "dim_produto": pl.DataFrame({"id_produto_origem": [20], "sk_produto": [200]}),
}


def test_attach_maps_known_keys_and_lists_missing_ones() -> None:
    fact = pl.DataFrame(
        {"id": [1, 2, 3, 4], "id_cliente": [10, None, 11, 11], "id_produto": [20, 20, None, 21]}
    )
    out, missing = attach_surrogate_keys(fact, LOOKUPS, KEY_MAPS)
    assert out["sk_cliente"].to_list() == [100, -1, None, None]  # NULL optional key -> -1
    assert out["sk_produto"].to_list() == [200, 200, None, None]  # NULL required key stays NULL
    assert {k: v.to_list() for k, v in missing.items()} == {
        "dim_cliente": [11],
        "dim_produto": [21],
    }
    assert out["id"].to_list() == [1, 2, 3, 4]


def test_attach_again_after_inferred_members_replaces_the_keys() -> None:
    fact = pl.DataFrame({"id_cliente": [11], "id_produto": [20]})
    first, _ = attach_surrogate_keys(fact, LOOKUPS, KEY_MAPS)
    grown = {**KEY_MAPS, "dim_cliente": pl.DataFrame({"id": [10, 11], "sk": [100, 101]})}
    second, missing = attach_surrogate_keys(first, LOOKUPS, grown)
    assert second["sk_cliente"].to_list() == [101]
    assert missing == {}
    assert second.columns.count("sk_cliente") == 1


def test_attach_finds_the_same_keys_in_a_dense_map_as_in_a_sparse_one() -> None:
    # Dense keys (the ERP's ids) are looked up by position, sparse ones joined: both must give
    # every row its sk, -1 for a NULL optional key, and list the keys each lacks, among them
    # keys below and above the map's (and the first sk where a key is in the map twice).
    dense = pl.DataFrame(
        {"id_cliente_origem": [-1, *range(1, 1001), 5], "sk_cliente": [-1, *range(1, 1001), 9]}
    )
    sparse = pl.concat([dense, pl.DataFrame({"id_cliente_origem": [10**9], "sk_cliente": [12345]})])
    fact = pl.DataFrame(
        {"id_cliente": [5, None, 1000, 1001, -2, 0, 10**9, 7, 2**40], "id_produto": [20] * 9}
    )
    results = []
    for key_map in (dense, sparse):
        out, missing = attach_surrogate_keys(fact, LOOKUPS, {**KEY_MAPS, "dim_cliente": key_map})
        results.append((out["sk_cliente"].to_list(), missing["dim_cliente"].to_list()))
    (dense_sks, dense_missing), (sparse_sks, sparse_missing) = results
    assert dense_sks == [5, -1, 1000, None, None, None, None, 7, None]
    assert dense_missing == [-2, 0, 1001, 10**9, 2**40]
    assert sparse_sks == [5, -1, 1000, None, None, None, 12345, 7, None]
    assert sparse_missing == [-2, 0, 1001, 2**40]


def test_assign_keeps_existing_keys_and_numbers_new_ones_after_the_max() -> None:
    existing = pl.DataFrame({"id_cliente_origem": [-1, 10, 12], "sk_cliente": [-1, 1, 7]})
    frame = pl.DataFrame({"id_cliente_origem": [13, 10, 11], "nome": ["c", "a", "b"]})
    out = assign_surrogate_keys(frame, existing, "sk_cliente", ["id_cliente_origem"])
    assert out.select("id_cliente_origem", "sk_cliente").rows() == [(13, 9), (10, 1), (11, 8)]
    assert out["nome"].to_list() == ["c", "a", "b"]


def test_assign_on_an_empty_dimension_starts_at_one() -> None:
    existing = pl.DataFrame(schema={"id": pl.Int64, "sk": pl.Int64})
    out = assign_surrogate_keys(pl.DataFrame({"id": [5, 3]}), existing, "sk", "id")
    assert out.sort("id")["sk"].to_list() == [1, 2]


def test_attach_takes_unsigned_keys_beyond_the_signed_range() -> None:
    # a notebook's UInt64 keys: the largest do not fit the Int64 a position is computed in
    fact = pl.DataFrame(
        {"id_cliente": [5, 2**64 - 1], "id_produto": [20, 20]},
        schema={"id_cliente": pl.UInt64, "id_produto": pl.Int64},
    )
    key_map = pl.DataFrame(
        {"id_cliente_origem": [5], "sk_cliente": [50]},
        schema={"id_cliente_origem": pl.UInt64, "sk_cliente": pl.Int64},
    )
    out, missing = attach_surrogate_keys(fact, LOOKUPS, {**KEY_MAPS, "dim_cliente": key_map})
    assert out["sk_cliente"].to_list() == [50, None]
    assert missing["dim_cliente"].to_list() == [2**64 - 1]
