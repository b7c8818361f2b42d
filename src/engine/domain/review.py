"""A review in progress: the human's decisions on a run's diff and their comments, and
what the decisions mean for git.

Undecided changes count as accepted: approving merges everything not rejected. A
rejected hunk, a rejected range of lines in a hunk, or a rejected file becomes a patch
to reverse-apply (or a file to restore from the base) — see :meth:`Decisions.plan`.
Pure: the review service carries the plan out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.domain.patch import FilePatch, Hunk

# What the engine's API names of a review, in a module of their own: a client that
# starts need not load the rest (nor the patch parser) to know them.
from engine.domain.review_terms import WHOLE_RUN, Approval, Span

__all__ = [
    "WHOLE_RUN",
    "Approval",
    "Comment",
    "Decisions",
    "FileDecisions",
    "Plan",
    "Span",
    "Verdict",
    "comments_message",
]

#: What can be said about one change: nothing yet, accepted or rejected.
Verdict = str | None


@dataclass(frozen=True)
class Comment:
    """A review comment on a line of a file (``line`` in the new file; None for a
    comment on a whole hunk or file), sent to the agent with the others."""

    path: str
    line: int | None
    text: str


@dataclass
class FileDecisions:
    """One file's decisions."""

    #: The whole file: "accepted", "rejected" or None (decided hunk by hunk).
    whole: Verdict = None
    #: Hunks decided as a whole, by index.
    hunks: dict[int, str] = field(default_factory=dict)
    #: Lines rejected inside a hunk (indexes into ``Hunk.lines``), by hunk index.
    rejected_lines: dict[int, set[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """Decisions turned into git work: patches to reverse-apply, files to restore from
    the base, and a summary for the commit message ("" when nothing is rejected)."""

    patches: list[str]
    restored: list[str]
    summary: str


class Decisions:
    """Every decision and comment of one review."""

    def __init__(self) -> None:
        self.files: dict[str, FileDecisions] = {}
        self.comments: list[Comment] = []

    def _of(self, path: str) -> FileDecisions:
        return self.files.setdefault(path, FileDecisions())

    def decide_file(self, path: str, verdict: str) -> None:
        """Accept or reject a whole file (hunk and line decisions in it are dropped)."""
        self.files[path] = FileDecisions(whole=verdict)

    def decide_hunk(self, path: str, hunk: int, verdict: str) -> None:
        """Accept or reject one hunk (its line decisions are dropped)."""
        decisions = self._of(path)
        if decisions.whole is not None:
            # Deciding a hunk of a decided file: the file's verdict now holds per hunk.
            decisions.whole = None
        decisions.hunks[hunk] = verdict
        decisions.rejected_lines.pop(hunk, None)

    def decide_lines(
        self, path: str, hunk: Hunk, index: int, lines: set[int], verdict: str
    ) -> None:
        """Reject (or accept again) some lines of hunk number ``index``; only its changed
        lines count."""
        decisions = self._of(path)
        decisions.whole = None
        changes = {i for i, line in enumerate(hunk.lines) if line.kind in ("added", "removed")}
        rejected = decisions.rejected_lines.setdefault(index, set())
        if decisions.hunks.pop(index, None) == "rejected":
            rejected |= changes  # the hunk was rejected whole: now line by line
        if verdict == "rejected":
            rejected |= lines & changes
        else:
            rejected -= lines

    def verdict(self, path: str, hunk: int | None = None, line: int | None = None) -> Verdict:
        """The decision covering a file, a hunk or a line (the most specific one)."""
        decisions = self.files.get(path)
        if decisions is None:
            return None
        if decisions.whole is not None or hunk is None:
            return decisions.whole
        if line is not None and line in decisions.rejected_lines.get(hunk, set()):
            return "rejected"
        if hunk in decisions.hunks:
            return decisions.hunks[hunk]
        return None

    def comment(self, path: str, line: int | None, text: str) -> None:
        """Add a comment (blank ones are ignored)."""
        if text.strip():
            self.comments.append(Comment(path, line, text.strip()))

    def rejected_in(self, path: str) -> int:
        """Rejected parts of one file (the whole file counts as one)."""
        decisions = self.files.get(path)
        if decisions is None:
            return 0
        if decisions.whole == "rejected":
            return 1
        hunks = sum(v == "rejected" for v in decisions.hunks.values())
        return hunks + sum(bool(lines) for lines in decisions.rejected_lines.values())

    def counts(self) -> tuple[int, int]:
        """(rejected hunks or line ranges or files, comments), for the screen's header."""
        return sum(self.rejected_in(path) for path in self.files), len(self.comments)

    def plan(self, files: list[FilePatch]) -> Plan:
        """The git work that carries out every rejection in ``files`` (a diff of the whole
        run against its base)."""
        patches: list[str] = []
        restored: list[str] = []
        said: list[str] = []
        for fp in files:
            decisions = self.files.get(fp.path)
            if decisions is None:
                continue
            if decisions.whole == "rejected" or (
                fp.binary and "rejected" in decisions.hunks.values()
            ):
                # Restoring from the base undoes anything: binary, renames, mode changes.
                restored += [fp.path] + ([fp.old_path] if fp.old_path else [])
                said.append(fp.path)
                continue
            chosen = _rejected_hunks(fp, decisions)
            if chosen:
                patches.append(fp.patch(chosen))
                said.append(f"{len(chosen)} hunk(s) in {fp.path}")
        return Plan(patches, restored, ", ".join(said))


def _rejected_hunks(fp: FilePatch, decisions: FileDecisions) -> list[Hunk]:
    chosen: list[Hunk] = []
    for index, hunk in enumerate(fp.hunks):
        if decisions.hunks.get(index) == "rejected":
            chosen.append(hunk)
            continue
        lines = decisions.rejected_lines.get(index)
        if lines:
            part = hunk.partial({i for i in lines if i < len(hunk.lines)})
            if part is not None:
                chosen.append(part)
    return chosen


def comments_message(comments: list[tuple[str, int | None, str]]) -> str:
    """Review comments — (path, line or None, text) — as one steering message."""
    lines = ["Address these review comments, then say what you changed:"]
    for path, line, text in comments:
        where = f"{path}:{line}" if line else path
        lines.append(f"- {where}: {text}")
    return "\n".join(lines)
