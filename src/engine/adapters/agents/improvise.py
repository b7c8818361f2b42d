"""Scenarios made up for a scripted profile with ``improvise = true`` and no file.

From the task's words and the worktree's files: look at the module that fits the task
best, add a small function to it, write a note, check the module parses, report. Seeded
by the task, so the same task on the same tree gives the same steps.
"""

from __future__ import annotations

import ast
import hashlib
import keyword
import os
import random
import re
import shlex
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

from engine.adapters.agents.scenario import Scenario

_FILLER = """
a an the to for of in on at by with from into and or but it its this that these those
please add make new use do some all any be is are should can so up out me my our we i you
"""
#: Words of a task that say nothing about where its change belongs.
FILLER = frozenset(_FILLER.split())
#: Folders never looked into for a module to change.
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "build", "dist"})
#: Files looked at, at most (a big repo is sampled in path order), and module size.
MAX_FILES = 2000
MAX_MODULE_BYTES = 100_000
#: Lengths that keep the code written well inside any line-length limit.
NAME_CHARS = 30
SLUG_CHARS = 32
SUMMARY_CHARS = 60


def improvise(task: str, worktree: Path) -> Scenario:
    """A plausible run of ``task`` in ``worktree``, for a profile with no scenario: look at
    the Python module the task's words point to, add a small function for the task there,
    write a note of what is done and what is left, check the module still parses, and
    report. The same task on the same tree gives the same run (it is seeded by the task).
    Blocking: reads the worktree's files."""
    rng = random.Random(hashlib.sha256(task.encode()).digest())
    words = task_words(task)
    slug = _join(words, "-", SLUG_CHARS) or "task"
    summary = _summary(task)
    headline = summary.rstrip(".")
    files = _files(worktree)
    module = _pick_module(worktree, files, words, rng)
    note = _free_path(worktree, f"notes/{slug}.md")
    if module is None:
        return _note_only(task, headline, files, note)
    path, text = module
    name = _free_name(text, _identifier(words))
    old, new = _add_to_module(text, _function(name, summary, slug, note))
    look = rng.choice(
        [
            f"The task's words point to {path}: reading it first.",
            f"Looking for where this belongs: {path} is the closest match.",
            f"Starting from {path}, the module this task is about.",
        ]
    )
    steps: list[dict[str, Any]] = [
        {"say": look, "run": f"head -n 60 {shlex.quote(path)}"},
        {"say": f"Adding {name}() to {path}.", "edit": {"path": path, "old": old, "new": new}},
        {
            "say": f"Writing down what is done and what is left in {note}.",
            "write": {"path": note, "content": _note(task, headline, name, path)},
        },
        {"say": f"Checking that {path} still parses.", "run": _parses(path)},
        {
            "say": f"Done: {name}() is in {path} (a first cut for “{headline}”), {note} "
            f"says what is left, and {path} still parses."
        },
    ]
    return Scenario.model_validate({"step": steps})


def task_words(task: str) -> list[str]:
    """The task's telling words, lower case, in order, each once."""
    words = re.findall(r"[a-z][a-z0-9]*", task.lower())
    return list(dict.fromkeys(w for w in words if w not in FILLER))


def _join(words: list[str], sep: str, limit: int) -> str:
    """Whole words joined by ``sep``, as many as fit in ``limit`` characters."""
    joined = ""
    for word in words:
        longer = f"{joined}{sep}{word}" if joined else word
        if len(longer) > limit:
            break
        joined = longer
    return joined or (words[0][:limit] if words else "")


def _summary(task: str) -> str:
    """The task as one short sentence fit for a docstring: one line, no quotes that
    would close it, no backslashes."""
    text = " ".join(task.replace("\\", "/").replace('"', "'").split())
    if len(text) > SUMMARY_CHARS:
        text = text[: SUMMARY_CHARS - 3].rsplit(" ", 1)[0] + "..."
    text = (text[:1].upper() + text[1:]) or "The task"
    return text if text[-1] in ".!?" else text + "."


def _identifier(words: list[str]) -> str:
    name = _join(words, "_", NAME_CHARS) or "todo"
    return name + "_" if keyword.iskeyword(name) else name


def _files(worktree: Path) -> list[str]:
    """The worktree's files (not hidden ones), path order, at most :data:`MAX_FILES`."""
    found: list[str] = []
    for folder, dirs, names in os.walk(worktree):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        base = Path(folder).relative_to(worktree)
        for name in sorted(names):
            if not name.startswith("."):
                found.append((base / name).as_posix())
                if len(found) >= MAX_FILES:
                    return found
    return found


def _is_test(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1]
    return (
        any(part in ("tests", "test", "testing") for part in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name in ("conftest.py", "setup.py", "noxfile.py")
    )


def _pick_module(
    worktree: Path, files: list[str], words: list[str], rng: random.Random
) -> tuple[str, str] | None:
    """(path, text) of the Python module whose path and text share most words with the
    task (path words count triple); ties are drawn by ``rng``. None: no module to add to."""
    scored: list[tuple[int, str, str]] = []
    for path in files:
        if not path.endswith(".py") or _is_test(path):
            continue
        target = worktree / path
        try:
            if target.stat().st_size > MAX_MODULE_BYTES:
                continue
            text = target.read_text(encoding="utf-8")
            with warnings.catch_warnings():  # a bad escape in it is no concern here
                warnings.simplefilter("ignore")
                ast.parse(text, path)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, SystemError):
            # SystemError: CPython 3.11's ast may raise it when a finalizer fails while the
            # tree is built (gh-106905); that module is skipped like one that does not parse.
            continue
        if not text.strip():
            continue
        in_path = set(re.findall(r"[a-z][a-z0-9]*", path.lower()))
        lower = text.lower()
        score = sum(3 * (word in in_path) + (word in lower) for word in words)
        scored.append((score, path, text))
    if not scored:
        return None
    best = max(score for score, _, _ in scored)
    return rng.choice([(path, text) for score, path, text in scored if score == best])


def _free_path(worktree: Path, path: str) -> str:
    """``path``, or ``path`` with ``-2``, ``-3``… before its suffix, whichever is free."""
    pure = PurePosixPath(path)
    candidate, n = path, 1
    while (worktree / candidate).exists():
        n += 1
        candidate = str(pure.with_name(f"{pure.stem}-{n}{pure.suffix}"))
    return candidate


def _free_name(text: str, name: str) -> str:
    """``name``, or ``name_2``, ``name_3``… whichever the module does not define yet."""
    candidate, n = name, 1
    while re.search(
        rf"^\s*(?:async\s+def|def|class)\s+{candidate}\b|^{candidate}\s*[:=]", text, re.M
    ):
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def _function(name: str, summary: str, slug: str, note: str) -> str:
    return (
        f"def {name}() -> dict:\n"
        f'    """{summary}\n\n'
        f"    A first cut: what is left is in {note}.\n"
        '    """\n'
        f'    return {{"task": "{slug}", "status": "started"}}\n'
    )


def _add_to_module(text: str, block: str) -> tuple[str, str]:
    """(old, new) of an edit adding a top-level ``block`` to a module: just before its
    ``if __name__ == "__main__":`` when it has one, else at its end. ``old`` occurs first
    where the block goes, as an edit (which replaces the first occurrence) needs."""
    main = re.search(r"^if __name__ == ['\"]__main__['\"]:", text, re.M)
    if main and text.count(main.group(0)) == 1 and text[: main.start()].endswith("\n\n\n"):
        return main.group(0), f"{block}\n\n{main.group(0)}"
    lines = text.splitlines(keepends=True)
    for count in range(1, len(lines) + 1):
        old = "".join(lines[-count:])
        if old.strip() and text.find(old) == len(text) - len(old):
            return old, f"{old.rstrip()}\n\n\n{block}"
    return text, f"{text.rstrip()}\n\n\n{block}"


def _note(task: str, headline: str, name: str, path: str) -> str:
    return (
        f"# {headline}\n\n"
        f"Task: {' '.join(task.split())}\n\n"
        "## Done\n\n"
        f"- `{name}()` in `{path}`: a first cut that reports the task as started.\n"
        f"- Checked that `{path}` still parses.\n\n"
        "## Left to do\n\n"
        "- The real behaviour, and a test for it.\n"
    )


def _parses(path: str) -> str:
    """A command checking that a Python file parses (writing nothing, unlike py_compile)."""
    check = 'import ast, sys; ast.parse(open(sys.argv[1]).read()); print(sys.argv[1], "parses")'
    return f"python3 -c '{check}' {shlex.quote(path)}"


def _note_only(task: str, headline: str, files: list[str], note: str) -> Scenario:
    """The run for a repo with no Python module to add to: a plan in a note."""
    readme = next((f for f in files if f.lower().startswith("readme")), files[0] if files else None)
    look: dict[str, Any] = (
        {
            "say": f"No Python module fits; reading {readme} to see how the repo is laid out.",
            "run": f"head -n 60 {shlex.quote(readme)}",
        }
        if readme
        else {"say": "The repo is empty: listing it to be sure.", "run": "ls -la"}
    )
    content = (
        f"# {headline}\n\n"
        f"Task: {' '.join(task.split())}\n\n"
        "## Plan\n\n"
        "- Find where the change belongs.\n"
        "- Make it, with a test.\n"
    )
    steps: list[dict[str, Any]] = [
        look,
        {"say": f"Writing the plan in {note}.", "write": {"path": note, "content": content}},
        {"say": f"Checking {note} is in place.", "run": f"wc -l {shlex.quote(note)}"},
        {"say": f"Done: {note} holds the plan for “{headline}”; no code changed yet."},
    ]
    return Scenario.model_validate({"step": steps})
