"""Bringing a checkout whose update was cut short (a ``kill -9`` in the middle of ``git
read-tree -u``: some files written, the index old or new) back to its ``HEAD``.

Only the paths the update touched (those differing between the two commits) are looked
at, and of those only the ones the update could have written are changed: a file that
holds the old content, the new content, the start of either (the file git was writing
when it died), or nothing. A file holding anything else is someone's edit and stays as
it is. Every step can itself be cut short and run again.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.adapters.git.runner import git, split_z

#: Paths per git command line (the kernel caps the size of one).
_CHUNK = 500
_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
_GITLINK = "160000"
_SYMLINK = "120000"


@dataclass(frozen=True)
class _Touched:
    """A path the update changes, with its blob (None: absent) and mode on each side."""

    path: str
    old: str | None
    new: str | None
    modes: tuple[str, str]


async def settle(checkout: Path, old: str, new: str, onto: str | None = None) -> list[str]:
    """Make the paths that differ between ``old`` and ``new`` in ``checkout`` — index
    and files — what ``onto`` (default: the checkout's ``HEAD``; ``old`` or ``new``)
    holds. Returns the paths left alone because they hold someone's own edits."""
    head = onto or (await git("rev-parse", "--verify", "HEAD", cwd=checkout)).strip()
    if head not in (old, new):
        raise ValueError(f"{head[:12]} is neither {old[:12]} nor {new[:12]}")
    touched = await _touched(checkout, old, new)
    if not touched:
        return []
    await _reset_index(checkout, head, {t.path for t in touched})
    want = {t.path: (t.new if head == new else t.old) for t in touched}
    found = await _hash_files(checkout, touched)
    write: list[str] = []
    remove: list[str] = []
    kept: list[str] = []
    for t in touched:
        state = found.get(t.path)
        if state == want[t.path]:
            continue
        if state is None or state in (t.old, t.new) or await _partial(checkout, t):
            (write if want[t.path] else remove).append(t.path)
        else:
            kept.append(t.path)
    for chunk in _chunks(write):
        await git("checkout-index", "-f", "-u", "--", *chunk, cwd=checkout)
    await asyncio.to_thread(_remove, checkout, remove)
    await git("update-index", "-q", "--refresh", cwd=checkout, check=False)
    return kept


async def _touched(checkout: Path, old: str, new: str) -> list[_Touched]:
    """The paths (submodules aside) whose blob or mode differs between the commits."""
    out = await git("diff-tree", "-r", "--no-renames", "-z", old, new, cwd=checkout)
    tokens = out.split("\0")
    touched: list[_Touched] = []
    for meta, path in zip(tokens[::2], tokens[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, old_sha, new_sha, _ = meta[1:].split(" ")
        if _GITLINK in (old_mode, new_mode):
            continue
        zero = "0" * len(old_sha)
        touched.append(
            _Touched(
                path,
                None if old_sha == zero else old_sha,
                None if new_sha == zero else new_sha,
                (old_mode, new_mode),
            )
        )
    return touched


async def _reset_index(checkout: Path, commit: str, paths: set[str]) -> None:
    """Index entries of ``paths`` back to ``commit``'s (the files are not touched)."""
    staged = split_z(
        await git(
            "diff-index", "--cached", "-z", "--name-only", "--no-renames", commit, cwd=checkout
        )
    )
    mine = [path for path in staged if path in paths]
    if not mine:
        return
    # Through a file: thousands of paths would not fit on one command line.
    listing = b"".join(path.encode(errors="surrogateescape") + b"\0" for path in mine)
    name = await asyncio.to_thread(_write_temp, listing)
    try:
        await git(
            "reset", "-q", commit, f"--pathspec-from-file={name}", "--pathspec-file-nul",
            cwd=checkout, env=_LITERAL,
        )  # fmt: skip
    finally:
        await asyncio.to_thread(Path(name).unlink, missing_ok=True)


def _write_temp(data: bytes) -> str:
    """A new temporary file holding ``data``; its name (blocking)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".paths", delete=False) as out:
        out.write(data)
    return out.name


async def _hash_files(checkout: Path, touched: list[_Touched]) -> dict[str, str]:
    """What each touched path holds: the blob its file would make; ``"other"`` for
    what the update never writes there (a folder, a symlink where neither side has
    one); absent paths left out. A symlink where a side has one counts as absent: it is
    written again from ``HEAD``."""
    regular: list[str] = []
    found: dict[str, str] = {}
    for t in touched:
        full = checkout / t.path
        if full.is_symlink():
            if _SYMLINK not in t.modes:
                found[t.path] = "other"
        elif full.is_file():
            regular.append(t.path)
        elif full.exists():
            found[t.path] = "other"
    for chunk in _chunks(regular):
        out = await git("hash-object", "--", *chunk, cwd=checkout)
        found.update(zip(chunk, out.split(), strict=True))
    return found


async def _partial(checkout: Path, t: _Touched) -> bool:
    """Whether the file is the beginning of either side's content: the one git was
    writing when it was killed."""
    full = checkout / t.path
    if not full.is_file():
        return False
    data = await asyncio.to_thread(full.read_bytes)
    for blob in (t.old, t.new):
        if blob is None:
            continue
        content = await _blob(checkout, blob)
        if len(data) < len(content) and content.startswith(data):
            return True
    return False


async def _blob(checkout: Path, sha: str) -> bytes:
    """A blob's bytes (git's text output turned back into them)."""
    out = await git("cat-file", "blob", sha, cwd=checkout)
    return out.encode(errors="surrogateescape")


def _remove(checkout: Path, paths: list[str]) -> None:
    """Delete these files, then the folders they leave empty (blocking)."""
    top = checkout.resolve()
    for rel in paths:
        full = checkout / rel
        if full.is_symlink() or full.is_file():
            full.unlink(missing_ok=True)
        parent = full.parent
        while parent.resolve() != top and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                break  # not empty: someone else's files live there
            parent = parent.parent


def _chunks(paths: list[str]) -> list[list[str]]:
    return [paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
