"""Gate adapters with the real tools on a tree with planted problems: each finds exactly
its problems at the right file and line; a clean tree passes; a missing tool is
``unavailable``; a hung one is stopped at its timeout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.adapters.gates import available_gates
from engine.adapters.gates.command import CommandGate
from engine.adapters.gates.hooks import HooksGate
from engine.adapters.gates.pytest import PytestGate
from engine.adapters.gates.ruff import RuffFormatGate, RuffGate
from engine.adapters.gates.secrets import SecretsGate
from engine.adapters.gates.tach import TachGate
from engine.adapters.gates.ty import TyGate
from engine.domain.gates import GateStatus
from engine.ports.gate import GateSpec

CLEAN = {"pkg/__init__.py": "", "pkg/core.py": "def double(x: int) -> int:\n    return 2 * x\n"}


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    return tree(
        tmp_path / "planted",
        {
            **CLEAN,
            # line 3: an unused import (formatted as ruff wants it)
            "pkg/unused.py": '"""Doc."""\n\nimport os\n\n\ndef f() -> int:\n    return 1\n',
            # unformatted, but lint-clean
            "pkg/ugly.py": "def g( y ):\n    return y\n",
        },
    )


async def test_ruff_finds_the_unused_import_and_nothing_else(planted: Path) -> None:
    result = await RuffGate().check(GateSpec("lint", "ruff"), planted)
    assert result.status is GateStatus.FAILED
    assert [(f.path, f.line, f.column, f.code) for f in result.findings] == [
        ("pkg/unused.py", 3, 8, "F401")
    ]
    assert result.findings[0].fix_available
    assert not (planted / ".ruff_cache").exists()  # the judged tree is left as it was


async def test_ruff_format_finds_the_unformatted_file_only(planted: Path) -> None:
    result = await RuffFormatGate().check(GateSpec("format", "ruff-format"), planted)
    assert result.status is GateStatus.FAILED
    assert [f.path for f in result.findings] == ["pkg/ugly.py"]
    assert result.findings[0].line == 1


async def test_a_clean_tree_passes_every_gate(tmp_path: Path) -> None:
    clean = tree(tmp_path / "clean", CLEAN)
    for gate, kind in ((RuffGate(), "ruff"), (RuffFormatGate(), "ruff-format")):
        result = await gate.check(GateSpec(kind, kind), clean)
        assert (result.status, result.findings) == (GateStatus.PASSED, []), result.detail
    result = await CommandGate().check(GateSpec("ok", "command", command="true"), clean)
    assert result.status is GateStatus.PASSED


async def test_a_missing_tool_is_unavailable_with_the_install_hint(tmp_path: Path) -> None:
    spec = GateSpec("lint", "ruff", command="no-such-ruff-anywhere --flag")
    result = await RuffGate().check(spec, tmp_path)
    assert result.status is GateStatus.UNAVAILABLE
    assert "no-such-ruff-anywhere is not installed" in result.detail
    assert "pip install ruff" in result.detail
    missing = await CommandGate().check(
        GateSpec("x", "command", command="no-such-command-anywhere"), tmp_path
    )
    assert missing.status is GateStatus.UNAVAILABLE


async def test_a_hung_tool_is_killed_at_its_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "still-running"
    spec = GateSpec("slow", "command", timeout=0.5, command=f"sleep 30; touch {marker}")
    started = time.monotonic()
    result = await CommandGate().check(spec, tmp_path)
    assert time.monotonic() - started < 5
    assert result.status is GateStatus.ERROR
    assert "timed out after 0.5s" in result.detail
    time.sleep(0.5)
    assert not marker.exists()


async def test_a_crashing_tool_is_an_error_with_its_stderr(tmp_path: Path) -> None:
    # ruff exits 2 on a bad option: not a verdict on the tree.
    spec = GateSpec("lint", "ruff", args=["--no-such-option"])
    result = await RuffGate().check(spec, tmp_path)
    assert result.status is GateStatus.ERROR
    assert "no-such-option" in result.detail


async def test_a_command_gate_reads_findings_with_its_pattern(tmp_path: Path) -> None:
    spec = GateSpec(
        "custom",
        "command",
        command="printf 'src/a.py:3: too clever\\nnoise\\nsrc/b.py:10: too long\\n'; exit 1",
        pattern=r"^(?P<path>[^:\s]+):(?P<line>\d+): (?P<message>.+)$",
    )
    result = await CommandGate().check(spec, tmp_path)
    assert result.status is GateStatus.FAILED
    assert [(f.path, f.line, f.message) for f in result.findings] == [
        ("src/a.py", 3, "too clever"),
        ("src/b.py", 10, "too long"),
    ]
    # Without a pattern (or no line matching) the failure is the tree's, with the output.
    plain = await CommandGate().check(
        GateSpec("plain", "command", command="echo boom; exit 3"), tmp_path
    )
    assert [(f.path, f.line, f.code, f.message) for f in plain.findings] == [
        (".", None, "exit 3", "boom")
    ]


async def test_ty_finds_the_type_error(tmp_path: Path) -> None:
    typed = tree(
        tmp_path / "typed",
        {**CLEAN, "pkg/wrong.py": '"""Doc."""\n\n\ndef name() -> str:\n    return 42\n'},
    )
    result = await TyGate().check(GateSpec("types", "ty"), typed)
    assert result.status is GateStatus.FAILED, result.detail
    assert [(f.path, f.line, f.code) for f in result.findings] == [
        ("pkg/wrong.py", 5, "invalid-explicit-return")
    ]
    clean = await TyGate().check(GateSpec("types", "ty"), tree(tmp_path / "clean", CLEAN))
    assert clean.status is GateStatus.PASSED, clean.findings


#: This interpreter's pytest (the PATH's may be another Python's, with other plugins).
PYTEST = GateSpec("tests", "pytest", command=f"{sys.executable} -m pytest")


async def test_pytest_finds_the_failing_test_at_its_line(tmp_path: Path) -> None:
    tests = tree(
        tmp_path / "tests",
        {
            "test_math.py": (
                "def test_ok():\n    assert 1 + 1 == 2\n\n\n"
                "def test_wrong():\n    assert 1 + 1 == 3, 'arithmetic is broken'\n"
            ),
        },
    )
    result = await PytestGate().check(PYTEST, tests)
    assert result.status is GateStatus.FAILED, result.detail
    [finding] = result.findings
    assert (finding.path, finding.line) == ("test_math.py", 5)
    assert finding.code == "test_math.py::test_wrong"
    assert "arithmetic is broken" in finding.message
    # Nothing written into the judged tree (cache, bytecode, the report).
    assert sorted(p.name for p in tests.iterdir()) == ["test_math.py"]
    (tests / "test_math.py").write_text("def test_ok():\n    assert True\n")
    assert (await PytestGate().check(PYTEST, tests)).status is GateStatus.PASSED
    empty = await PytestGate().check(PYTEST, tree(tmp_path / "e", CLEAN))
    assert empty.status is GateStatus.PASSED  # no tests collected is not a failure


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, check=True, capture_output=True
    )


#: A fake AWS key pair (the documented example values).
AWS = 'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"\n'


async def test_secrets_finds_keys_in_new_lines_and_new_files_only(tmp_path: Path) -> None:
    repo = tree(tmp_path / "repo", {**CLEAN, "old.py": "# an old leak, not this change's\n" + AWS})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    (repo / "pkg" / "core.py").write_text((repo / "pkg" / "core.py").read_text() + AWS)
    (repo / "creds.py").write_text("x = 1\n" + AWS)  # untracked: new
    result = await SecretsGate().check(GateSpec("secrets", "secrets", base="HEAD"), repo)
    assert result.status is GateStatus.FAILED, result.detail
    assert [(f.path, f.line, f.code) for f in result.findings] == [
        ("creds.py", 2, "AWS Access Key"),
        ("pkg/core.py", 3, "AWS Access Key"),
    ]
    git(repo, "stash", "-u")
    clean = await SecretsGate().check(GateSpec("secrets", "secrets", base="HEAD"), repo)
    assert clean.status is GateStatus.PASSED  # old.py's key is not new


async def test_tach_finds_the_forbidden_dependency(tmp_path: Path) -> None:
    files = {"src/a/__init__.py": "from b import x\n", "src/b/__init__.py": "x = 1\n"}
    modules = (
        '[[modules]]\npath = "a"\ndepends_on = []\n\n[[modules]]\npath = "b"\ndepends_on = []\n'
    )
    project = tree(tmp_path / "p", {**files, "tach.toml": f'source_roots = ["src"]\n\n{modules}'})
    result = await TachGate().check(GateSpec("bounds", "tach"), project)
    assert result.status is GateStatus.FAILED, result.detail
    assert [(f.path, f.line, f.code) for f in result.findings] == [
        ("src/a/__init__.py", 1, "UndeclaredDependency")
    ]
    (project / "tach.toml").unlink()
    unconfigured = await TachGate().check(GateSpec("bounds", "tach"), project)
    assert unconfigured.status is GateStatus.ERROR
    assert "Configuration file not found" in unconfigured.detail


HOOKS = """repos:
  - repo: local
    hooks:
      - id: no-todo
        name: no TODO markers
        entry: sh -c 'if grep -n TODO "$@"; then exit 1; fi' --
        language: system
        files: \\.py$
      - id: strip
        name: strip trailing spaces
        entry: sed -i 's/[ ]*$//'
        language: system
        files: \\.py$
"""


async def test_hooks_run_on_a_scratch_copy_and_report_each_failed_hook(tmp_path: Path) -> None:
    repo = tree(tmp_path / "repo", {".pre-commit-config.yaml": HOOKS, "a.py": "x = 1\n"})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    passed = await HooksGate().check(GateSpec("hooks", "hooks"), repo)
    assert passed.status is GateStatus.PASSED, passed.detail
    (repo / "b.py").write_text("y = 2  \n# TODO later\n")  # untracked: judged too
    result = await HooksGate().check(GateSpec("hooks", "hooks"), repo)
    assert result.status is GateStatus.FAILED, result.detail
    assert [(f.code, f.fix_available) for f in result.findings] == [
        ("no-todo", False),
        ("strip", True),
    ]
    assert "TODO later" in result.findings[0].message
    # The fixer ran on the copy: the tree is exactly as it was.
    assert (repo / "b.py").read_text() == "y = 2  \n# TODO later\n"
    (repo / ".pre-commit-config.yaml").unlink()
    unconfigured = await HooksGate().check(GateSpec("hooks", "hooks"), repo)
    assert unconfigured.status is GateStatus.ERROR


async def test_ruff_judges_only_the_changed_files_when_they_are_known(planted: Path) -> None:
    (planted / "pkg" / "old.py").write_text("import sys\n")  # an old problem, not changed
    spec = GateSpec("lint", "ruff", changed=("pkg/unused.py", "pkg/gone.py", "README.md"))
    result = await RuffGate().check(spec, planted)
    assert [f.path for f in result.findings] == ["pkg/unused.py"]
    untouched = await RuffGate().check(GateSpec("lint", "ruff", changed=("README.md",)), planted)
    assert (untouched.status, untouched.detail) == (GateStatus.PASSED, "no changed Python file")
    everything = await RuffGate().check(GateSpec("lint", "ruff"), planted)
    assert {f.path for f in everything.findings} == {"pkg/unused.py", "pkg/old.py"}


async def test_pytest_can_run_only_the_tests_touching_the_change(tmp_path: Path) -> None:
    project = tree(
        tmp_path / "proj",
        {
            "calc.py": "def add(a, b):\n    return a + b\n",
            "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
            "tests/test_other.py": "def test_unrelated():\n    assert False\n",
            "conftest.py": "import sys, pathlib\nsys.path.insert(0, str(pathlib.Path(__file__).parent))\n",
        },
    )
    spec = GateSpec(
        "tests", "pytest", command=PYTEST.command, changed=("calc.py",), changed_only=True
    )
    touching = await PytestGate().check(spec, project)
    assert touching.status is GateStatus.PASSED, touching.findings  # test_other not run
    everything = await PytestGate().check(PYTEST, project)
    assert [f.code for f in everything.findings] == ["tests/test_other.py::test_unrelated"]
    untouched = GateSpec(
        "tests", "pytest", command=PYTEST.command, changed=("README.md",), changed_only=True
    )
    nothing = await PytestGate().check(untouched, project)
    assert (nothing.status, nothing.detail) == (GateStatus.PASSED, "no test touches the change")


#: A gitleaks report as its documentation shows it (gitleaks itself is not on this machine:
#: the script below stands in for it, to test how the gate calls it and reads its report).
GITLEAKS_REPORT = """[
  {"Description": "AWS Access Key", "StartLine": 2, "EndLine": 2, "File": "creds.py",
   "RuleID": "aws-access-token", "Secret": "REDACTED", "Fingerprint": "creds.py:aws:2"},
  {"Description": "AWS Access Key", "StartLine": 2, "File": "old.py",
   "RuleID": "aws-access-token", "Secret": "REDACTED"}
]"""


async def test_secrets_uses_gitleaks_when_it_is_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "gitleaks"
    (tmp_path / "report.json").write_text(GITLEAKS_REPORT)
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/argv\n'
        'while [ "$1" != "--report-path" ]; do shift; done\n'
        f'cp {tmp_path}/report.json "$2"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    repo = tree(tmp_path / "repo", {**CLEAN, "old.py": "# old\n" + AWS})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    (repo / "creds.py").write_text("x = 1\n" + AWS)
    result = await SecretsGate().check(GateSpec("secrets", "secrets", base="HEAD"), repo)
    # old.py's leak is not new: only the new file's is this change's.
    assert [(f.path, f.line, f.code) for f in result.findings] == [
        ("creds.py", 2, "aws-access-token")
    ]
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:2] == ["dir", "."] and "--redact" in argv and "json" in argv


def test_every_gate_kind_has_its_adapter_and_the_config_takes_the_same_names() -> None:
    from typing import get_args

    from engine.config import GateConfig
    from engine.gate_kinds import GATES

    gates = available_gates()
    assert list(gates) == list(GATES)
    assert all(gate.kind == kind for kind, gate in gates.items())
    assert set(get_args(GateConfig.model_fields["kind"].annotation)) == set(GATES)


def test_the_starter_config_names_every_gate_kind() -> None:
    from engine.gate_kinds import GATES
    from engine.workspace import STARTER_CONFIG

    line = next(x for x in STARTER_CONFIG.splitlines() if x.startswith('# kind = "ruff"'))
    listed = line.split("#", 2)[2].replace(" or ", ", ").strip()
    assert [k.strip() for k in listed.split(",")] == list(GATES)
