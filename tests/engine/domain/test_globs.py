"""Path globs matched on a list of a repo's files as ``Path.glob`` would on the disk."""

from __future__ import annotations

import pytest

from engine.domain.globs import RepoFiles

FILES = RepoFiles(
    ["setup.py", "src/pkg/mod.py", "src/lib.rs", "docs/guide.md", "tools/pyproject.toml",
     "odd[1].txt"]
)  # fmt: skip


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("**/*.py", True),  # at any depth, the top included
        ("*.py", True),
        ("*.rs", False),  # `*` stays within one name
        ("**/*.rs", True),
        ("src/*.py", False),
        ("src/**/*.py", True),
        ("src/*", True),  # a folder holding files matches too
        ("docs/", True),
        ("docs/**", True),
        ("lib/**", False),
        ("**/pyproject.toml", True),
        ("pyproject.toml", False),
        ("s?c/lib.rs", True),
        ("[!s]rc/lib.rs", False),
        ("src/[a-m]ib.rs", True),
        ("odd[[]1].txt", True),
        ("**/*.go", False),
    ],
)
def test_globs_match_as_path_glob_would(pattern: str, matches: bool) -> None:
    assert FILES.match(pattern) is matches


def test_no_files_match_nothing() -> None:
    assert not RepoFiles([]).match("**/*")
    assert not RepoFiles([""]).match("**")
