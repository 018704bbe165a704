"""The run log's text repair counts: a small batch's columns that can report nothing are found in
one pass (`repair_counts._reporting`) and get no report of their own; the counts must be those a
report of every column gives."""

from __future__ import annotations

import polars as pl
import pytest

from dwetl.run import repair_counts
from dwetl.run.repair_counts import repairs
from transforms.text import REPORT_CLASSES, repair, repair_report

BEFORE = pl.DataFrame(
    {
        "id": [1, 2, 3, 4],
        # changed by repair (mojibake, lost accent, spacing)
        "nome": ["PromoÃ§Ã£o", "Jos? Souza", "Cupom  ", "José"],
        # left as it was, but holding words two known words fit: `ambiguous` rows
        "apelido": ["Amália", "Amélia", "Am?lia", "AM?LIA"],
        # left as it was, a wildcard that is a question, not damage: nothing to report
        "nota": ["vem?", "ok", None, "Sim"],
        # clean and left alone
        "uf": ["SP", "RJ", "MG", "SP"],
    }
)


def _after(before: pl.DataFrame) -> pl.DataFrame:
    return before.with_columns(nome=repair(before["nome"]))


def _every_column(before: pl.DataFrame, after: pl.DataFrame) -> dict[str, dict[str, int]]:
    out = {}
    for name in ("nome", "apelido", "nota", "uf"):
        report = repair_report(before[name], after[name])
        if report["changed"] or report["ambiguous"]:
            out[name] = {k: v for k, v in report.items() if v and k != "rows"}
    return out


def test_small_batch_counts_what_a_report_of_every_column_counts() -> None:
    after = _after(BEFORE)
    expected = _every_column(BEFORE, after)
    assert set(expected) == {"nome", "apelido"}  # the sample has both kinds
    assert expected["apelido"]["ambiguous"] == 2
    assert repairs(BEFORE, after) == expected


def test_the_one_pass_finds_only_columns_that_can_report(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[str] = []

    def counting(before: pl.Series, after: pl.Series) -> dict[str, int]:
        reported.append(str(before.name))
        return repair_report(before, after)

    monkeypatch.setattr(repair_counts, "repair_report", counting)
    after = _after(BEFORE)
    small = repairs(BEFORE, after)
    # `nota` holds a wildcard (a report looks at it: it may be ambiguous); `uf` holds nothing
    assert sorted(reported) == ["apelido", "nome", "nota"]
    reported.clear()
    monkeypatch.setattr(repair_counts, "CHECKED_AT_ONCE_BELOW", 0)  # every column reported
    assert repairs(BEFORE, after) == small
    assert sorted(reported) == ["apelido", "nome", "nota", "uf"]


def test_nothing_to_report() -> None:
    clean = BEFORE.select("id", "uf")
    assert repairs(clean, clean) is None


def test_a_report_with_nothing_to_count_has_every_class() -> None:
    values = pl.Series(["SP", "RJ", None])
    assert tuple(repair_report(values, values)) == REPORT_CLASSES
    assert repair_report(values, values) == dict.fromkeys(REPORT_CLASSES, 0) | {"rows": 3}
    changed = repair_report(pl.Series(["PromoÃ§Ã£o"]), pl.Series(["Promoção"]))
    assert tuple(changed) == REPORT_CLASSES
