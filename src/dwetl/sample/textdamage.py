"""Text damage classes, each a real codec path an ERP export takes, as pure functions.

`damage_text(value, classe, salt)` is deterministic: tests re-apply it to the ground truth's
`valor_limpo` and must get `valor_danificado` back. `salt` (the row id) only picks a variant
within a class (which whitespace noise, which case change).

>>> damage_text("Promoção Automática", "mojibake", 0)
'PromoÃ§Ã£o AutomÃ¡tica'
>>> damage_text("Promoção Automática", "acento_perdido", 0)
'Promo??o Autom?tica'
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Callable

NBSP = "\u00a0"


def _sloppy(error: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90, 0x9D undefined; Windows decoders pass them through
    # as the C1 control of the same number, which is what latin-1 gives.
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("dwetl_sloppy_cp1252", _sloppy)


def mojibake(value: str) -> str:
    """UTF-8 bytes read back as cp1252: `Promoção` -> `PromoÃ§Ã£o`."""
    return value.encode("utf-8").decode("cp1252", errors="dwetl_sloppy_cp1252")


def _mojibake_twice(value: str) -> str:
    return mojibake(mojibake(value))


def _mojibake_lower(value: str) -> str:
    # the export ran LOWER() over text that was already mojibake: `promoã§ã£o`
    return mojibake(value).lower()


def _question_per_letter(value: str) -> str:
    return value.encode("ascii", errors="replace").decode("ascii")


def _question_per_byte(value: str) -> str:
    # each UTF-8 byte of an accented letter became one '?': `Promo??o`
    return value.encode("utf-8").decode("ascii", errors="replace").replace("\ufffd", "?")


def _replacement_char(value: str) -> str:
    # cp1252 bytes read as UTF-8: one U+FFFD per accented letter
    return value.encode("cp1252", errors="replace").decode("utf-8", errors="replace")


def _nfd(value: str) -> str:
    return unicodedata.normalize("NFD", value)


def strip_accents(value: str) -> str:
    """`Promoção` -> `Promocao`."""
    return "".join(c for c in unicodedata.normalize("NFD", value) if not unicodedata.combining(c))


def _spaces(value: str, salt: int) -> str:
    variant = salt % 4
    if variant == 0:
        return f"  {value} "
    if variant == 1:
        return value.replace(" ", "  ") if " " in value else f"{value}  "
    if variant == 2:
        return value.replace(" ", NBSP, 1) if " " in value else f"{NBSP}{value}"
    return f"{value}{NBSP}"


def _case(value: str, salt: int) -> str:
    for candidate in _case_variants(value, salt):
        if candidate != value:
            return candidate
    return value


def _case_variants(value: str, salt: int) -> list[str]:
    variants = [value.upper(), value.lower(), value.swapcase()]
    start = salt % 3
    return variants[start:] + variants[:start]


def legacy_bytes(value: str) -> bytes:
    """The value as a legacy (cp1252) system stored it: not valid UTF-8 when it has accents."""
    return value.encode("cp1252")


_PLAIN: dict[str, Callable[[str], str]] = {
    "mojibake": mojibake,
    "mojibake_duplo": _mojibake_twice,
    "mojibake_lower": _mojibake_lower,
    "acento_perdido": _question_per_letter,
    "acento_perdido_duplo": _question_per_byte,
    "acento_perdido_fffd": _replacement_char,
    "nfd": _nfd,
    "sem_acento": strip_accents,
}
_SALTED: dict[str, Callable[[str, int], str]] = {"espacos": _spaces, "caixa": _case}

#: every text class; `codificacao_legada` only where the backend can hold non-UTF-8 bytes
TEXT_CLASSES: tuple[str, ...] = (*_PLAIN, *_SALTED, "codificacao_legada")
#: classes that change only text with non-ASCII letters (the accents)
ACCENT_CLASSES: frozenset[str] = frozenset({*_PLAIN, "codificacao_legada"})


def damage_text(value: str, classe: str, salt: int) -> str | bytes:
    """Apply text damage class `classe` to `value` (bytes only for `codificacao_legada`)."""
    if classe in _PLAIN:
        return _PLAIN[classe](value)
    if classe in _SALTED:
        return _SALTED[classe](value, salt)
    if classe == "codificacao_legada":
        return legacy_bytes(value)
    raise ValueError(f"unknown text damage class {classe!r}")


def applicable(value: str, classe: str) -> bool:
    """Whether `classe` visibly changes `value` (accent classes need a non-ASCII letter)."""
    if classe in ACCENT_CLASSES:
        return not value.isascii()
    if classe == "caixa":
        return value.upper() != value or value.lower() != value
    return True
