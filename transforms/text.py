"""Text repair: mojibake, lost accents, decomposed forms and odd spacing, vectorised in Polars.

>>> import polars as pl
>>> pl.select(normalize(pl.lit("PromoÃ§Ã£o  AutomÃ¡tica "))).item()
'Promoção Automática'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import combinations
from typing import cast

import polars as pl

from transforms._mojibake import markers_for, mojibake_prefilter, patterns_for

# How an ERP loses an accented letter: one `?` per character (ascii 'replace'), one per UTF-8
# byte, or U+FFFD per character or per byte (cp1252 bytes decoded as UTF-8 with 'replace').
LOST_LETTER_FORMS = ("?", "??", "\ufffd", "\ufffd\ufffd")
# Decomposed text sent through ascii 'replace' keeps the letter and loses only the accent (`a?`).
_MARK_LOST = "?"
# UTF-8 read as cp1252 with 'replace': Á Í Ï Ð Ý end in a byte cp1252 lacks, so `Á` → `Ã\ufffd`.
_HALF_LOST = "ã\ufffd"
_HALF_LOST_LETTERS = "áíïðý"
_WILDCARD_CLASS = r"?\x{FFFD}"
_PIECES = rf"[\p{{L}}\p{{M}}{_WILDCARD_CLASS}]+|[^\p{{L}}\p{{M}}{_WILDCARD_CLASS}]+"
# Mojibake that went through LOWER() where two letters collide (`ÃŠ` Ê and `Ãš` Ú both give
# `ãš`): normalize leaves it, and a known word or allowed value decides which letter it was.
AMBIGUOUS_LOWERED = {"ãš": "êú", "ãœ": "ìü", "ãž": "îþ"}
# A damaged word holds a wildcard or one of those sequences (all literals): one regex for both.
_DAMAGED = "|".join([f"[{_WILDCARD_CLASS}]", *AMBIGUOUS_LOWERED])
# A value with more accented letters than this gets only its all-lost variants, not every mix.
_MAX_MIXED_POSITIONS = 8


def _col(expr: pl.Expr | str) -> pl.Expr:
    return pl.col(expr) if isinstance(expr, str) else expr


# Rows with any of these need more than the mojibake table: Unicode composition (any character
# from U+0300 on, except punctuation and currency signs, which NFC never changes) or spacing.
_NEEDS_CANONICAL = r"[^\x00-\x{2FF}\x{2010}-\x{205E}\x{20A0}-\x{20CF}\x{2122}]|  |^\s|\s$"


def _on_rows(
    values: pl.Series, mask: pl.Series, fix: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """Apply `fix` only to the rows where `mask` holds (most rows need no work at all)."""
    rows = mask.fill_null(False).arg_true()
    if rows.len() == 0:
        return values
    # `scatter` writes into the Series it is called on: the caller's `values` stay as they were
    return values.clone().scatter(rows, fix(values.gather(rows)))


def _normalize_values(values: pl.Series) -> pl.Series:
    """`_normalize_every` on the rows the prefilter finds suspicious: the others it leaves as
    they are (`normalize` is the expression over this)."""
    return _on_rows(values, values.str.contains(_suspicious()), _normalize_every)


@cache
def _suspicious() -> str:
    """One regex matching every value a pass of `_normalize_every` can change: where a mojibake
    sequence starts, `Ã”` (the `Ô` pass) or what needs canonical form."""
    return "|".join([mojibake_prefilter(), "Ã”|ã”", _NEEDS_CANONICAL])


def _normalize_every(values: pl.Series) -> pl.Series:
    def unmangle(t: pl.Series) -> pl.Series:
        keys, replacements = patterns_for(t)
        return t.str.replace_many(keys, replacements, leftmost=True)

    text = unmangle(values)
    # Mojibake three levels deep (or a half-repaired `ÃÂ§`) leaves mojibake behind: one more
    # pass over the rows that changed keeps `normalize` idempotent.
    text = _on_rows(text, text.ne_missing(values), unmangle)
    # `Ã”` ending a word is `Ô` (`AVÃ”`) unless the text opens a quote that `”` would close.
    quoted_o = text.str.contains_any(["Ã”", "ã”"]) & ~text.str.contains("“", literal=True)
    text = _on_rows(text, quoted_o, lambda t: t.str.replace_many({"Ã”": "Ô", "ã”": "ô"}))
    return _on_rows(
        text,
        text.str.contains(_NEEDS_CANONICAL),
        lambda t: t.str.normalize("NFC").str.replace_all(" {2,}", " ").str.strip_chars(),
    )


_SMALL = 1_000
_REPEATS = 1_000


def _distinct(values: pl.Series) -> int:
    """About how many distinct values (HyperLogLog: one pass, no table of them)."""
    return cast(int, values.approx_n_unique())


def _map_back(values: pl.Series, distinct: pl.Series, fixed: pl.Series) -> pl.Series:
    """Give every row the fixed form of its distinct value (one hash probe per row)."""
    changed = distinct.ne_missing(fixed)
    if not changed.any():
        return values
    mapping = pl.DataFrame({"text": distinct.filter(changed), "fixed": fixed.filter(changed)})
    return (
        values.to_frame("text")
        .join(mapping, on="text", how="left", maintain_order="left")
        .select(pl.coalesce("fixed", "text"))
        .to_series()
        .alias(values.name)
    )


def _per_distinct(fix: Callable[[pl.Series], pl.Series]) -> Callable[[pl.Series], pl.Series]:
    """Run `fix` once per distinct value of a batch and map the results back to its rows."""

    def batch(values: pl.Series) -> pl.Series:
        values = values.cast(pl.String)
        # Hashing strings costs about as much as fixing them: it pays only where values repeat
        # a lot (cities, yes; names, no: docs/decisions/0010-transform-kernels.md).
        if values.len() < _SMALL or _distinct(values) * _REPEATS > values.len():
            return fix(values)
        distinct = values.unique().drop_nulls()
        return _map_back(values, distinct, fix(distinct))

    return batch


def normalize(expr: pl.Expr | str) -> pl.Expr:
    """Repair mojibake and put text in canonical form: `normalize(pl.col("nome"))`.

    >>> pl.select(normalize(pl.lit("promoã§ã£o\\xa0 cupom"))).item()
    'promoção cupom'
    """
    return _col(expr).map_batches(
        _per_distinct(_normalize_values), return_dtype=pl.String, is_elementwise=True
    )


def _fold(expr: pl.Expr) -> pl.Expr:
    """Case- and accent-insensitive key (`?` and U+FFFD are kept: they are the wildcards)."""
    return expr.str.to_lowercase().str.normalize("NFD").str.replace_all(r"\p{Mn}", "")


def _fold_char(char: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))


def _lost_accent_variants(value: str) -> set[str]:
    """Keys of `value` with accents stripped, and with some or all accented letters lost."""
    lowered = unicodedata.normalize("NFC", value).lower()
    base = [_fold_char(c) for c in lowered]
    accented = [i for i, c in enumerate(lowered) if base[i] != c]
    if len(accented) <= _MAX_MIXED_POSITIONS:
        subsets = [set(s) for n in range(1, len(accented) + 1) for s in combinations(accented, n)]
    else:
        subsets = [set(accented)]
    marks_lost = [
        b + _MARK_LOST * (len(unicodedata.normalize("NFD", c)) - 1)
        for b, c in zip(base, lowered, strict=True)
    ]
    half_lost = [
        _fold_char(_HALF_LOST) if c in _HALF_LOST_LETTERS else b
        for b, c in zip(base, lowered, strict=True)
    ]
    variants = {"".join(base), "".join(half_lost)}
    for lost in subsets:
        variants.add("".join(marks_lost[i] if i in lost else b for i, b in enumerate(base)))
        for form in LOST_LETTER_FORMS:
            variants.add("".join(form if i in lost else b for i, b in enumerate(base)))
    return variants


def _lowered_variants(value: str) -> set[str]:
    """`value` lowercased, and as LOWER()ed mojibake that normalize cannot decide alone."""
    lowered = value.lower()
    variants = {lowered}
    for sequence, letters in AMBIGUOUS_LOWERED.items():
        variants.add("".join(sequence if c in letters else c for c in lowered))
    return variants


def _unique_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for key, value in pairs:
        found.setdefault(key, set()).add(value)
    return {key: next(iter(values)) for key, values in found.items() if len(values) == 1}


def _domain_values(values: pl.Series, allowed: list[str]) -> pl.Series:
    canonical = [unicodedata.normalize("NFC", a) for a in allowed]
    by_case = _unique_map((k, a) for a in canonical for k in _lowered_variants(a))
    by_key = _unique_map((k, a) for a in canonical for k in _lost_accent_variants(a))
    value = pl.col("value")
    clean = pl.col("clean")
    return (
        pl.DataFrame({"value": values, "clean": _normalize_values(values)})
        .select(
            pl.when(clean.is_in(canonical))
            .then(clean)
            .otherwise(
                pl.coalesce(
                    clean.str.to_lowercase().replace_strict(
                        by_case, default=None, return_dtype=pl.String
                    ),
                    _fold(clean).replace_strict(by_key, default=None, return_dtype=pl.String),
                    value,
                )
            )
        )
        .to_series()
    )


def repair_to_domain(expr: pl.Expr | str, allowed: Sequence[str]) -> pl.Expr:
    """Map any damaged variant of an allowed value to it exactly; leave anything else unchanged.

    >>> pl.select(repair_to_domain(pl.lit("Promo??o Autom?tica"), ["Promoção Automática"])).item()
    'Promoção Automática'
    """
    domain = list(allowed)
    per_distinct = _per_distinct(lambda values: _domain_values(values, domain))

    def batch(values: pl.Series) -> pl.Series:
        # Most rows already hold an allowed value: a few vector comparisons set them aside, in
        # one query (a small batch pays per query, not per row).
        values = values.cast(pl.String)
        if not domain or len(domain) > 32:
            return _on_rows(values, pl.repeat(True, values.len(), eager=True), per_distinct)
        any_allowed = pl.any_horizontal([pl.col("v").eq(allowed) for allowed in domain])
        exact = values.to_frame("v").select(any_allowed.fill_null(False)).to_series()
        return _on_rows(values, ~exact, per_distinct)

    return _col(expr).map_batches(batch, return_dtype=pl.String, is_elementwise=True)


def _pieces(values: pl.Series) -> pl.DataFrame:
    """Split text into word pieces (letters and wildcards) and the separators between them."""
    return (
        pl.DataFrame({"row": pl.int_range(values.len(), eager=True), "text": values})
        .select("row", piece=pl.col("text").str.extract_all(_PIECES))
        # positions numbered in the lists, exploded alongside: no window over the rows
        .with_columns(pos=pl.int_ranges(0, pl.col("piece").list.len()))
        .explode("piece", "pos")
        .drop_nulls("piece")
        .with_columns(
            is_word=pl.col("piece").str.contains(r"\p{L}"),
            damaged=pl.col("piece").str.contains(_DAMAGED),
        )
    )


def _known_words(pieces: pl.DataFrame, vocabulary: Iterable[str] | None) -> pl.DataFrame:
    """Clean words seen in the column or the vocabulary: lowercase form and most common spelling."""
    words = pieces.filter(pl.col("is_word") & ~pl.col("damaged"))
    if vocabulary is not None:
        extra = _pieces(_normalize_values(pl.Series(list(vocabulary), dtype=pl.String)))
        words = pl.concat([words, extra.filter(pl.col("is_word") & ~pl.col("damaged"))])
    return (
        words.group_by("piece")
        .len()
        .with_columns(lower=pl.col("piece").str.to_lowercase())
        .sort("len", "piece", descending=[True, False])
        .group_by("lower", maintain_order=True)
        .agg(spelling=pl.col("piece").first())
    )


def _lost_accent_keys(known: pl.DataFrame) -> pl.DataFrame:
    """Key (word with every accented letter lost, one form at a time) → how many known words it
    fits (`n`) and, where it fits exactly one, that word's spelling (else null: ambiguous)."""
    accented = known.filter(pl.col("lower").str.contains(r"[^\x00-\x7F]"))
    lost = [pl.col("lower").str.replace_all(r"[^\x00-\x7F]", form) for form in LOST_LETTER_FORMS]
    lost.append(pl.col("lower").str.normalize("NFD").str.replace_all(r"\p{Mn}", _MARK_LOST))
    lost.append(pl.col("lower").str.replace_all(f"[{_HALF_LOST_LETTERS}]", _HALF_LOST))
    lowered = [
        pl.col("lower").str.replace_all(f"[{letters}]", sequence)
        for sequence, letters in AMBIGUOUS_LOWERED.items()
    ]
    keyed = pl.concat([accented.with_columns(key=key) for key in lost + lowered])
    return keyed.group_by("key").agg(
        n=pl.col("lower").n_unique(),
        spelling=pl.when(pl.col("lower").n_unique() == 1).then(pl.col("spelling").first()),
    )


def _damaged_words(pieces: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """The damaged words of `pieces`, each with the known words its key fits (`n`, 0: none)
    and the spelling of the one it fits; `vem?` after a known `vem` is a question (n 0)."""
    question = pl.col("piece").str.replace(r"\?+$", "").str.to_lowercase()
    return (
        pieces.filter(pl.col("is_word") & pl.col("damaged"))
        .with_columns(key=pl.col("piece").str.to_lowercase(), question_word=question)
        .join(_lost_accent_keys(known), on="key", how="left")
        .join(
            known.select(question_word="lower", is_question=pl.lit(True)),
            on="question_word",
            how="left",
        )
        .with_columns(
            n=pl.when(pl.col("piece").str.ends_with("?") & pl.col("is_question").is_not_null())
            .then(0)
            .otherwise(pl.col("n").fill_null(0))
        )
        .drop("key", "question_word", "is_question")
    )


def _recased(piece: pl.Expr, spelling: pl.Expr) -> pl.Expr:
    """Give the restored word the case of the damaged one (`JOS?` → `JOSÉ`, `jos?` → `josé`)."""
    first = piece.str.slice(0, 1)
    head = spelling.str.slice(0, 1)
    rest = spelling.str.slice(1).str.to_lowercase()
    return (
        # one capital is a capitalised word (`S?` is `Sá`); two or more and no small letter: caps
        pl.when((piece.str.count_matches(r"\p{Lu}") > 1) & ~piece.str.contains(r"\p{Ll}"))
        .then(spelling.str.to_uppercase())
        .when(first != first.str.to_lowercase())
        .then(head.str.to_uppercase() + rest)
        .when(first != first.str.to_uppercase())
        .then(head.str.to_lowercase() + rest)
        .otherwise(head + rest)
    )


def _restore_words(values: pl.Series, vocabulary: Iterable[str] | None) -> pl.Series:
    """Restore lost-accent words in distinct normalised values, where exactly one known word
    fits; a word that fits two or more (`Am?lia`: Amália, Amélia) is left as it was."""
    if not values.str.contains(_DAMAGED).any():
        return values  # no damaged word: no need to split the values into words
    pieces = _pieces(values)
    damaged_rows = pieces.filter(pl.col("damaged") & pl.col("is_word")).select(
        pl.col("row").unique()
    )
    if damaged_rows.height == 0:
        return values
    known = _known_words(pieces, vocabulary)
    pieces = pieces.join(damaged_rows, on="row", how="semi")
    fixed = (
        pieces.join(
            _damaged_words(pieces, known).select("row", "pos", "n", "spelling"),
            on=["row", "pos"],
            how="left",
        )
        .with_columns(
            piece=pl.when(pl.col("n") == 1)
            .then(_recased(pl.col("piece"), pl.col("spelling")))
            .otherwise(pl.col("piece"))
        )
        .sort("row", "pos")
        .group_by("row", maintain_order=True)
        .agg(pl.col("piece").str.join(""))
    )
    rebuilt = pl.DataFrame({"row": pl.int_range(values.len(), eager=True), "text": values}).join(
        fixed, on="row", how="left"
    )
    return rebuilt.select(pl.coalesce("piece", "text"))["piece"].alias(values.name)


def repair(series: pl.Series, vocabulary: Iterable[str] | None = None) -> pl.Series:
    """Normalise free text and restore words with lost accents when exactly one known word fits.

    >>> repair(pl.Series(["Jos? da Silva", "José Souza"])).to_list()
    ['José da Silva', 'José Souza']
    """
    text = series.cast(pl.String)
    distinct = text.unique().drop_nulls()
    restored = _restore_words(_normalize_values(distinct), vocabulary)
    return _map_back(text, distinct, restored).alias(series.name)


def _ambiguous(values: pl.Series, column: pl.Series, vocabulary: Iterable[str] | None) -> pl.Series:
    """Whether each of `values` holds a damaged word that fits two or more known words: the clean
    words of `column` (its distinct values) and `vocabulary`, as `repair` learns them."""
    pieces = _pieces(values)
    words = pieces.filter(pl.col("is_word") & pl.col("damaged"))
    flags = pl.repeat(False, values.len(), eager=True)
    if words.height == 0:
        return flags
    # A word a damaged one can come from holds the damaged word's ASCII letters, save the one
    # before a wildcard (`a?` is `á` in NFD with its accent lost): the longest such run of
    # each picks the few values worth splitting into words (a name column has 100k+ of them).
    runs = (
        words.select(
            pl.col("piece")
            .str.to_lowercase()
            .str.replace_all(rf"[a-z]?[{_WILDCARD_CLASS}]+|[^a-z]+", " ")
            .str.split(" ")
            .list.eval(pl.element().sort_by(pl.element().str.len_bytes()).last())
            .list.first()
        )
        .to_series()
        .unique()
    )
    distinct = column.unique().drop_nulls()
    if not runs.eq("").any():
        distinct = distinct.filter(distinct.str.to_lowercase().str.contains_any(runs.to_list()))
    found = _damaged_words(pieces, _known_words(_pieces(distinct), vocabulary))
    rows = found.filter(pl.col("n") >= 2)["row"].unique()
    return flags.scatter(rows, True) if rows.len() else flags


# `?` next to a letter, or U+FFFD: a letter that may have been lost.
_LOST = r"\p{L}\?|\?\p{L}|\x{FFFD}"
# What is still visibly damaged after repair (`vem?` at the end of a question is not).
_UNRESOLVED = r"\?\p{L}|\p{L}\?\?|\x{FFFD}"
_ODD_SPACING = r"^\s|\s$|\s\s|[\t\x{A0}\x{1680}\x{2000}-\x{200B}\x{202F}\x{205F}\x{3000}\x{FEFF}]"


@cache
def _reported() -> str:
    """What an unchanged row needs to count in `repair_report` (`unresolved`, `ambiguous`): a
    wildcard or where a mojibake sequence starts (every marker is a sequence)."""
    return f"{_DAMAGED}|{mojibake_prefilter()}"


def _contains(values: pl.Series, pattern: str) -> pl.Series:
    """`values.str.contains(pattern)`, tested once per distinct value where values repeat."""
    if values.len() < _SMALL or _REPORT_REPEATS * _distinct(values) > values.len():
        return values.str.contains(pattern)
    distinct = values.unique().drop_nulls()
    return values.is_in(distinct.filter(distinct.str.contains(pattern)).implode())


def _markers_in(values: pl.Series) -> pl.Expr:
    """The mojibake markers that can occur in `values` (Polars builds the automaton of
    `contains_any` on every call), as a list literal: `contains_any` refuses an empty list."""
    return pl.lit(pl.Series(markers_for(values), dtype=pl.String).implode())


#: the keys of `repair_report`'s counts, in its order
REPORT_CLASSES = (
    "rows",
    "changed",
    "mojibake",
    "lost_accent",
    "nfd",
    "whitespace",
    "case_or_accents",
    "unresolved",
    "ambiguous",
)


def may_report(before: pl.Expr, after: pl.Expr) -> pl.Expr:
    """True where `repair_report` of the two columns can count the row in some class: it
    changed, or `after` holds a wildcard or the start of a mojibake sequence. A column where
    it holds for no row has a report of zeros (`repair_report` sets the other rows aside with
    the same test)."""
    return before.ne_missing(after) | after.str.contains(_reported())


#: `repair_report` groups a column's rows into distinct pairs where each value has this many
#: rows on average (a city: 200 of 252k customers; a name: 2.4)
_REPORT_REPEATS = 10


def repair_report(
    before: pl.Series, after: pl.Series, vocabulary: Iterable[str] | None = None
) -> dict[str, int]:
    """Count rows per damage class repaired (a row can count in several), for the run log.

    `unresolved`: rows still visibly damaged after repair; `ambiguous`, of those, rows with a
    damaged word that fits two or more known words (the clean words of `after`, and the
    `vocabulary` given to `repair`), which repair leaves as it was rather than guess.

    >>> report = repair_report(pl.Series(["PromoÃ§Ã£o"]), pl.Series(["Promoção"]))
    >>> report["mojibake"], report["changed"]
    (1, 1)
    """
    # Classified once per distinct (before, after) pair, weighted by its rows, where values
    # repeat: a column of a few domain values costs a few string tests, not one per row. Where
    # they hardly repeat, each row is its own pair (weight 1): hashing two text columns costs
    # more than testing every row (docs/decisions/0010-transform-kernels.md).
    b, a, n = pl.col("before"), pl.col("after"), pl.col("n")
    frame = pl.DataFrame({"before": before.cast(pl.String), "after": after.cast(pl.String)})
    rows = frame.height
    # A row left as it was counts in no class unless `after` holds a wildcard or the start of a
    # mojibake sequence (`_reported`): the others are set aside by one comparison and one regex.
    frame = frame.filter(b.ne_missing(a) | _contains(frame["after"], _reported()))
    if not frame.height:  # every class counts 0 rows: no pass over the pairs is needed
        return dict.fromkeys(REPORT_CLASSES, 0) | {"rows": rows}
    if frame.height >= _SMALL and _REPORT_REPEATS * _distinct(frame["before"]) <= frame.height:
        pairs = frame.group_by("before", "after").agg(n=pl.len())
    else:
        pairs = frame.with_columns(n=pl.lit(1, dtype=pl.UInt32))
    del frame
    # Every class but `unresolved` is of changed rows: those are classified apart, and a column
    # the transform left as it was (most columns of a small batch) costs no repair test at all.
    changed = pairs.filter(b.ne_missing(a))
    unresolved = a.str.contains(_UNRESOLVED) | a.str.contains_any(_markers_in(pairs["after"]))

    def weighted(e: pl.Expr) -> pl.Expr:
        return pl.when(e).then(n).otherwise(0).sum().cast(pl.Int64)

    row = {"rows": rows} | pairs.select(unresolved=weighted(unresolved)).row(0, named=True)
    wildcards = pairs.filter(a.str.contains(_DAMAGED))
    if wildcards.height:
        # known words are learnt from the whole column, as `repair` learnt them
        ambiguous = _ambiguous(wildcards["after"], after.cast(pl.String), vocabulary)
        row["ambiguous"] = int(wildcards["n"].filter(ambiguous).sum())
    fewer_lost = b.str.count_matches(_LOST) > a.str.count_matches(_LOST)
    of_changed = {
        "changed": pl.lit(True),
        "mojibake": b.str.contains_any(_markers_in(changed["before"])),
        "lost_accent": fewer_lost,
        "nfd": b.ne(b.str.normalize("NFC")),
        "whitespace": b.str.contains(_ODD_SPACING),
        "case_or_accents": ~fewer_lost & normalize(b).ne(a),
    }
    if changed.height:
        sums = changed.select(**{k: weighted(e) for k, e in of_changed.items()})
        row |= sums.row(0, named=True)
    row = {k: row.get(k) for k in REPORT_CLASSES}
    return {name: int(value or 0) for name, value in row.items()}
