"""Path globs (``**/*.py``, ``src/*``) matched against a list of a repo's files, as
:meth:`pathlib.Path.glob` would match them on disk, without touching the disk: the list
comes from git, so a huge checkout is never walked and ``.git`` is never in it."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Separates the candidates in the one string a glob's regex scans (never in a path).
_SEP = "\0"
_NAME_CHAR = "[^/\0]"


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex finding the paths ``pattern`` matches, each candidate being written with a
    trailing ``/`` and separated by NUL: ``**`` is any number of folders (none too),
    ``*``, ``?`` and ``[…]`` stay within one name."""
    parts = [part for part in pattern.split("/") if part not in ("", ".")]
    body = "".join(
        f"(?:{_NAME_CHAR}+/)*" if part == "**" else _translate(part) + "/" for part in parts
    )
    return re.compile(f"(?:^|(?<={_SEP})){body}(?={_SEP}|$)")


def _translate(name: str) -> str:
    """One name of a glob (no ``/``) as a regex that never crosses a ``/``."""
    out: list[str] = []
    i, n = 0, len(name)
    while i < n:
        char = name[i]
        i += 1
        if char == "*":
            out.append(f"{_NAME_CHAR}*")
        elif char == "?":
            out.append(_NAME_CHAR)
        elif char == "[":
            # As fnmatch: a "]" right after "[" or "[!" is part of the set.
            end = i + (1 if name[i : i + 1] == "!" else 0)
            end = name.find("]", end + (1 if name[end : end + 1] == "]" else 0))
            if end < 0:
                out.append(re.escape(char))
                continue
            # Set operators a later Python may read ("[", "&&", "~~", "||") are escaped.
            chars = re.sub(r"([\\\[&~|])", r"\\\1", name[i:end])
            i = end + 1
            if chars.startswith("!"):
                chars = "^" + chars[1:]
            elif chars.startswith("^"):
                chars = "\\" + chars
            out.append(f"(?![/\0])[{chars}]")
        else:
            out.append(re.escape(char))
    return "".join(out)


class RepoFiles:
    """A repo's files (relative, ``/``-separated), and the folders holding them, to match
    path globs against."""

    def __init__(self, files: Iterable[str]) -> None:
        names = [f for f in files if f]
        folders: set[str] = set()
        for path in names:
            cut = path.rfind("/")
            # A folder already known has its parents known too.
            while cut > 0 and path[: cut + 1] not in folders:
                folders.add(path[: cut + 1])
                cut = path.rfind("/", 0, cut)
        # One string scanned by one regex per glob: matching 30,000 paths stays in C.
        self._text = _SEP.join([*(f"{name}/" for name in names), *sorted(folders)])

    def match(self, pattern: str) -> bool:
        """Whether a file, or a folder holding files, matches the path glob ``pattern``."""
        return bool(self._text) and glob_regex(pattern).search(self._text) is not None
