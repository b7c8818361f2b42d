"""The rows the review screen draws for one file of a diff: unified or side by side.

Pure (no widgets): a file becomes a list of rows once; the diff view draws only the rows
in sight, so a huge file costs its rows, not its rendering.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.patch import FilePatch, PatchLine

#: Characters of a line shown; the rest is cut with an ellipsis (a minified file's one
#: 200 kB line must not be measured, wrapped or highlighted whole).
MAX_SHOWN_CHARS = 400


@dataclass(frozen=True)
class Row:
    """One drawn row. ``hunk``/``line`` index the file's hunks and a hunk's lines (None
    for rows that are not a patch line: a hunk header, a note about the file)."""

    kind: str  # info | hunk | context | added | removed | note
    text: str
    hunk: int | None = None
    line: int | None = None
    old_no: int | None = None
    new_no: int | None = None


@dataclass(frozen=True)
class SplitRow:
    """A side-by-side row: the old side and the new side (either may be empty), or a
    full-width row (info, hunk header) in ``left`` alone with ``full`` set."""

    left: Row | None
    right: Row | None
    full: bool = False

    @property
    def rows(self) -> tuple[Row, ...]:
        return tuple(r for r in (self.left, self.right) if r is not None)


def shown(text: str) -> str:
    """A patch line's text as it can be shown: bytes that were not UTF-8 as U+FFFD,
    tabs as spaces, cut at :data:`MAX_SHOWN_CHARS`."""
    if len(text) > MAX_SHOWN_CHARS:
        text = text[:MAX_SHOWN_CHARS] + "…"
    clean = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return clean.expandtabs(4)


def notes(fp: FilePatch) -> list[str]:
    """What the file's hunks do not show: a rename, a mode change, binary content."""
    said = []
    if fp.old_path:
        said.append(f"renamed from {fp.old_path}")
    if fp.old_mode and fp.new_mode and fp.old_mode != fp.new_mode:
        said.append(f"mode {fp.old_mode} → {fp.new_mode}")
    elif fp.new_mode and fp.status == "A":
        said.append(f"new file, mode {fp.new_mode}")
    elif fp.old_mode and fp.status == "D":
        said.append("deleted file")
    if fp.binary:
        said.append("binary content: not shown (x rejects the whole file)")
    elif not fp.hunks and not said:
        said.append("no content change")
    return said


def _row(line: PatchLine, hunk: int, index: int) -> Row:
    return Row(line.kind, shown(line.text), hunk, index, line.old_no, line.new_no)


def unified_rows(fp: FilePatch) -> list[Row]:
    """The file as rows: notes, then each hunk's header and lines."""
    rows = [Row("info", note) for note in notes(fp)]
    for h, hunk in enumerate(fp.hunks):
        rows.append(Row("hunk", hunk.header, h))
        rows += [_row(line, h, i) for i, line in enumerate(hunk.lines)]
    return rows


def split_rows(fp: FilePatch) -> list[SplitRow]:
    """The file side by side: context on both sides, a run of removed lines beside the
    run of added lines that replaced it."""
    rows = [SplitRow(Row("info", note), None, full=True) for note in notes(fp)]
    for h, hunk in enumerate(fp.hunks):
        rows.append(SplitRow(Row("hunk", hunk.header, h), None, full=True))
        removed: list[Row] = []
        added: list[Row] = []
        for i, line in enumerate(hunk.lines):
            row = _row(line, h, i)
            if line.kind == "removed":
                if added:  # a removal after additions starts a new change
                    rows += _paired(removed, added)
                removed.append(row)
            elif line.kind == "added":
                added.append(row)
            else:
                rows += _paired(removed, added)
                rows.append(SplitRow(row, row) if line.kind == "context" else SplitRow(row, None))
        rows += _paired(removed, added)
    return rows


def _paired(removed: list[Row], added: list[Row]) -> list[SplitRow]:
    """Removed lines beside the added lines that replaced them; empties both lists."""
    pairs = [
        SplitRow(removed[k] if k < len(removed) else None, added[k] if k < len(added) else None)
        for k in range(max(len(removed), len(added)))
    ]
    removed.clear()
    added.clear()
    return pairs


def fuzzy_pick(query: str, paths: list[str]) -> str | None:
    """The path best matching ``query`` typed loosely: its letters in order (case
    ignored), preferring a match in the file's name, then tighter, then shorter paths."""
    wanted = query.lower().replace(" ", "")
    best: tuple[tuple[int, int, int], str] | None = None
    for path in paths:
        spread = _spread(wanted, path.lower())
        if spread is None:
            continue
        name = path.rsplit("/", 1)[-1].lower()
        in_name = 0 if _spread(wanted, name) is not None else 1
        score = (in_name, spread, len(path))
        if best is None or score < best[0]:
            best = (score, path)
    return best[1] if best else None


def _spread(wanted: str, text: str) -> int | None:
    """How far apart ``wanted``'s letters lie in ``text`` (None: not all there, in order)."""
    start = pos = -1
    for char in wanted:
        pos = text.find(char, pos + 1)
        if pos < 0:
            return None
        if start < 0:
            start = pos
    return pos - start
