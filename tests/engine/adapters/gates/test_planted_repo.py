"""One sample repo with a problem planted for each gate: every gate, run together on it
as the engine runs them, finds exactly its own problem at the right file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.adapters.gates import available_gates
from engine.domain.gates import GateStatus
from engine.ports.gate import GateSpec
from engine.services.gates import check_tree

BASE = {
    "pyproject.toml": (
        '[project]\nname = "sample"\nversion = "0"\n\n[tool.ty.environment]\nroot = ["src"]\n'
    ),
    "tach.toml": (
        'source_roots = ["src"]\n\n[[modules]]\npath = "core"\ndepends_on = []\n\n'
        '[[modules]]\npath = "web"\ndepends_on = []\n'
    ),
    "src/core/__init__.py": '"""Core."""\n\nVALUE = 1\n',
    "src/web/__init__.py": '"""Web."""\n',
    "tests/test_core.py": '"""Tests."""\n\n\ndef test_ok() -> None:\n    assert 1 + 1 == 2\n',
}
#: The change a run made: one problem per gate (each file clean for every other gate).
PLANTED = {
    "src/core/unused.py": '"""Unused import."""\n\nimport os\n',  # ruff F401, line 3
    "src/core/ugly.py": '"""Ugly."""\n\n\ndef g( y: int ) -> int:\n    return y\n',  # format
    "src/core/typed.py": '"""Typed."""\n\n\ndef name() -> str:\n    return 42\n',  # ty, line 5
    "src/web/views.py": '"""Views."""\n\nfrom core import VALUE\n\nSHOWN = VALUE\n',  # tach
    "src/core/settings.py": '"""Settings."""\n\nAWS_KEY = "AKIAIOSFODNN7EXAMPLE"\n',  # secrets
    "tests/test_broken.py": '"""Broken."""\n\n\ndef test_wrong() -> None:\n    assert 1 + 1 == 3\n',
}
EXPECTED = {
    "ruff": [("src/core/unused.py", 3, "F401")],
    "ruff-format": [("src/core/ugly.py", 4, "unformatted")],
    "ty": [("src/core/typed.py", 5, "invalid-explicit-return")],
    "tach": [("src/web/views.py", 3, "UndeclaredDependency")],
    "secrets": [("src/core/settings.py", 3, "AWS Access Key")],
    "pytest": [("tests/test_broken.py", 4, "tests/test_broken.py::test_wrong")],
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def specs(base: str | None = "HEAD") -> list[GateSpec]:
    pytest = f"{sys.executable} -m pytest"  # this interpreter's, not the PATH's
    return [
        GateSpec(kind, kind, base=base, command=pytest if kind == "pytest" else None)
        for kind in EXPECTED
    ]


async def test_each_gate_finds_exactly_its_planted_problem(tmp_path: Path) -> None:
    repo = tmp_path / "sample"
    write(repo, BASE)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    clean = await check_tree(available_gates(), specs(), repo)
    assert {r.kind: r.status for r in clean} == dict.fromkeys(EXPECTED, GateStatus.PASSED), [
        (r.kind, r.detail, r.findings) for r in clean
    ]

    # tach warns that nothing imports across modules yet: shown, but not a failure.
    tach = next(r for r in clean if r.kind == "tach")
    assert tach.findings and {f.severity for f in tach.findings} == {"warning"}

    write(repo, PLANTED)  # untracked: judged as the tree is
    results = await check_tree(available_gates(), specs(), repo)
    found = {r.kind: [(f.path, f.line, f.code) for f in r.findings] for r in results}
    assert found == EXPECTED, [(r.kind, r.status, r.detail) for r in results]
    assert all(r.status is GateStatus.FAILED for r in results)
