"""The settings table of docs/configuration.md is the settings' declaration's rendering."""

from __future__ import annotations

from pathlib import Path

from dwetl.core import settings_doc


def test_the_settings_table_in_the_docs_is_the_specs() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert settings_doc.with_settings_table(doc) == doc, (
        "docs/configuration.md's settings table differs from the settings' declaration: "
        "run `uv run python -m dwetl.core.settings_doc` to write it"
    )
    assert settings_doc.settings_table() in doc
