"""Every `>>>` example in transforms/ and src/dwetl/ runs and shows what it claims.

The examples are the first documentation a notebook user reads; an example that drifted
from the code teaches the wrong thing.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> list[str]:
    names = []
    for package, folder in (("transforms", ROOT / "transforms"), ("dwetl", ROOT / "src/dwetl")):
        names.append(package)
        for info in pkgutil.walk_packages([str(folder)], prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_examples_in_docstrings_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
