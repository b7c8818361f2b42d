"""Import hygiene, proven at run time: the engine loads without the UI or Textual.

import-linter checks the static graph in `make lint`; this checks what really gets
imported when the engine's composition root is loaded in a fresh interpreter.
"""

import json
import re
import subprocess
import sys
from pathlib import Path


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def test_engine_never_loads_textual_or_the_cockpit_package():
    loaded = _modules_after("import engine.bootstrap, engine.services.engine")
    assert "engine.bootstrap" in loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}
    assert not {m for m in loaded if m == "cockpit" or m.startswith("cockpit.")}


def test_domain_loads_no_adapter_and_no_io_library():
    loaded = _modules_after("import engine.domain.events, engine.domain.state")
    assert not {m for m in loaded if m.startswith("engine.adapters")}
    assert "aiosqlite" not in loaded and "git" not in loaded


#: The engine's parts a client must not touch: it asks the engine (its commands and
#: queries) instead, the seam a socket client of a detached engine takes.
ENGINE_INTERNALS = re.compile(r"\b\w*engine\w*\s*\.\s*(store|bus|worktrees|backends|_\w+)\b")


def test_the_cockpit_never_reaches_into_the_engines_internals():
    src = Path(__file__).resolve().parents[1] / "src" / "cockpit"
    found = [
        f"{path.relative_to(src)}:{number}: {line.strip()}"
        for path in sorted(src.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ENGINE_INTERNALS.search(line)
    ]
    assert not found, "\n".join(found)
