"""Text damage classes reproduce the real codec paths of ERP exports."""

from __future__ import annotations

import unicodedata

import pytest

from dwetl.sample.textdamage import TEXT_CLASSES, applicable, damage_text

WORD = "Promoção Automática"


@pytest.mark.parametrize(
    ("classe", "expected"),
    [
        ("mojibake", "PromoÃ§Ã£o AutomÃ¡tica"),
        ("mojibake_duplo", "PromoÃƒÂ§ÃƒÂ£o AutomÃƒÂ¡tica"),
        ("mojibake_lower", "promoã§ã£o automã¡tica"),
        ("acento_perdido", "Promo??o Autom?tica"),
        ("acento_perdido_duplo", "Promo????o Autom??tica"),
        ("acento_perdido_fffd", "Promo\ufffd\ufffdo Autom\ufffdtica"),
        ("sem_acento", "Promocao Automatica"),
    ],
)
def test_codec_paths(classe: str, expected: str) -> None:
    assert damage_text(WORD, classe, 0) == expected


def test_mojibake_is_utf8_read_as_cp1252() -> None:
    assert damage_text(WORD, "mojibake", 0) == WORD.encode("utf-8").decode("cp1252")


def test_mojibake_survives_bytes_cp1252_leaves_undefined() -> None:
    # 'Á' is C3 81 in UTF-8 and 0x81 is undefined in cp1252: Windows keeps it as U+0081
    assert damage_text("Ánimo", "mojibake", 0) == "Ã\x81nimo"


def test_nfd_is_decomposed_and_equal_after_nfc() -> None:
    damaged = damage_text(WORD, "nfd", 0)
    assert damaged != WORD
    assert isinstance(damaged, str)
    assert unicodedata.normalize("NFC", damaged) == WORD


def test_legacy_is_cp1252_bytes_not_utf8() -> None:
    raw = damage_text(WORD, "codificacao_legada", 0)
    assert raw == WORD.encode("cp1252")
    assert isinstance(raw, bytes)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


@pytest.mark.parametrize("salt", range(4))
def test_spaces_variants_change_only_whitespace(salt: int) -> None:
    damaged = damage_text(WORD, "espacos", salt)
    assert isinstance(damaged, str)
    assert damaged != WORD
    assert " ".join(damaged.replace("\u00a0", " ").split()) == WORD


@pytest.mark.parametrize("salt", range(3))
def test_case_variants_change_only_case(salt: int) -> None:
    damaged = damage_text("Cupom", "caixa", salt)
    assert isinstance(damaged, str)
    assert damaged != "Cupom"
    assert damaged.lower() == "cupom"


def test_every_class_changes_an_accented_value_deterministically() -> None:
    for classe in TEXT_CLASSES:
        assert damage_text(WORD, classe, 5) != WORD, classe
        assert damage_text(WORD, classe, 5) == damage_text(WORD, classe, 5)


def test_accent_classes_do_not_apply_to_ascii() -> None:
    assert not applicable("SP", "mojibake")
    assert not applicable("SP", "caixa") or damage_text("SP", "caixa", 1) != "SP"
    assert applicable("SP", "espacos")
    assert applicable("São Paulo", "acento_perdido")
