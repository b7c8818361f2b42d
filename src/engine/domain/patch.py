"""git's unified diffs as values: files, hunks and lines, for the inline review screen.

:func:`parse_patch` reads the output of ``git diff --no-color --no-ext-diff -M <a> <b>``
(decoded with ``errors="surrogateescape"``), looking at each line once. Hunks can be cut down to some of
their changes (:meth:`Hunk.partial`) and written back out (:meth:`FilePatch.patch`) as
input for ``git apply``; encoded with ``surrogateescape`` again, bytes that are not UTF-8
reach git unchanged.

Everything here is anchored on the *new* side of the diff: the worktree a review looks at
is at the new version, and undoing a change there is ``git apply -R`` of a patch whose new
side is exactly that text. Pure values: nothing here does I/O.

Paths are read with git's default ``a/`` and ``b/`` prefixes (``diff.noprefix`` or
``diff.mnemonicPrefix`` in a user's config would change them: the caller should pass
``--src-prefix=a/ --dst-prefix=b/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import Literal

#: What a line of a hunk is. ``note`` is git's "\\ No newline at end of file": the line
#: before it has no newline at the end of the file (on that line's side(s)).
LineKind = Literal["context", "added", "removed", "note"]

#: How a file changed: Added (a copy too), Modified, Deleted, Renamed (possibly edited),
#: or Type change — only its mode changed (e.g. +x), or it became a symlink (or back).
PatchStatus = Literal["A", "M", "D", "R", "T"]

# The only regex: one per hunk, never per line. A count git leaves out is 1.
_HUNK_HEADER = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(?: (.*))?\Z", re.S)

# git's C-style quoting of paths (quote_c_style): these escapes, and \ooo for the bytes.
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
_OCTAL = frozenset("01234567")

#: The note's text after the "\\ " marker, as git prints it.
NO_NEWLINE = "No newline at end of file"


@dataclass(frozen=True)
class PatchLine:
    """One line of a hunk: its kind, its text (without the ``+``/``-``/space marker and
    without the newline) and its 1-based number in the old and new file (None on the side
    it is not on; both None for a note)."""

    kind: LineKind
    text: str
    old_no: int | None
    new_no: int | None

    @property
    def marker(self) -> str:
        """What git puts before the line's text: one character, or "\\ " for a note."""
        return _MARKERS[self.kind]


# A note's text is what follows its "\ " (NO_NEWLINE).
_MARKERS: dict[str, str] = {"context": " ", "added": "+", "removed": "-", "note": "\\ "}

# Building every line through the frozen dataclass' __init__ (one object.__setattr__ call
# per field) is most of a big diff's parse time; filling the instance dict directly makes
# the same object for half the cost.
_new_object = object.__new__


def _line(kind: LineKind, text: str, old_no: int | None, new_no: int | None) -> PatchLine:
    """``PatchLine(kind, text, old_no, new_no)``, made without its ``__init__``."""
    line = _new_object(PatchLine)
    fields = line.__dict__
    fields["kind"] = kind
    fields["text"] = text
    fields["old_no"] = old_no
    fields["new_no"] = new_no
    return line


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` block: its ranges in the old and new file, the function context git
    printed after the second ``@@`` (``section``, may be "") and its lines."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str
    lines: tuple[PatchLine, ...]

    @property
    def header(self) -> str:
        """The ``@@ -a,b +c,d @@ section`` line, rebuilt from the numbers (a count of 1
        is left out, as git does)."""
        return _header(self.old_start, self.old_count, self.new_start, self.new_count, self.section)

    def text(self) -> str:
        """The hunk as git prints it: its header, then every line with its marker, each
        ending in a newline."""
        return self._text(self.old_start)

    def _text(self, old_start: int) -> str:
        head = _header(old_start, self.old_count, self.new_start, self.new_count, self.section)
        body = "".join([_MARKERS[line.kind] + line.text + "\n" for line in self.lines])
        return head + "\n" + body

    @property
    def changes(self) -> tuple[int, ...]:
        """The indexes in ``lines`` of the added and removed lines."""
        return tuple(i for i, line in enumerate(self.lines) if line.kind in _CHANGE_KINDS)

    def partial(self, selected: set[int]) -> Hunk | None:
        """This hunk keeping only the changes at the ``selected`` indexes of ``lines``
        (partial staging, as lazygit does it); None when none of them is a change.

        Its new side is this hunk's new side, unchanged: unselected added lines become
        context, unselected removed lines are dropped. So ``git apply -R`` of it, in a
        file at the new version, undoes exactly the selected changes. The old range is
        recounted and placed where it stands in the file once only this hunk is undone.
        """
        if not any(
            0 <= i < len(self.lines) and self.lines[i].kind in _CHANGE_KINDS for i in selected
        ):
            return None
        kept = _keep_selected(self.lines, selected)
        old_count = sum(1 for line in kept if line.kind in _OLD_KINDS)
        # The lines before the hunk are the same on both sides, so the old range starts
        # where the new one does (git numbers an empty range by the line before it).
        old_start = _old_start(self.new_start, self.new_count, old_count, shift=0)
        return Hunk(
            old_start=old_start,
            old_count=old_count,
            new_start=self.new_start,
            new_count=self.new_count,
            section=self.section,
            lines=_number_old_side(kept, old_start if old_count else old_start + 1),
        )


_CHANGE_KINDS = frozenset(("added", "removed"))
_OLD_KINDS = frozenset(("context", "removed"))


def _header(old_start: int, old_count: int, new_start: int, new_count: int, section: str) -> str:
    old = f"{old_start}" if old_count == 1 else f"{old_start},{old_count}"
    new = f"{new_start}" if new_count == 1 else f"{new_start},{new_count}"
    return f"@@ -{old} +{new} @@" + (f" {section}" if section else "")


def _old_start(new_start: int, new_count: int, old_count: int, shift: int) -> int:
    """Where the old range starts when the new one is at ``new_start`` and the hunks
    before it add ``shift`` lines to the old side. An empty range is numbered by the line
    before it (``@@ -0,0 +1,3 @@``), so the first line's position is worked out first."""
    first = (new_start if new_count else new_start + 1) + shift
    return first if old_count else first - 1


def _keep_selected(lines: tuple[PatchLine, ...], selected: set[int]) -> list[PatchLine]:
    """The lines of a partial hunk (old numbers still the original ones)."""
    kept: list[PatchLine] = []
    previous_kept = False
    for index, line in enumerate(lines):
        kind = line.kind
        if kind == "note":
            # A note belongs to the line before it: it goes where that line goes.
            if previous_kept:
                kept.append(line)
            continue
        previous_kept = True
        if kind == "added" and index not in selected:
            kept.append(_line("context", line.text, line.old_no, line.new_no))
        elif kind == "removed" and index not in selected:
            previous_kept = False
        else:
            kept.append(line)
    return _drop_stale_notes(kept)


def _drop_stale_notes(lines: list[PatchLine]) -> list[PatchLine]:
    """Drop a note after a removed line that is no longer the old side's last line.

    git marks the old file's last line as having no newline. Once an unselected added
    line after it has become context, that line is not last any more: restoring it must
    give it its newline back, or it would run into the next line.
    """
    last_context = max((i for i, line in enumerate(lines) if line.kind == "context"), default=-1)
    return [
        line
        for i, line in enumerate(lines)
        if not (line.kind == "note" and lines[i - 1].kind == "removed" and i < last_context)
    ]


def _number_old_side(lines: list[PatchLine], first: int) -> tuple[PatchLine, ...]:
    """``lines`` with their old line numbers counted again from ``first``."""
    out: list[PatchLine] = []
    old_no = first
    for line in lines:
        if line.kind in _OLD_KINDS:
            if line.old_no != old_no:
                line = _line(line.kind, line.text, old_no, line.new_no)
            old_no += 1
        out.append(line)
    return tuple(out)


@dataclass(frozen=True)
class FilePatch:
    """One file's part of a diff.

    ``path`` is the new path (the old one for a deletion); ``old_path`` is set for renames
    and copies only. ``old_mode``/``new_mode`` are the modes git printed (a mode line, or
    the mode at the end of the ``index`` line when it did not change); None on the side
    that does not exist, and when git printed none (a pure rename). ``header`` holds the
    file's lines before its first hunk, as git printed them. A binary file has no hunks.
    ``body`` is the file's hunks as git printed them (from its first ``@@`` line): they
    are parsed into :attr:`hunks` when first asked for, and :attr:`added` and
    :attr:`removed` are counted in the text until then, so a list of a big diff's files
    costs a pass of ``str.count`` per file, not a parse.

    A type change (a file becoming a symlink, or back) comes from git as a deletion and a
    creation of the same path: they are one ``FilePatch`` here, with both headers in
    ``header``, both hunks in ``hunks`` and the two sections kept in ``parts`` so that
    :meth:`patch` writes them out as git did.
    """

    path: str
    old_path: str | None
    status: PatchStatus
    binary: bool
    old_mode: str | None
    new_mode: str | None
    header: tuple[str, ...]
    body: str = field(default="", repr=False)
    parts: tuple[FilePatch, ...] = ()

    @cached_property
    def hunks(self) -> tuple[Hunk, ...]:
        """The file's hunks (parsed from ``body`` the first time; ``ValueError`` when
        a hunk is malformed)."""
        if self.parts:
            return tuple(hunk for part in self.parts for hunk in part.hunks)
        return _parse_hunks(self.body)

    @cached_property
    def added(self) -> int:
        """How many lines the new side has that the old one has not."""
        return self._count("added", "\n+")

    @cached_property
    def removed(self) -> int:
        """How many lines the old side has that the new one has not."""
        return self._count("removed", "\n-")

    def _count(self, kind: LineKind, marker: str) -> int:
        if self.parts:
            return sum(part._count(kind, marker) for part in self.parts)
        if "hunks" in self.__dict__:
            return sum(1 for hunk in self.hunks for line in hunk.lines if line.kind == kind)
        # In a hunk's text every line after its "@@" line starts with its marker (and
        # the ---/+++ lines are in the header, not the body).
        return self.body.count(marker)

    def patch(self, hunks: Iterable[Hunk] | None = None) -> str:
        """The file's header and the given hunks (all of them by default), for ``git apply``.

        The hunks are written in file order, their old ranges renumbered as if only these
        hunks were in the diff, so the text is exactly the change from "the new version
        with these hunks undone" to the new version: what ``git apply -R`` in a worktree
        at the new version needs. With every hunk, that is git's own numbering.
        """
        chosen = self.hunks if hunks is None else tuple(hunks)
        if self.parts:
            # The deletion's hunks leave nothing on the new side; the creation's all do.
            gone, made = self.parts
            return gone.patch(h for h in chosen if not h.new_count) + made.patch(
                h for h in chosen if h.new_count
            )
        out = [line + "\n" for line in self.header]
        shift = 0
        for hunk in sorted(chosen, key=lambda h: h.new_start):
            out.append(
                hunk._text(_old_start(hunk.new_start, hunk.new_count, hunk.old_count, shift))
            )
            shift += hunk.old_count - hunk.new_count
        return "".join(out)


def parse_patch(text: str, lazy: bool = False) -> list[FilePatch]:
    """Parse the output of ``git diff`` (two trees, ``-M``) into its files, in git's order.

    Anything before the first ``diff --git`` line (a commit message, say) is skipped, as
    is anything after a file's last hunk that is not hunk content. A hunk cut short or a
    malformed ``@@`` line is a ``ValueError``: here, or with ``lazy`` (each file's hunks
    parsed when first used, for a screen that shows one file at a time) from that file's
    :attr:`FilePatch.hunks`.
    """
    # Sections and hunks are found with str.find over the whole text (no Python code per
    # line): a content line starts with " ", "+", "-" or "\\", so a line starting with
    # "diff --git " or "@@ " is always a boundary.
    size = len(text)
    files: list[FilePatch] = []
    start = _line_starting(text, "diff --git ", 0, size)
    while start < size:
        stop = _line_starting(text, "diff --git ", start + 1, size)
        files.append(_parse_file(text, start, stop))
        start = stop
    if not lazy:
        for fp in files:
            fp.hunks  # noqa: B018 -- parsed now, so a malformed hunk raises here
    return _join_type_changes(files)


def _line_starting(text: str, prefix: str, pos: int, stop: int) -> int:
    """Where the first line starting with ``prefix`` at or after ``pos`` (and before
    ``stop``) begins; ``stop`` if there is none."""
    if text.startswith(prefix, pos) and (pos == 0 or text[pos - 1] == "\n"):
        return pos
    found = text.find("\n" + prefix, pos, stop)
    return stop if found < 0 else found + 1


def _lines(text: str, start: int, stop: int) -> list[str]:
    """The lines of ``text[start:stop]`` without their newlines. Only "\\n" ends a line:
    a "\\r" or a form feed inside a line is content (``splitlines`` would split there)."""
    lines = text[start:stop].split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _parse_file(text: str, start: int, stop: int) -> FilePatch:
    """The file whose section is ``text[start:stop]`` (from its ``diff --git`` line);
    its hunks are kept as text."""
    at = _line_starting(text, "@@ ", start, stop)
    return _file_patch(_lines(text, start, at), text[at:stop])


def _parse_hunks(body: str) -> tuple[Hunk, ...]:
    """The hunks of a file's ``body`` (its text from its first ``@@`` line)."""
    hunks: list[Hunk] = []
    at, stop = 0, len(body)
    while at < stop:
        end = _line_starting(body, "@@ ", at + 1, stop)
        hunks.append(_parse_hunk(_lines(body, at, end)))
        at = end
    return tuple(hunks)


def _parse_hunk(lines: list[str]) -> Hunk:
    """The hunk whose ``@@`` line is ``lines[0]`` and whose content follows.

    The content is read in one quick pass, then checked against the header's counts.
    Only when they disagree (a trailing "-- " signature taken for a removed line, or a
    hunk cut short) is it read again, strictly by the counts.
    """
    match = _HUNK_HEADER.match(lines[0])
    if match is None:
        raise ValueError(f"malformed hunk header: {lines[0]!r}")
    old_start, old_count, new_start, new_count, section = match.groups()
    old_start, new_start = int(old_start), int(new_start)
    old_count = 1 if old_count is None else int(old_count)
    new_count = 1 if new_count is None else int(new_count)
    # git numbers an empty range by the line before it.
    old_first = old_start if old_count else old_start + 1
    new_first = new_start if new_count else new_start + 1
    body, old_end, new_end = _read_body(lines, old_first, new_first)
    if old_end - old_first != old_count or new_end - new_first != new_count:
        body = _read_counted(lines, old_first, new_first, old_count, new_count)
    return Hunk(old_start, old_count, new_start, new_count, section or "", body)


def _read_body(
    lines: list[str], old_no: int, new_no: int
) -> tuple[tuple[PatchLine, ...], int, int]:
    """The hunk lines of ``lines[1:]`` up to the first one that is not hunk content, and
    the old and new line numbers after them.

    This loop runs once per line of the whole diff: the lines are made in place (see
    ``_line``) rather than through a call, and everything it uses is a local.
    """
    out: list[PatchLine] = []
    append = out.append
    new = _new_object
    cls = PatchLine
    for line in islice(lines, 1, None):
        marker = line[:1]
        if marker == "+":
            item = new(cls)
            fields = item.__dict__
            fields["kind"] = "added"
            fields["text"] = line[1:]
            fields["old_no"] = None
            fields["new_no"] = new_no
            new_no += 1
        elif marker == "-":
            item = new(cls)
            fields = item.__dict__
            fields["kind"] = "removed"
            fields["text"] = line[1:]
            fields["old_no"] = old_no
            fields["new_no"] = None
            old_no += 1
        elif marker == " " or not line:
            # An empty line is an empty context line (git's diff.suppressBlankEmpty).
            item = new(cls)
            fields = item.__dict__
            fields["kind"] = "context"
            fields["text"] = line[1:]
            fields["old_no"] = old_no
            fields["new_no"] = new_no
            old_no += 1
            new_no += 1
        elif marker == "\\":
            item = _line("note", line[2:], None, None)
        else:
            break
        append(item)
    return tuple(out), old_no, new_no


def _read_counted(
    lines: list[str], old_no: int, new_no: int, old_count: int, new_count: int
) -> tuple[PatchLine, ...]:
    """The hunk lines of ``lines[1:]``, exactly as many as the counts say (and the notes
    right after the last one); a ``ValueError`` if the hunk ends before."""
    out: list[PatchLine] = []
    old_left, new_left = old_count, new_count
    i = 1
    while old_left > 0 or new_left > 0 or (i < len(lines) and lines[i][:1] == "\\"):
        if i >= len(lines):
            raise ValueError(f"hunk cut short: {lines[0]!r} has {len(lines) - 1} lines")
        line = lines[i]
        marker = line[:1]
        if marker == "+" and new_left > 0:
            out.append(_line("added", line[1:], None, new_no))
            new_no, new_left = new_no + 1, new_left - 1
        elif marker == "-" and old_left > 0:
            out.append(_line("removed", line[1:], old_no, None))
            old_no, old_left = old_no + 1, old_left - 1
        elif (marker == " " or not line) and old_left > 0 and new_left > 0:
            out.append(_line("context", line[1:], old_no, new_no))
            old_no, new_no = old_no + 1, new_no + 1
            old_left, new_left = old_left - 1, new_left - 1
        elif marker == "\\":
            out.append(_line("note", line[2:], None, None))
        else:
            raise ValueError(f"unexpected line in hunk {lines[0]!r}: {line[:80]!r}")
        i += 1
    return tuple(out)


def _file_patch(header: list[str], body: str) -> FilePatch:
    """One file's section from its header lines (``diff --git`` first) and its hunks'
    text."""
    found = _read_header(header)
    git_old, git_new = _git_line_paths(header[0][len("diff --git ") :])
    # The rename/copy lines and the ---/+++ lines name each side unambiguously; the
    # "diff --git" line is the fallback (binary files, mode changes, empty new files).
    old = found.get("rename from") or found.get("copy from") or found.get("---") or git_old
    new = found.get("rename to") or found.get("copy to") or found.get("+++") or git_new
    old_mode = found.get("deleted file mode") or found.get("old mode") or found.get("index mode")
    new_mode = found.get("new file mode") or found.get("new mode") or found.get("index mode")
    binary = "binary" in found
    status: PatchStatus = "M"
    if "deleted file mode" in found:
        status = "D"
    elif "new file mode" in found or "copy to" in found:
        status = "A"
    elif "rename to" in found:
        status = "R"
    elif "old mode" in found and not body and not binary:
        status = "T"
    moved = "rename to" in found or "copy to" in found
    return FilePatch(
        path=old if status == "D" else new,
        old_path=old if moved else None,
        status=status,
        binary=binary,
        old_mode=old_mode,
        new_mode=new_mode,
        header=tuple(header),
        body=body,
    )


# Extended header lines whose value is a mode or a path without prefix.
_MODE_LINES = ("old mode ", "new mode ", "deleted file mode ", "new file mode ")
_NAME_LINES = ("rename from ", "rename to ", "copy from ", "copy to ")


def _read_header(header: list[str]) -> dict[str, str]:
    """What a file's header lines say, keyed by the line's leading words ("---",
    "rename from", "index mode" for the mode on the ``index`` line, "binary")."""
    found: dict[str, str] = {}
    for line in header[1:]:
        if line.startswith(("--- ", "+++ ")):
            path = _label_path(line[4:])
            if path is not None:
                found[line[:3]] = path
        elif line.startswith(_MODE_LINES):
            key, _, mode = line.rpartition(" ")
            found[key] = mode
        elif line.startswith(_NAME_LINES):
            key = line[: line.index(" ", line.index(" ") + 1)]
            found[key] = _unquoted(line[len(key) + 1 :])
        elif line.startswith("index "):
            # "index abc..def 100644": the mode, printed there when it did not change.
            parts = line.split(" ")
            if len(parts) == 3:
                found["index mode"] = parts[2]
        elif line.startswith("Binary files ") or line == "GIT binary patch":
            found["binary"] = ""
            # What follows "GIT binary patch" is encoded data, not header lines.
            break
    return found


def _label_path(label: str) -> str | None:
    """The path on a ``---``/``+++`` line, without its ``a/``/``b/`` prefix (None for
    /dev/null). git ends the line with a tab when the name has a space in it (for GNU
    patch); a real tab in a name would have been quoted."""
    if label.endswith("\t"):
        label = label[:-1]
    if label == "/dev/null":
        return None
    return _unquoted(label)[2:]


def _git_line_paths(rest: str) -> tuple[str, str]:
    """The two paths of a ``diff --git a/… b/…`` line, without their prefixes.

    Unquoted names may contain spaces, so the split is ambiguous in general; but this
    line is only relied on when both sides name the same file, and then the two halves
    are the same length.
    """
    if rest.startswith('"'):
        old, after = _read_quoted(rest, 0)
        new = _unquoted(rest[after + 1 :])
    elif rest.endswith('"'):
        # An unquoted name has no '"' in it (git would have quoted it).
        at = rest.index(' "')
        old, new = rest[:at], _unquoted(rest[at + 1 :])
    else:
        half = (len(rest) - 1) // 2
        if rest[half : half + 1] == " " and rest[2:half] == rest[half + 3 :]:
            old, new = rest[:half], rest[half + 1 :]
        else:
            at = rest.find(" b/")
            old, new = (rest[:at], rest[at + 1 :]) if at >= 0 else (rest, rest)
    return old[2:], new[2:]


def _unquoted(name: str) -> str:
    """``name`` itself, or the real name if git quoted it (``"t\\303\\251st.txt"``)."""
    return _read_quoted(name, 0)[0] if name.startswith('"') else name


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The name quoted C-style at ``text[start]`` (a '"') and the index of its closing
    quote. Escaped bytes that are not UTF-8 come back as surrogates, as the rest of the
    diff does, so the name goes back to git unchanged."""
    raw = bytearray()
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return raw.decode("utf-8", "surrogateescape"), i
        if char != "\\":
            raw += char.encode("utf-8", "surrogateescape")
            i += 1
        elif text[i + 1 : i + 2] in _OCTAL:
            raw.append(int(text[i + 1 : i + 4], 8))
            i += 4
        elif text[i + 1 : i + 2] in _ESCAPES:
            raw.append(_ESCAPES[text[i + 1]])
            i += 2
        else:  # not an escape git writes: keep the backslash as it is
            raw.append(ord("\\"))
            i += 1
    raise ValueError(f"unterminated quoted name: {text[start:]!r}")


def _join_type_changes(files: list[FilePatch]) -> list[FilePatch]:
    """Make one ``T`` entry of each deletion directly followed by a creation of the same
    path as another type of file: that is how git prints a file becoming a symlink."""
    out: list[FilePatch] = []
    for fp in files:
        gone = out[-1] if out else None
        if (
            gone is not None
            and gone.status == "D"
            and fp.status == "A"
            and gone.path == fp.path
            and gone.old_mode is not None
            and fp.new_mode is not None
            and _file_type(gone.old_mode) != _file_type(fp.new_mode)
        ):
            out[-1] = FilePatch(
                path=fp.path,
                old_path=None,
                status="T",
                binary=gone.binary or fp.binary,
                old_mode=gone.old_mode,
                new_mode=fp.new_mode,
                header=gone.header + fp.header,
                parts=(gone, fp),
            )
        else:
            out.append(fp)
    return out


def _file_type(mode: str) -> str:
    """The type part of a git mode: "10" (file), "12" (symlink), "16" (submodule)."""
    return mode[:-4]
