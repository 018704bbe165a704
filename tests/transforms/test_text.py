"""Text repair: damage made by real codec paths over real Portuguese words, and properties."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import ftfy
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from transforms._mojibake import (
    NARROW_BELOW_ROWS,
    mojibake_markers,
    mojibake_patterns,
    patterns_for,
)
from transforms.text import (
    _UNRESOLVED,
    _normalize_every,
    _normalize_values,
    normalize,
    repair,
    repair_report,
    repair_to_domain,
)

WORDS = sorted(
    {
        line.strip()
        for line in (Path(__file__).parent / "data" / "palavras_pt.txt")
        .read_text("utf-8")
        .splitlines()
        if line.strip() and not line.startswith("#")
    }
)
ACCENTED = [w for w in WORDS if not w.isascii()]

# The CHECK domains of dw.dim_desconto, as in sql/ddl (hard-coded: the DDL parser is separate).
DOMAINS = {
    "CK_DIM_DESCONTO_tipo": [
        "Promoção Automática",
        "Cupom",
        "Negociação Manual",
        "Programa de Fidelidade",
        "Atacado",
    ],
    "CK_DIM_DESCONTO_metodo": ["Percentual", "Valor Fixo", "Preço Fixo", "Leve Mais Pague Menos"],
    "CK_DIM_DESCONTO_aplica_em": ["Item", "Pedido", "Frete", "Categoria"],
}

CLEAN_OTHER = [
    "SÃO PAULO", "IRMÃ", "MAÇÃ VERDE", "AMANHÃ, 10h", "Você vem?", "É isso?", "Qual é o preço?",
    "¿Qué tal?", "¡Hola!", "España", "Niño", "año", "CORAZÓN", "MAÑANA", "pingüino", "Perú",
    "Bogotá", "Noël", "œuvre", "garçon", "Ça va?", "À bientôt", "élève", "naïve", "où", "Île",
    "Hôtel", "Français", "R$ 1.234,56", "50% OFF!!", "C++", "joao@loja.com.br", "Nº 12", "1ª via",
    "TV 32”", "“IRMÔ disse", "SÃ", "Ã", "d'Ávila", "Maria-José", "a?b", "??", "?", "Sr. ?",
    "MAÇÃ — VERDE", "AVÔ",
]  # fmt: skip


def _normalized(values: Sequence[str | None]) -> list[str | None]:
    return (
        pl.DataFrame({"v": values}, schema={"v": pl.String}).select(normalize("v"))["v"].to_list()
    )


def _to_domain(values: Sequence[str | None], allowed: list[str]) -> list[str | None]:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(repair_to_domain(pl.col("v"), allowed))["v"].to_list()


def _utf8_as(codec: str) -> Callable[[str], str]:
    return lambda s: s.encode("utf-8").decode(codec)


def _twice(first: str, second: str) -> Callable[[str], str]:
    return lambda s: _utf8_as(second)(_utf8_as(first)(s))


def _nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


MOJIBAKE_PATHS: dict[str, Callable[[str], str]] = {
    "cp1252": _utf8_as("cp1252"),
    "latin-1": _utf8_as("latin-1"),
    "cp1252 twice": _twice("cp1252", "cp1252"),
    "latin-1 twice": _twice("latin-1", "latin-1"),
    "cp1252 then latin-1": _twice("cp1252", "latin-1"),
    "latin-1 then cp1252": _twice("latin-1", "cp1252"),
    "NFD": _nfd,
    "NFD then cp1252": lambda s: _utf8_as("cp1252")(_nfd(s)),
    "NFD then latin-1": lambda s: _utf8_as("latin-1")(_nfd(s)),
    "NFD then cp1252 twice": lambda s: _twice("cp1252", "cp1252")(_nfd(s)),
}
LOST_ACCENT_PATHS: dict[str, Callable[[str], str]] = {
    "ascii replace": lambda s: s.encode("ascii", "replace").decode(),
    "cp1252 bytes read as utf-8": lambda s: s.encode("cp1252").decode("utf-8", "replace"),
    "utf-8 bytes read as ascii": lambda s: s.encode("utf-8").decode("ascii", "replace"),
    "utf-8 bytes to ascii ?": lambda s: (
        s.encode("utf-8").decode("ascii", "replace").replace("\ufffd", "?")
    ),
    "NFD then ascii replace": lambda s: _nfd(s).encode("ascii", "replace").decode(),
}


def _cases(
    paths: dict[str, Callable[[str], str]], *, lowered: bool = False
) -> list[tuple[str, str, str]]:
    """(path, expected, damaged) for every word in its own, upper and lower case."""
    cases = []
    for word in ACCENTED:
        for form in dict.fromkeys([word, word.upper(), word.lower()]):
            for name, damage in paths.items():
                try:
                    damaged = damage(form)
                except UnicodeDecodeError:  # cp1252 has no character for byte 0x81 (Á, Í, ´)
                    continue
                if lowered:
                    cases.append((name + " + LOWER()", form.lower(), damaged.lower()))
                else:
                    cases.append((name, form, damaged))
    return cases


def test_every_mojibake_path_restores_every_word() -> None:
    cases = _cases(MOJIBAKE_PATHS)
    assert len(cases) > 3000
    result = _normalized([damaged for _, _, damaged in cases])
    wrong = [(p, e, d, r) for (p, e, d), r in zip(cases, result, strict=True) if r != e]
    assert wrong == []


def test_as_good_as_ftfy_on_mojibake_and_better_after_lower() -> None:
    cases = _cases(MOJIBAKE_PATHS) + _cases(MOJIBAKE_PATHS, lowered=True)
    ours = _normalized([damaged for _, _, damaged in cases])
    theirs = [ftfy.fix_text(damaged, uncurl_quotes=False) for _, _, damaged in cases]
    ftfy_only = [
        (p, e, d) for (p, e, d), o, t in zip(cases, ours, theirs, strict=True) if t == e and o != e
    ]
    assert ftfy_only == []
    ours_right = sum(o == e for (_, e, _), o in zip(cases, ours, strict=True))
    ftfy_right = sum(t == e for (_, e, _), t in zip(cases, theirs, strict=True))
    assert ours_right > ftfy_right + 1000  # ftfy cannot repair mojibake that went through LOWER()


def test_lowered_mojibake_is_repaired_except_where_two_letters_collide() -> None:
    cases = _cases({"cp1252": _utf8_as("cp1252"), "latin-1": _utf8_as("latin-1")}, lowered=True)
    result = _normalized([damaged for _, _, damaged in cases])
    for (path, expected, damaged), got in zip(cases, result, strict=True):
        assert got is not None
        if "ãš" in got:  # `ÃŠ` (Ê) and `Ãš` (Ú) both lower to `ãš`
            assert got == damaged.replace("ãƒ", "ã").replace("ã‡", "ç") or "ãš" in damaged
        else:
            assert got == expected, (path, damaged)


def test_lowered_collision_is_settled_by_a_known_word() -> None:
    damaged = "VOCÊ ÚNICO".encode().decode("cp1252").lower()
    assert _normalized([damaged]) == ["vocãš ãšnico"]
    assert repair(pl.Series([damaged]), vocabulary=["você", "único"]).to_list() == ["você único"]
    assert repair(pl.Series([damaged])).to_list() == ["vocãš ãšnico"]  # nothing known: no guess


def _lost_keys(word: str) -> set[str]:
    """Every way a word can look once its accented letters are lost (the test's own oracle)."""
    keys = {"".join(form if not c.isascii() else c for c in word) for form in LOST_FORMS}
    return keys | {"".join("?" if unicodedata.combining(c) else c for c in _nfd(word))}


LOST_FORMS = ("?", "??", "\ufffd", "\ufffd\ufffd")


def test_lost_accents_restored_from_vocabulary_unless_two_words_fit() -> None:
    fits: dict[str, set[str]] = {}
    for word in {t.lower() for w in ACCENTED for t in w.split() if not t.isascii()}:
        for key in _lost_keys(word):
            fits.setdefault(key, set()).add(word)
    known = {t.lower() for w in WORDS for t in w.split()}
    cases = _cases(LOST_ACCENT_PATHS)
    result = repair(pl.Series([d for _, _, d in cases]), vocabulary=WORDS).to_list()
    restored = 0
    for (path, expected, damaged), got in zip(cases, result, strict=True):
        pairs = zip(expected.split(), damaged.split(), strict=True)
        if all(
            len(fits.get(lost.lower(), ())) == 1
            and not (
                lost.endswith("?") and lost.rstrip("?").lower() in known
            )  # `esta?`: a question
            for word, lost in pairs
            if not word.isascii()
        ):
            # `S?` (`Sá` or `SÁ`?) and `?ngela` (`Ângela` or `ângela`?) do not tell their case
            undecided = sum(c.isascii() and c.isupper() for c in damaged) == 1 or any(
                not t[0].isalpha() for t in damaged.split()
            )
            assert got == expected or (undecided and got.lower() == expected.lower()), damaged
            restored += 1
        else:
            assert got == _normalized([damaged])[0], (path, damaged)
    assert restored > 0.9 * len(cases)


def test_lost_accents_restored_from_clean_values_of_the_same_column() -> None:
    column = pl.Series(
        "cidade", ["S?o Paulo", "São Paulo", "GOI?NIA", "Goiânia", "macei?", "Maceió", None, "?gua"]
    )
    assert repair(column).to_list() == [
        "São Paulo", "São Paulo", "GOIÂNIA", "Goiânia", "maceió", "Maceió", None, "?gua",
    ]  # fmt: skip
    assert repair(column).name == "cidade"


def test_ambiguous_and_unknown_words_are_left_as_they_were() -> None:
    column = pl.Series(["Av? Maria", "avó", "avô", "Cort?s", "Cortes", "Cortês", "Xyz?", "Cortes"])
    assert repair(column).to_list() == [
        "Av? Maria", "avó", "avô", "Cortês", "Cortes", "Cortês", "Xyz?", "Cortes",
    ]  # fmt: skip


def test_a_word_two_known_words_fit_is_left_and_counted_as_ambiguous() -> None:
    # `Am?lia` is Amália or Amélia, `S?` Sá or Sé: the column cannot decide, so repair leaves
    # them (validation decides on the row) and the report counts their rows
    column = pl.Series(
        "nome",
        ["Amália Souza", "Amélia Lima", "Am?lia Silva", "AM?LIA", "Jos? S?", "José", "Sá", "Sé"],
    )
    repaired = repair(column)
    assert repaired.to_list() == [
        "Amália Souza", "Amélia Lima", "Am?lia Silva", "AM?LIA", "José S?", "José", "Sá", "Sé",
    ]  # fmt: skip
    report = repair_report(column, repaired)
    assert (report["changed"], report["lost_accent"], report["ambiguous"]) == (1, 1, 3)
    # repeated enough to be counted per distinct (before, after) pair: the same, per row
    many = repair_report(pl.concat([column] * 200), pl.concat([repaired] * 200))
    assert many["ambiguous"] == 3 * 200
    # one known word: repaired, not ambiguous; a reference vocabulary counts as known words
    alone = pl.Series(["Amália Souza", "Am?lia Silva"])
    assert repair(alone).to_list() == ["Amália Souza", "Amália Silva"]
    assert repair_report(alone, repair(alone))["ambiguous"] == 0
    with_reference = repair(alone, vocabulary=["Amélia"])
    assert with_reference.to_list() == ["Amália Souza", "Am?lia Silva"]
    assert repair_report(alone, with_reference, vocabulary=["Amélia"])["ambiguous"] == 1
    assert repair_report(alone, with_reference)["ambiguous"] == 0  # without it: unknown


def test_question_mark_after_a_known_word_is_a_question() -> None:
    column = pl.Series(["Você vem?", "vem aqui", "Jos? vem?", "José", "Vai para Maca?"])
    assert repair(column, vocabulary=["Macaé"]).to_list() == [
        "Você vem?", "vem aqui", "José vem?", "José", "Vai para Macaé",
    ]  # fmt: skip
    with_maca = pl.Series(["Vai para Maca?", "uma maca"])
    assert repair(with_maca, vocabulary=["Macaé"]).to_list() == ["Vai para Maca?", "uma maca"]


def test_production_case() -> None:
    allowed = DOMAINS["CK_DIM_DESCONTO_tipo"]
    assert _to_domain(["Promo??o Autom?tica"], allowed) == ["Promoção Automática"]


def _cp1252_replace(s: str) -> str:
    """UTF-8 read as cp1252 with 'replace': `Á` becomes `Ã` + U+FFFD, other letters mojibake."""
    return s.encode("utf-8").decode("cp1252", "replace")


def test_letter_half_lost_in_cp1252_is_restored_from_a_known_word() -> None:
    damaged = _cp1252_replace("PROMOÇÃO AUTOMÁTICA")
    assert damaged == "PROMOÃ‡ÃƒO AUTOMÃ\ufffdTICA"
    column = pl.Series([damaged, "Promoção Automática"])
    assert repair(column).to_list() == ["PROMOÇÃO AUTOMÁTICA", "Promoção Automática"]
    assert repair(pl.Series([damaged])).to_list() == ["PROMOÇÃO AUTOMÃ\ufffdTICA"]


def _domain_variants(value: str) -> set[str]:
    variants = set()
    for form in (value, value.upper(), value.lower(), value.title()):
        for damage in [*MOJIBAKE_PATHS.values(), *LOST_ACCENT_PATHS.values(), _cp1252_replace]:
            try:
                variants.add(damage(form))
                variants.add(damage(form).lower())
            except UnicodeDecodeError:
                pass
        stripped = "".join(c for c in _nfd(form) if not unicodedata.combining(c))
        variants |= {stripped, f"  {form}\xa0", form.replace(" ", "  "), form.replace(" ", "\xa0")}
    return variants


@pytest.mark.parametrize("constraint", sorted(DOMAINS))
def test_every_variant_of_every_allowed_value_maps_exactly(constraint: str) -> None:
    allowed = DOMAINS[constraint]
    for value in allowed:
        variants = sorted(_domain_variants(value))
        assert _to_domain(variants, allowed) == [value] * len(variants), value


@pytest.mark.parametrize("constraint", sorted(DOMAINS))
def test_values_outside_the_domain_stay_as_they_were(constraint: str) -> None:
    outside = [
        "Desconto",
        "",
        "  Promo??o Autom?tica X",
        "Cupom Cupom",
        "Frete?",
        "??",
        "PromoÃ§Ã£o",
    ]
    assert _to_domain([*outside, None], DOMAINS[constraint]) == [*outside, None]


def test_a_value_that_fits_two_allowed_values_is_not_guessed() -> None:
    allowed = ["Cortês", "Cortes", "Avó", "Avô"]
    values = ["CORTES", "cortês", "Av?", "AVO", "Cort?s", "avô"]
    assert _to_domain(values, allowed) == ["Cortes", "Cortês", "Av?", "AVO", "Cortês", "Avô"]


def test_normalize_spacing_and_composition() -> None:
    assert _normalized(["  São\xa0 Paulo \t", "a\u200bb", "Promoc\u0327a\u0303o", None, ""]) == [
        "São Paulo", "ab", "Promoção", None, "",
    ]  # fmt: skip
    assert _normalized(["IRMÃ\xa0SILVA", "Ã\xa0s vezes", "AVÃ” e “IRMÔ"]) == [
        "IRMÃ SILVA", "às vezes", "AVÃ” e “IRMÔ",
    ]  # fmt: skip


def test_mojibake_three_levels_deep_and_half_repaired() -> None:
    thrice = _twice("cp1252", "cp1252")(_utf8_as("cp1252")("Promoção"))
    assert _normalized([thrice, "ÃÂ§"]) == ["Promoção", "ç"]


def test_normalize_runs_in_lazy_streaming_frames() -> None:
    frame = pl.LazyFrame({"v": ["PromoÃ§Ã£o", None, "SÃO PAULO", "Jos\u00c3\u00a9"] * 50_000})
    result = frame.select(normalize("v")).collect(engine="streaming")["v"]
    assert result.head(4).to_list() == ["Promoção", None, "SÃO PAULO", "José"]
    assert result.len() == 200_000


def test_repair_report_counts_each_damage_class() -> None:
    before = pl.Series(
        ["PromoÃ§Ã£o", "Promo??o", "Promoc\u0327a\u0303o", "Cupom  ", "CUPOM", "Jos? X", "Ok", None]
    )
    after = pl.Series(["Promoção", "Promoção", "Promoção", "Cupom", "Cupom", "Jos? X", "Ok", None])
    assert repair_report(before, after) == {
        "rows": 8,
        "changed": 5,
        "mojibake": 1,
        "lost_accent": 1,
        "nfd": 1,
        "whitespace": 1,
        "case_or_accents": 1,
        "unresolved": 0,
        "ambiguous": 0,
    }
    assert repair_report(pl.Series(["Promo??o"]), pl.Series(["Promo??o"]))["unresolved"] == 1


def test_repair_report_counts_rows_not_distinct_values() -> None:
    # The report classifies distinct (before, after) pairs; each must weigh its rows.
    before = pl.Series(["PromoÃ§Ã£o"] * 3 + ["Promo??o"] * 2 + ["Ok"] * 4 + [None])
    after = pl.Series(["Promoção"] * 3 + ["Promo??o", "Promoção"] + ["Ok"] * 4 + [None])
    report = repair_report(before, after)
    assert (report["rows"], report["changed"], report["mojibake"]) == (10, 4, 3)
    assert (report["lost_accent"], report["unresolved"]) == (1, 1)


def test_a_small_batch_is_repaired_as_in_a_large_one() -> None:
    # Below NARROW_BELOW_ROWS rows only the mojibake sequences whose characters the batch holds
    # are searched for: every damaged form must come out as it does in a batch of all of them.
    damaged = [d for _, _, d in _cases(MOJIBAKE_PATHS) + _cases(MOJIBAKE_PATHS, lowered=True)]
    padding = [f"k{i}" for i in range(NARROW_BELOW_ROWS)]
    expected = _normalized(damaged + padding)[: len(damaged)]
    batch = 40
    assert len(patterns_for(pl.Series(damaged[:batch]))[0]) < len(mojibake_patterns()[0])
    small = [v for i in range(0, len(damaged), batch) for v in _normalized(damaged[i : i + batch])]
    assert small == expected


def test_repair_report_of_a_small_batch_counts_as_in_a_large_one() -> None:
    before = pl.Series(["PromoÃ§Ã£o", "Promo??o", "CUPOM", "Jos?a", "SÃ£o", "Ã©x", None])
    after = pl.Series(["Promoção", "Promoção", "Cupom", "Jos?a", "São", "Ã©x", None])
    padding = pl.Series([f"k{i}" for i in range(NARROW_BELOW_ROWS)])
    small = repair_report(before, after)
    large = repair_report(pl.concat([before, padding]), pl.concat([after, padding]))
    assert small == large | {"rows": 7}
    assert (small["changed"], small["mojibake"], small["unresolved"]) == (4, 2, 2)


def test_repair_report_of_an_unchanged_column() -> None:
    values = pl.Series(["Promo??o", "SÃ£o", "Ok", None])
    assert repair_report(values, values) == {
        "rows": 4,
        "changed": 0,
        "mojibake": 0,
        "lost_accent": 0,
        "nfd": 0,
        "whitespace": 0,
        "case_or_accents": 0,
        "unresolved": 2,
        "ambiguous": 0,
    }


# --- properties -----------------------------------------------------------------------------

_words = st.sampled_from(WORDS + CLEAN_OTHER)
_casings: list[Callable[[str], str]] = [str, str.upper, str.lower]
_cased = st.tuples(_words, st.sampled_from(_casings)).map(lambda t: t[1](t[0]))
_clean_text = st.lists(_cased, min_size=1, max_size=6).flatmap(
    lambda ws: st.sampled_from([" ", ", ", " - ", ". ", "? "]).map(lambda sep: sep.join(ws))
)
_damage = st.sampled_from([*MOJIBAKE_PATHS.values(), *LOST_ACCENT_PATHS.values(), str.lower])


def _safely(damage: Callable[[str], str], text: str) -> str:
    try:
        return damage(text)
    except UnicodeDecodeError:
        return text


_damaged_text = st.tuples(_clean_text, _damage).map(lambda t: _safely(t[1], t[0]))


@settings(max_examples=100, deadline=None)
@given(st.lists(_clean_text, max_size=8))
def test_clean_text_is_never_changed(texts: list[str]) -> None:
    assert _normalized(texts) == texts
    assert repair(pl.Series(texts, dtype=pl.String), vocabulary=WORDS).to_list() == texts


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_damaged_text, st.text(), st.none()), max_size=8))
def test_repair_is_idempotent_keeps_length_order_and_nulls(texts: list[str | None]) -> None:
    series = pl.Series(texts, dtype=pl.String)
    once = repair(series, vocabulary=WORDS)
    assert once.len() == series.len()
    assert once.is_null().to_list() == series.is_null().to_list()
    assert repair(once, vocabulary=WORDS).to_list() == once.to_list()
    assert _normalized(once.to_list()) == once.to_list()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_damaged_text, st.none()), max_size=8))
def test_repair_to_domain_is_idempotent(texts: list[str | None]) -> None:
    allowed = DOMAINS["CK_DIM_DESCONTO_tipo"]
    once = _to_domain(texts, allowed)
    assert len(once) == len(texts)
    assert _to_domain(once, allowed) == once


# Few letters, so that words collide under a `?`-wildcard key (`s?` fits `sá` and `sé`).
_colliding_word = st.text(alphabet="alms\u00e1\u00e9\u00e3\u00e7", min_size=1, max_size=4)
_lose = st.sampled_from(
    [
        *(lambda w, f=f: "".join(c if c.isascii() else f for c in w) for f in LOST_FORMS),
        lambda w: "".join("?" if unicodedata.combining(c) else c for c in _nfd(w)),
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_colliding_word, min_size=1, max_size=6, unique=True),
    st.data(),
    st.sampled_from([str, str.upper, str.capitalize]),
    st.booleans(),
)
def test_a_word_is_repaired_only_where_exactly_one_known_word_fits(
    vocabulary: list[str],
    data: st.DataObject,
    case: Callable[[str], str],
    known_from_column: bool,
) -> None:
    word = data.draw(st.sampled_from([w for w in vocabulary if not w.isascii()] or [""]))
    damaged = case(data.draw(_lose)(word))
    assume(word and re.search(r"[a-zA-Z]", damaged))
    fits = {w for w in vocabulary if damaged.lower() in _lost_keys(w)}
    question = damaged.endswith("?") and damaged.rstrip("?").lower() in vocabulary
    if known_from_column:
        column = pl.Series([*vocabulary, damaged])
        repaired, report = repair(column), repair_report(column, repair(column))
    else:
        column = pl.Series([damaged])
        repaired = repair(column, vocabulary=vocabulary)
        report = repair_report(column, repaired, vocabulary=vocabulary)
    got = repaired[-1]
    if len(fits) >= 2 or question:
        assert got == damaged, (vocabulary, damaged, got)
        assert report["ambiguous"] == (0 if question else 1)
    else:
        assert got.lower() == word, (vocabulary, damaged, got)
        assert report["ambiguous"] == 0


def test_repair_report_counts_the_same_grouped_or_row_by_row() -> None:
    # A column whose values repeat is classified per distinct (before, after) pair, weighted by
    # its rows; one whose values hardly repeat (as these 9 rows alone), row by row.
    before = pl.Series(
        [
            *("PromoÃ§Ã£o", "Promo??o", "Promoc\u0327a\u0303o", "Cupom  ", "CUPOM", "Jos? X"),
            *("Ok", None, "Promo??o"),
        ]
    )
    after = pl.Series(
        ["Promoção", "Promoção", "Promoção", "Cupom", "Cupom", "Jos? X", "Ok", None, "Promo??o"]
    )
    by_row = repair_report(before, after)
    times = 500  # 4,500 rows of 8 distinct values: grouped
    grouped = repair_report(pl.concat([before] * times), pl.concat([after] * times))
    assert grouped == {name: n * times for name, n in by_row.items()}
    assert (by_row["changed"], by_row["unresolved"], by_row["mojibake"]) == (5, 1, 1)


# Text a prefilter can get wrong: arbitrary characters around pieces of mojibake sequences (a
# sequence's start alone, a whole one), odd spaces, combining marks and `Ã”`.
_keys = mojibake_patterns()[0]
_fragments = st.one_of(
    st.sampled_from(sorted(key for key in _keys if len(key) == 1)),  # odd spaces, invisibles
    st.sampled_from(sorted({key[:2] for key in _keys})),  # every start is as likely
    st.sampled_from(_keys).flatmap(lambda key: st.sampled_from([key, key[:1], key[1:]])),
)
_tricky_text = st.one_of(
    st.tuples(_cased, _fragments, _cased).map("".join),  # one suspicious spot in clean text
    st.lists(
        st.one_of(_fragments, st.text(max_size=3), st.sampled_from(["Ã”", "ã”", "“", "\u0301"])),
        max_size=6,
    ).map("".join),
)


def test_the_prefilter_finds_every_mojibake_sequence_inside_text() -> None:
    values = pl.Series([f"a{key}b" for key in _keys] + [f"{key}b" for key in _keys])
    assert _normalize_values(values).to_list() == _normalize_every(values).to_list()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(_tricky_text, _tricky_text, _damaged_text, st.text(), st.none()), max_size=8)
)
def test_the_prefilter_leaves_out_only_values_no_pass_would_change(
    texts: list[str | None],
) -> None:
    series = pl.Series(texts, dtype=pl.String)
    assert _normalize_values(series).to_list() == _normalize_every(series).to_list()
    # what repair_report sets aside unread is never unresolved (its definition, row by row)
    unresolved = series.str.contains(_UNRESOLVED) | series.str.contains_any(mojibake_markers())
    assert repair_report(series, series)["unresolved"] == unresolved.sum()
    many = pl.concat([series] * 1000)  # values that repeat are tested once per distinct value
    assert repair_report(many, many)["unresolved"] == unresolved.sum() * 1000


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(DOMAINS["CK_DIM_DESCONTO_tipo"]), _damaged_text, st.none()),
        max_size=12,
    )
)
def test_repair_to_domain_sets_aside_only_the_exact_values(texts: list[str | None]) -> None:
    # The exact allowed values are set aside before any repair (one query); every other row is
    # repaired as if nothing had been set aside.
    allowed = DOMAINS["CK_DIM_DESCONTO_tipo"]
    one_by_one = [_to_domain([text], allowed)[0] for text in texts]
    assert _to_domain(texts, allowed) == one_by_one
    exact = [t for t in texts if t in allowed]
    assert [_to_domain([t], allowed)[0] for t in exact] == exact


def test_repair_to_domain_of_a_small_batch() -> None:
    allowed = ["Promoção Automática", "Cupom"]
    values = ["Cupom", "Promo??o Autom?tica", None, "PromoÃ§Ã£o AutomÃ¡tica", "Outro", "cupom"]
    assert _to_domain(values, allowed) == [
        "Cupom", "Promoção Automática", None, "Promoção Automática", "Outro", "Cupom",
    ]  # fmt: skip
    assert _to_domain(values, []) == values
