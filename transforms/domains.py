"""Allowed values of categorical columns, read from a constraint set's `col IN (...)` CHECKs.

>>> from transforms.constraints import constraint_sets_from_ddl
>>> cs = constraint_sets_from_ddl(
...     "CREATE TABLE dw.t (c VARCHAR(5), CONSTRAINT CK_T_c CHECK (c IN ('A', 'B')))")["dw.t"]
>>> allowed_values(cs)
{'c': ('A', 'B')}
"""

from __future__ import annotations

from sqlglot import exp

from transforms.constraints import ConstraintSet


def allowed_values(constraint_set: ConstraintSet) -> dict[str, tuple[str, ...]]:
    """Column -> its allowed strings, in the DDL's order, for every CHECK that is `col IN (...)`."""
    domains: dict[str, tuple[str, ...]] = {}
    for check in constraint_set.checks:
        tree = check.tree()
        while isinstance(tree, exp.Paren):
            tree = tree.this
        if not isinstance(tree, exp.In) or not isinstance(tree.this, exp.Column):
            continue
        values = tree.expressions
        if values and all(isinstance(v, exp.Literal) and v.is_string for v in values):
            domains[tree.this.name] = tuple(v.name for v in values)
    return domains
