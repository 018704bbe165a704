"""allowed_values: categorical domains read from `col IN (...)` CHECKs, nothing else."""

from __future__ import annotations

from transforms.constraints import constraint_sets_from_ddl
from transforms.domains import allowed_values

DDL = """
CREATE TABLE dw.t (
    a VARCHAR(10), b INTEGER, c VARCHAR(10),
    CONSTRAINT CK_T_a CHECK (a IN ('Um', 'Dois')),
    CONSTRAINT CK_T_b CHECK (b IN (1, 2)),
    CONSTRAINT CK_T_c CHECK (c <> 'x' OR b > 1),
    CONSTRAINT CK_T_p CHECK ((c IN ('Três')))
)
"""


def test_only_string_in_lists_are_domains_in_ddl_order() -> None:
    assert allowed_values(constraint_sets_from_ddl(DDL)["dw.t"]) == {
        "a": ("Um", "Dois"),
        "c": ("Três",),
    }
