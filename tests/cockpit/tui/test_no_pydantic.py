"""The cockpit's own config readers (themes, settings, ``[ui]``/``[keys]``) never import
pydantic: they run while the cockpit starts, and pydantic's import alone costs more than
all of them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import cockpit.tui

MODULES = ("themes", "settings", "ui_config")


def _imported_names(source: str) -> set[str]:
    """Every module an ``import`` statement in ``source`` names, wherever it sits
    (top level, inside a function, under ``TYPE_CHECKING``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", MODULES)
def test_the_module_has_no_pydantic_import(module: str) -> None:
    source = (Path(cockpit.tui.__file__).parent / f"{module}.py").read_text(encoding="utf-8")
    names = _imported_names(source)
    assert not {n for n in names if n == "pydantic" or n.startswith("pydantic.")}
    # Nor by the back door of a dynamic import.
    assert "import_module" not in source and "__import__" not in source


def test_importing_them_leaves_pydantic_unloaded() -> None:
    # A fresh interpreter: this test process has long since loaded pydantic.
    modules = ", ".join(f"cockpit.tui.{m}" for m in MODULES)
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]", (
        "importing the cockpit's config readers loaded pydantic; if one of their own "
        "imports (e.g. engine.domain.errors) now pulls it in, that import is the culprit"
    )
