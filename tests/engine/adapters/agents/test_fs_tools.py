"""The harness's file tools: what they do, and that nothing gets out of the worktree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.adapters.agents import fs_tools
from engine.adapters.agents.fs_tools import OutsideWorktree, confine


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("x = 1\ny = 2\n")
    (root / ".git").write_text("gitdir: elsewhere\n")
    (tmp_path / "secret.txt").write_text("TOKEN=abc\n")
    return root


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "pkg/../../secret.txt",
        "/etc/passwd",
        "~/.ssh/id_rsa",
        ".git",
        ".git/config",
    ],
)
def test_paths_leading_out_are_refused(tree: Path, path: str) -> None:
    with pytest.raises(OutsideWorktree):
        confine(tree, path)
    assert fs_tools.read_file(tree, path).is_error


def test_symlinks_leading_out_are_refused_for_every_tool(tree: Path) -> None:
    os.symlink(tree.parent / "secret.txt", tree / "link.txt")
    os.symlink(tree.parent, tree / "up")
    assert "outside the worktree" in fs_tools.read_file(tree, "link.txt").output
    assert fs_tools.write_file(tree, "up/new.txt", "x").is_error
    assert not (tree.parent / "new.txt").exists()
    assert fs_tools.edit_file(tree, "link.txt", "TOKEN", "X").is_error
    assert (tree.parent / "secret.txt").read_text() == "TOKEN=abc\n"
    assert "TOKEN" not in fs_tools.grep(tree, "TOKEN").output
    assert fs_tools.list_dir(tree, "up").is_error


def test_paths_inside_are_accepted_relative_or_absolute(tree: Path) -> None:
    assert confine(tree, "pkg/mod.py") == (tree / "pkg" / "mod.py").resolve()
    assert confine(tree, str(tree / "pkg" / "mod.py")) == (tree / "pkg" / "mod.py").resolve()
    assert confine(tree, "pkg/../pkg/mod.py") == (tree / "pkg" / "mod.py").resolve()
    assert fs_tools.read_file(tree, str(tree / "pkg" / "mod.py")).output == "x = 1\ny = 2\n"


def test_write_edit_list_grep(tree: Path) -> None:
    written = fs_tools.write_file(tree, "pkg/new.py", "z = 3\n")
    assert written.changes == [("pkg/new.py", "added")]
    assert fs_tools.write_file(tree, "pkg/new.py", "z = 4\n").changes == [
        ("pkg/new.py", "modified")
    ]
    assert fs_tools.edit_file(tree, "pkg/mod.py", "y = 2", "y = 20").changes == [
        ("pkg/mod.py", "modified")
    ]
    assert (tree / "pkg" / "mod.py").read_text() == "x = 1\ny = 20\n"
    missing = fs_tools.edit_file(tree, "pkg/mod.py", "nope", "x")
    assert missing.is_error and "not found" in missing.output
    (tree / "pkg" / "twice.py").write_text("a\na\n")
    assert "2 times" in fs_tools.edit_file(tree, "pkg/twice.py", "a", "b").output
    assert fs_tools.list_dir(tree).output.splitlines() == ["pkg/"]  # .git is not listed
    assert fs_tools.grep(tree, r"y = \d+").output == "pkg/mod.py:2: y = 20"
    assert fs_tools.grep(tree, "(").is_error
    assert fs_tools.read_file(tree, "pkg").is_error
    assert fs_tools.read_file(tree, "nope.py").output == "nope.py: no such file"


def test_binary_and_huge_files_are_not_dumped(tree: Path) -> None:
    (tree / "blob.bin").write_bytes(b"\0\1\2" * 100)
    assert "binary file" in fs_tools.read_file(tree, "blob.bin").output
    (tree / "big.txt").write_text("a" * (fs_tools.READ_LIMIT + 10))
    out = fs_tools.read_file(tree, "big.txt").output
    assert out.endswith(f"cut at {fs_tools.READ_LIMIT} bytes of {fs_tools.READ_LIMIT + 10}")
