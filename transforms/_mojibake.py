"""Tables of mojibake sequences, generated from the real codecs (used by `transforms.text`)."""

from __future__ import annotations

from functools import cache, lru_cache

import polars as pl

# Bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D are undefined in cp1252; Windows and most ETL stacks pass
# them through as the C1 control of the same value, so that is what a "sloppy" cp1252 decode gives.
_CP1252 = [bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)]
_LATIN1 = [chr(b) for b in range(256)]

# Spaces that are not U+0020, and invisible characters that never belong in warehouse text.
ODD_SPACES = "\t\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
INVISIBLE = "\u200b\ufeff"

# Characters after which a word-final `Ã`/`ã` is plausible in clean text (`IRMÃ”`, `irmã…`):
# `Ã` + one of these is repaired only inside a word, where clean text never has it.
_CLOSING = "\xa0\u2019\u201d\u2026\u2013\u2014\xbb\xb7\u2122\u203a"
_RISKY_LEADS = "Ãã"


def _sloppy(text: str, table: list[str]) -> str:
    return "".join(table[b] for b in text.encode("utf-8"))


def _source_chars() -> list[str]:
    """Characters whose mojibake is repaired: Latin-1, cp1252's extras, punctuation, accents."""
    chars = {chr(c) for c in range(0xA0, 0x100)}
    chars |= {_CP1252[b] for b in range(0x80, 0xA0)} - {chr(b) for b in range(0x80, 0xA0)}
    chars |= {chr(c) for c in range(0x2010, 0x2027)} | set("\u2030\u2032\u2033\u2039\u203a\u20ac")
    chars |= {chr(c) for c in (*range(0x300, 0x30D), 0x323, 0x327, 0x328)}  # combining (NFD) marks
    chars |= set(ODD_SPACES[1:]) | set(INVISIBLE)
    return sorted(chars)


def _target(char: str) -> str:
    if char in ODD_SPACES:
        return " "
    return "" if char in INVISIBLE else char


def _letters_after_risky() -> list[str]:
    ascii_letters = [chr(c) for c in (*range(0x41, 0x5B), *range(0x61, 0x7B))]
    latin = [chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha()]
    return [c for c in ascii_letters + latin if c not in "ÂÃÄÅÆËÌâãäåæëì"]


@cache
def mojibake_table() -> dict[str, str]:
    """Map every mojibake sequence (once, twice, LOWER()ed; cp1252 or latin-1) to its repair."""
    exact: dict[str, str] = {}
    for char in _source_chars():
        target = _target(char)
        for first in (_CP1252, _LATIN1):
            once = _sloppy(char, first)
            exact.setdefault(once, target)
            for second in (_CP1252, _LATIN1):
                exact.setdefault(_sloppy(once, second), target)
    lowered: dict[str, set[str]] = {}
    for key, target in exact.items():
        low = key.lower()
        if low != key and len(low) == len(key) and low not in exact:
            lowered.setdefault(low, set()).add(target.lower())
    # A LOWER()ed sequence that two characters share (`ÃŠ` Ê and `Ãš` Ú both give `ãš`) is not
    # repaired: guessing would corrupt text.
    table = exact | {key: next(iter(ts)) for key, ts in lowered.items() if len(ts) == 1}
    table |= {char: _target(char) for char in ODD_SPACES + INVISIBLE}
    followers = _letters_after_risky()
    for key in [k for k in table if len(k) == 2 and k[0] in _RISKY_LEADS and k[1] in _CLOSING]:
        target = table.pop(key)
        if not target.strip().isalpha():
            continue  # `Ã—` is `×`: never worth risking `MAÇÃ—VERDE`
        for letter in followers:
            # `à` (`Ã` + NBSP) before a capital is rarer than `IRMÃ` + NBSP + `SILVA`
            if key[1] != "\xa0" or letter.islower():
                table[key + letter] = target + letter
        if key[1] == "\xa0":
            table[key + " "] = target + " "
    return table


@cache
def mojibake_patterns() -> tuple[list[str], list[str]]:
    """Keys longest first, so that `replace_many(leftmost=True)` takes the longest match."""
    table = mojibake_table()
    keys = sorted(table, key=lambda k: (-len(k), k))
    return keys, [table[k] for k in keys]


def _char_class(chars: set[str]) -> str:
    return "[" + "".join(f"\\x{{{ord(c):X}}}" for c in sorted(chars)) + "]"


@cache
def mojibake_prefilter() -> str:
    """A regex that matches wherever a sequence of the table can start: its first two
    characters (the whole of a one-character key). Text it does not match has no sequence.

    >>> pl.Series(["São Paulo", "SÃ£o Paulo"]).str.contains(mojibake_prefilter()).to_list()
    [False, True]
    """
    keys = mojibake_patterns()[0]
    seconds: dict[str, set[str]] = {}
    for key in keys:
        if len(key) > 1:
            seconds.setdefault(key[0], set()).add(key[1])
    branches = [_char_class({k for k in keys if len(k) == 1})]
    branches += [_char_class({first}) + _char_class(s) for first, s in sorted(seconds.items())]
    return "|".join(branches)


@cache
def mojibake_markers() -> list[str]:
    """Sequences that only mojibake produces (for counting damage, not for repairing it)."""
    return [k for k in mojibake_table() if len(k) > 1]


# Polars builds the Aho-Corasick automaton of `replace_many` / `contains_any` on every call:
# for the ~2,900 sequences that is most of what repairing a small batch costs (an incremental
# run repairs a few rows per column, many columns). Below this many rows the sequences are first
# narrowed to those whose non-ASCII characters all occur in the rows; above it finding those
# characters costs more than the smaller automaton saves (docs/decisions/0010-transform-kernels.md).
NARROW_BELOW_ROWS = 4_096


def non_ascii_chars(values: pl.Series) -> frozenset[str]:
    """The non-ASCII characters that occur in `values` (text).

    >>> sorted(non_ascii_chars(pl.Series(["São", None, "Ã©", "abc"])))
    ['©', 'Ã', 'ã']
    """
    rest = values.str.replace_all(r"[\x00-\x7F]+", "").unique().drop_nulls()
    return frozenset(rest.str.join("").item())


def _needs(keys: list[str]) -> list[frozenset[str]]:
    # A sequence can occur only in text holding each of its non-ASCII characters (its ASCII
    # ones, a tab or a following letter, are not checked: such a key is kept more often).
    return [frozenset(c for c in key if c > "\x7f") for key in keys]


@cache
def _pattern_needs() -> list[frozenset[str]]:
    return _needs(mojibake_patterns()[0])


@cache
def _marker_needs() -> list[frozenset[str]]:
    return _needs(mojibake_markers())


@lru_cache(maxsize=256)
def _patterns_with(present: frozenset[str]) -> tuple[list[str], list[str]]:
    keys, replacements = mojibake_patterns()
    keep = [i for i, need in enumerate(_pattern_needs()) if need <= present]
    return [keys[i] for i in keep], [replacements[i] for i in keep]


@lru_cache(maxsize=256)
def _markers_with(present: frozenset[str]) -> list[str]:
    markers = mojibake_markers()
    return [markers[i] for i, need in enumerate(_marker_needs()) if need <= present]


def patterns_for(values: pl.Series) -> tuple[list[str], list[str]]:
    """`mojibake_patterns()` that can match in `values` (all of them for a large batch): the
    same `replace_many` result, with a smaller automaton to build. Never empty (a tab is ASCII).

    >>> keys, _ = patterns_for(pl.Series(["SÃ£o"]))
    >>> "Ã£" in keys, "Ã©" in keys, len(keys) < len(mojibake_patterns()[0])
    (True, False, True)
    """
    if values.len() >= NARROW_BELOW_ROWS:
        return mojibake_patterns()
    return _patterns_with(non_ascii_chars(values))


def markers_for(values: pl.Series) -> list[str]:
    """`mojibake_markers()` that can occur in `values` (all of them for a large batch); may be
    empty, so pass it to `contains_any` as a list literal (see `transforms.text`).

    >>> markers_for(pl.Series(["São Paulo"]))
    []
    """
    if values.len() >= NARROW_BELOW_ROWS:
        return mojibake_markers()
    return _markers_with(non_ascii_chars(values))
