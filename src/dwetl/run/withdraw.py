"""Withdrawal: the target rows of keys whose newest source version a run rejected leave the
target, as a full reload of the same source would leave it (docs/architecture.md, "The newest
version decides"): a fact's rows are deleted; a dimension's are deleted where no fact row
refers to them, else turned into inferred members, their surrogate keys kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from sqlglot import exp

from dwetl.run.merge import MergePlan, run_statement
from dwetl.warehouse import statements as st
from dwetl.warehouse.base import Warehouse


def withdrawn_keys_name(entity: str, run_id: int) -> str:
    """The run-private table of the keys whose newest version an entity's run rejected.

    >>> withdrawn_keys_name("dim_cliente", 42)
    'stg.dim_cliente_withdrawn_42'
    """
    return f"stg.{entity}_withdrawn_{run_id}"


@dataclass(frozen=True)
class Withdrawal:
    """How the target rows of keys whose newest source version was rejected leave the target
    (`withdraw`): a fact's are deleted; a dimension's are deleted where no fact row references
    their surrogate key, else turned into an inferred member (`placeholder`), as a full reload
    of the same source would leave them."""

    plan: MergePlan
    #: the table of the rejected keys (`withdrawn_keys_name`)
    keys: str
    #: the table holding the keys that loaded in this run (the staging table): never withdrawn
    loaded: str | None = None
    #: (table, column) of every foreign key referencing the dimension's surrogate key; a
    #: dimension's rows are kept (as placeholders) where one of them refers to it
    references: tuple[tuple[str, str], ...] = ()
    #: a dimension's placeholder, as the SET list of an UPDATE (`inferred.placeholder_sets`:
    #: column and value, a parameter where the value is `exp.Placeholder`); empty for a fact
    placeholder: tuple[tuple[str, exp.Expr], ...] = ()
    #: whether the row is an inferred member already (a dimension's column)
    inferred_flag: str | None = None

    @property
    def is_dimension(self) -> bool:
        """Whether the rows referenced by facts become placeholders (else all are deleted)."""
        return bool(self.plan.fixed and self.placeholder)

    def _rejected(self) -> exp.Expr:
        """The target rows (alias t) whose key is among the rejected ones and did not load."""
        surrogate = self.plan.fixed[0] if self.plan.fixed else None
        return st.withdrawn(self.keys, self.plan.key, self.loaded, surrogate)

    def _referenced(self) -> exp.Expr:
        return st.referenced(self.references, self.plan.fixed[0])

    def count_sql(self, dialect: str = "postgres") -> str:
        """Rows to delete, and rows to turn into placeholders (0 for a fact).

        >>> plan = MergePlan("dw.f", "stg.f_1", ("k", "v"), ("k",))
        >>> print(Withdrawal(plan, "stg.w_1").count_sql())
        SELECT COUNT(*), 0 FROM "dw"."f" AS t
        WHERE EXISTS(SELECT 1 FROM "stg"."w_1" AS w WHERE w."k" = t."k")
        """
        if not self.is_dimension:
            return st.render(st.count_where(self.plan.target, self._rejected()), dialect)
        assert self.inferred_flag is not None, "a dimension's withdrawal names its inferred flag"
        query = st.count_split(
            self.plan.target, self._rejected(), self._referenced(), self.inferred_flag
        )
        return st.render(query, dialect)

    def delete_sql(self, dialect: str = "postgres") -> str:
        """The DELETE of the rows that leave the target (for a dimension: those no fact refers
        to)."""
        where = self._rejected()
        if self.is_dimension:
            where = exp.and_(where, exp.paren(self._referenced()).not_(), copy=False)
        return st.render(st.delete_where(self.plan.target, where), dialect)

    def placeholder_sql(self, dialect: str = "postgres") -> str:
        """A dimension's UPDATE turning the referenced rows into placeholders, sk kept."""
        assert self.inferred_flag is not None, "a dimension's withdrawal names its inferred flag"
        where = exp.and_(
            self._rejected(),
            exp.paren(self._referenced()),
            st.column(self.inferred_flag, "t").not_(),
            copy=False,
        )
        return st.render(st.update_where(self.plan.target, self.placeholder, where), dialect)


def withdraw(
    wh: Warehouse,
    withdrawal: Withdrawal,
    keys: pl.DataFrame,
    params: Sequence[object] = (),
    *,
    apply: bool = True,
) -> int:
    """Take out of the target the rows of `keys` (natural keys whose newest version was
    rejected), in the caller's transaction: count them, then (unless `apply` is False: a dry
    run) delete them, or, a dimension's rows that facts reference, turn them into inferred
    members (`params`: the placeholder's). Returns the rows withdrawn."""
    plan = withdrawal.plan
    keys = keys.select(plan.key).drop_nulls().unique()
    if not keys.height:
        return 0
    dialect = wh.sqlglot_dialect
    run_statement(wh, st.drop_table(withdrawal.keys))
    table = st.create_empty_like(withdrawal.keys, plan.target, plan.key, wh.staging_table)
    run_statement(wh, table)
    wh.load_arrow(withdrawal.keys, keys.to_arrow())
    (deleted, placeholders), *_ = wh.fetchall(withdrawal.count_sql(dialect))
    if apply and placeholders:
        wh.execute(withdrawal.placeholder_sql(dialect), list(params))
    if apply and deleted:
        wh.execute(withdrawal.delete_sql(dialect))
    run_statement(wh, st.drop_table(withdrawal.keys))
    return int(deleted) + int(placeholders)
