"""File tools of the built-in harness, confined to the run's worktree.

Each tool is a plain function (run in a thread by the harness) returning a
:class:`ToolResult`; a refused or failed call is a result with ``is_error``, never an
exception, because the model is told what went wrong and may try otherwise.

Confinement: a path is taken relative to the worktree (an absolute path is accepted when
it lies inside it) and resolved with symlinks followed; whatever resolves outside the
worktree — ``..`` climbing out, an absolute path elsewhere, a symlink pointing out — is
refused. ``.git`` (the worktree's link to the user's repository) is refused too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

#: Bytes of a file read_file returns; the rest is cut with a note.
READ_LIMIT = 256 * 1024
#: Lines grep returns at most.
GREP_LIMIT = 200
#: Entries list_dir returns at most.
LIST_LIMIT = 500
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".ruff_cache"}


class OutsideWorktree(Exception):
    """A path that resolves outside the worktree (the message says which)."""


@dataclass
class ToolResult:
    """What the model is told, and what changed on disk."""

    output: str
    is_error: bool = False
    #: (repo-relative path, "added" | "modified" | "deleted") of files the call changed.
    changes: list[tuple[str, str]] = field(default_factory=list)


def confine(worktree: Path, path: str) -> Path:
    """The absolute path ``path`` names inside ``worktree``; raises OutsideWorktree."""
    root = worktree.resolve()
    raw = Path(path or ".").expanduser() if path.startswith("~") else Path(path or ".")
    candidate = raw if raw.is_absolute() else root / raw
    # resolve() follows every symlink that exists, so a link leading out is caught.
    resolved = candidate.resolve()
    if resolved != root and not resolved.is_relative_to(root):
        raise OutsideWorktree(f"{path}: outside the worktree ({root})")
    relative = resolved.relative_to(root)
    if relative.parts[:1] == (".git",):
        raise OutsideWorktree(f"{path}: the .git of the worktree is not for agents")
    return resolved


def _relative(worktree: Path, target: Path) -> str:
    return target.relative_to(worktree.resolve()).as_posix()


def read_file(worktree: Path, path: str) -> ToolResult:
    try:
        target = confine(worktree, path)
        with target.open("rb") as handle:
            data = handle.read(READ_LIMIT + 1)
    except OutsideWorktree as exc:
        return ToolResult(f"refused: {exc}", is_error=True)
    except FileNotFoundError:
        return ToolResult(f"{path}: no such file", is_error=True)
    except IsADirectoryError:
        return ToolResult(f"{path}: is a directory (use list_dir)", is_error=True)
    except OSError as exc:
        return ToolResult(f"{path}: {exc.strerror}", is_error=True)
    if b"\0" in data[:8192]:
        return ToolResult(f"{path}: binary file ({target.stat().st_size} bytes), not shown")
    text = data[:READ_LIMIT].decode("utf-8", errors="replace")
    if len(data) > READ_LIMIT:
        text += f"\n… cut at {READ_LIMIT} bytes of {target.stat().st_size}"
    return ToolResult(text)


def write_file(worktree: Path, path: str, content: str) -> ToolResult:
    try:
        target = confine(worktree, path)
        existed = target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        # A symlink inside the worktree was resolved above: the write lands where it
        # points, which confine() checked is inside.
        target.write_text(content, encoding="utf-8")
    except OutsideWorktree as exc:
        return ToolResult(f"refused: {exc}", is_error=True)
    except IsADirectoryError:
        return ToolResult(f"{path}: is a directory", is_error=True)
    except OSError as exc:
        return ToolResult(f"{path}: {exc.strerror}", is_error=True)
    rel = _relative(worktree, target)
    change = "modified" if existed else "added"
    return ToolResult(f"wrote {len(content.encode())} bytes to {rel}", changes=[(rel, change)])


def edit_file(worktree: Path, path: str, old: str, new: str) -> ToolResult:
    try:
        target = confine(worktree, path)
        text = target.read_text(encoding="utf-8")
    except OutsideWorktree as exc:
        return ToolResult(f"refused: {exc}", is_error=True)
    except FileNotFoundError:
        return ToolResult(f"{path}: no such file", is_error=True)
    except (OSError, UnicodeDecodeError) as exc:
        return ToolResult(f"{path}: cannot edit: {exc}", is_error=True)
    count = text.count(old) if old else 0
    if count != 1:
        found = "not found" if count == 0 else f"found {count} times (must be unique)"
        return ToolResult(f"{path}: the text to replace was {found}", is_error=True)
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    rel = _relative(worktree, target)
    return ToolResult(f"edited {rel}", changes=[(rel, "modified")])


def list_dir(worktree: Path, path: str = ".") -> ToolResult:
    try:
        target = confine(worktree, path)
        entries = sorted(target.iterdir(), key=lambda p: p.name)
    except OutsideWorktree as exc:
        return ToolResult(f"refused: {exc}", is_error=True)
    except FileNotFoundError:
        return ToolResult(f"{path}: no such directory", is_error=True)
    except NotADirectoryError:
        return ToolResult(f"{path}: not a directory", is_error=True)
    names = [e.name + ("/" if e.is_dir() else "") for e in entries if e.name != ".git"]
    shown = names[:LIST_LIMIT]
    if len(names) > LIST_LIMIT:
        shown.append(f"… {len(names) - LIST_LIMIT} more")
    return ToolResult("\n".join(shown) or "(empty)")


def grep(worktree: Path, pattern: str, path: str = ".") -> ToolResult:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        return ToolResult(f"bad pattern {pattern!r}: {exc}", is_error=True)
    try:
        start = confine(worktree, path)
    except OutsideWorktree as exc:
        return ToolResult(f"refused: {exc}", is_error=True)
    root = worktree.resolve()
    files = [start] if start.is_file() else _walk(start)
    hits: list[str] = []
    for file in files:
        if not file.resolve().is_relative_to(root):
            continue  # a symlink pointing out of the worktree
        try:
            with file.open("rb") as handle:
                data = handle.read(READ_LIMIT)
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if regex.search(line):
                hits.append(f"{file.relative_to(root).as_posix()}:{number}: {line[:300]}")
                if len(hits) >= GREP_LIMIT:
                    return ToolResult("\n".join([*hits, f"… stopped at {GREP_LIMIT} matches"]))
    return ToolResult("\n".join(hits) or "no matches")


def _walk(start: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, names in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        found.extend(Path(folder) / name for name in sorted(names))
    return found
