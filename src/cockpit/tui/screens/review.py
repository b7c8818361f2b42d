"""The review screen: a finished run's diff file by file, decided by keyboard.

Files on the left (status, +/- counts, gate findings), the selected file's diff on the
right (unified or side by side). Accept or reject a hunk, a file or a selected range
of lines; comment on a line; then approve (rejected parts are reverted in the run's
branch first, as a commit that says so, then the branch is merged), send the comments
back to the agent (the run continues), or reject the whole run (its work is salvaged).

A run already decided (approved, merged or not, or rejected) opens read-only: its
decision, its merge commit and its diff from the turn snapshots, without the keys that
decide. A run whose changes the base already has says so as the screen opens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Static

from cockpit.client import EngineClient
from cockpit.tui.diff_lines import flags_by_file
from cockpit.tui.model import RunView
from cockpit.tui.review_rows import Row, fuzzy_pick
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.palette import ScreenCommands
from cockpit.tui.widgets.diff_view import DiffView
from cockpit.tui.widgets.file_list import FileList
from cockpit.tui.widgets.glyphs import colour, update_if_changed
from engine.domain.errors import CockpitError, GatesRed
from engine.domain.models import Run
from engine.domain.patch import FilePatch, parse_patch
from engine.domain.review import Decisions, Span, comments_message

STATUS_COLOUR = {"A": "success", "D": "error", "M": "warning", "R": "accent", "T": "secondary"}

#: Actions that decide the run (or prepare a decision): not offered once it is decided.
DECIDING = {
    "approve",
    "discard",
    "send_comments",
    "comment",
    "decide",
    "decide_file",
    "select",
}

KEYS = (
    "]/[ file · n/N hunk · f finding · / jump · s side by side · t turn · T whole run"
    "\nv select · a/x accept/reject (A/X file) · c comment · C send comments ·"
    " M approve (S squashed) · D reject run · q close · ? keys"
)
READ_ONLY_KEYS = (
    "]/[ file · n/N hunk · f finding · / jump · s side by side · t turn · T whole run"
    "\nread-only: the run is decided · q close · ? keys"
)


class ReviewScreen(Screen[str | None]):
    """Review one run; dismisses with a one-line outcome to notify (or None)."""

    HELP_GROUP = "Review"
    CSS_PATH = "review.tcss"
    #: The palette offers every bound action (cockpit.tui.screens.palette).
    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("q,escape", "close", "Close", id="review.close"),
        Binding("right_square_bracket", "file(1)", "Next file", id="review.next_file"),
        Binding("left_square_bracket", "file(-1)", "Prev file", id="review.prev_file"),
        Binding("n", "hunk(1)", "Next hunk", id="review.next_hunk"),
        Binding("N", "hunk(-1)", "Prev hunk", show=False, id="review.prev_hunk"),
        Binding("f", "finding(1)", "Next finding", show=False, id="review.next_finding"),
        Binding("F", "finding(-1)", "Prev finding", show=False, id="review.prev_finding"),
        Binding("slash", "jump", "Jump to file", show=False, id="review.jump"),
        Binding("v", "select", "Select lines", show=False, id="review.select"),
        Binding("a", "decide('accepted')", "Accept", id="review.accept"),
        Binding("x", "decide('rejected')", "Reject", id="review.reject"),
        Binding("A", "decide_file('accepted')", "Accept file", show=False, id="review.accept_file"),
        Binding("X", "decide_file('rejected')", "Reject file", show=False, id="review.reject_file"),
        Binding("c", "comment", "Comment", id="review.comment"),
        Binding("C", "send_comments", "Send comments", show=False, id="review.send"),
        Binding("s", "side_by_side", "Side by side", show=False, id="review.split"),
        Binding("t", "turn(1)", "Next turn", show=False, id="review.turn"),
        Binding("T", "whole_run", "Whole run", show=False, id="review.whole"),
        Binding("w", "compare", "Compare turns", show=False, id="review.compare"),
        Binding("M", "approve", "Approve", id="review.approve"),
        Binding("S", "approve(True)", "Approve squashed", show=False, id="review.squash"),
        Binding("D", "discard", "Reject run", show=False, id="review.discard"),
        Binding("tab", "switch_focus", "Files/diff", show=False, id="review.focus"),
    ]

    def __init__(self, client: EngineClient, view: RunView) -> None:
        super().__init__()
        self.client = client
        self.view = view
        self.run_id = view.run.id
        self.files: list[FilePatch] = []
        self.decisions = Decisions()
        self.span = Span()
        self.index = 0
        #: What the input box is for: "comment" or "jump" (None: hidden).
        self._asking: str | None = None
        #: The base already has every change of the (undecided) run: approving merges
        #: nothing (None: not known yet).
        self.in_base: bool | None = None
        #: The first diff, read from git while the screen is built (git's time overlaps
        #: the screen's first layout).
        self._reading: asyncio.Task[tuple[Run, str]] | None = asyncio.ensure_future(
            client.review_patch(self.run_id, self.span, known=view.run)
        )
        #: The run's repo as configured (its base branch, how it merges), read beside it.
        self._repo: asyncio.Task[tuple[str, str]] = asyncio.ensure_future(
            _repo_settings(client, view.run.repo)
        )

    def compose(self) -> ComposeResult:
        yield Static(id="review-title")
        with Horizontal(id="review-body"):
            yield FileList(id="review-files")
            yield DiffView(id="review-diff")
        yield Input(id="review-input")
        yield Static(id="review-keys")

    def on_mount(self) -> None:
        self.query_one("#review-input").display = False
        diff = self.query_one(DiffView)
        diff.verdict_of = self._verdict
        diff.focus()
        self._keys()
        self.load()

    @property
    def decided(self) -> bool:
        """Whether the run is decided (approved or rejected): the screen is read-only."""
        return self.view.run.decided

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in DECIDING and self.decided)

    def _keys(self) -> None:
        hints = READ_ONLY_KEYS if self.decided else KEYS
        update_if_changed(self.query_one("#review-keys", Static), Text(hints))

    # --- loading ----------------------------------------------------------------------
    @work(exclusive=True, group="review-load")
    async def load(self, span: Span | None = None) -> None:
        """Read a span's diff (default: the current one) and show its first file (or the
        same file again); the span becomes current once read."""
        span = span or self.span
        reading, self._reading = self._reading, None
        try:
            run, text = await (reading or self.client.review_patch(self.run_id, span))
        except CockpitError as exc:
            self.notify(str(exc), severity="error")
            return
        with contextlib.suppress(CockpitError):  # said when approving
            await self._repo
        if not self.is_attached:  # closed while git was read: nothing left to show it in
            return
        self.span = span
        self.view.run = run
        keep = self.files[self.index].path if self.files else None
        self.files = _parsed(text)
        self.index = next((i for i, f in enumerate(self.files) if f.path == keep), 0)
        self._keys()
        self.refresh_bindings()
        self._list_files()
        self._show_file()
        if self.in_base is None and not self.decided:
            self.in_base = await self.client.already_merged(run)
            if self.is_attached:
                self._title()

    def _flags(self) -> dict[str, dict]:
        verdicts = [(n, g.findings) for n, g in self.view.gates.items() if g.status != "running"]
        return flags_by_file(verdicts)

    def _list_files(self) -> None:
        flags = self._flags()
        listing = self.query_one(FileList)
        options: list[Text] = []
        status_style = {k: f"bold {colour(self.app, v)}" for k, v in STATUS_COLOUR.items()}
        error, success = colour(self.app, "error"), colour(self.app, "success")
        for fp in self.files:
            row = Text()
            row.append(f"{fp.status} ", style=status_style[fp.status])
            row.append(fp.path)
            row.append(f"  +{fp.added} -{fp.removed}", style=colour(self.app, "foreground-muted"))
            found = sum(len(v) for v in flags.get(fp.path, {}).values())
            if found:
                row.append(f"  ●{found}", style=error)
            rejected = self.decisions.rejected_in(fp.path)
            if rejected:
                row.append(f"  ✗{rejected}", style=f"bold {error}")
            elif self.decisions.verdict(fp.path) == "accepted":
                row.append("  ✓", style=f"bold {success}")
            options.append(row)
        if not self.files:
            options.append(Text("no changes", style="italic"))
        listing.set_items(options, self.index)
        self._title()

    def _show_file(self) -> None:
        fp = self.files[self.index] if self.files else None
        if fp is not None:
            try:
                fp.hunks  # noqa: B018 -- parsed here, on first showing
            except ValueError as exc:
                self.notify(f"{fp.path}: its diff could not be read ({exc})", severity="error")
                fp = None
        flags = self._flags().get(fp.path, {}) if fp else {}
        self.query_one(DiffView).show(fp, flags)
        self._title()

    def _title(self) -> None:
        run = self.view.run
        rejected, comments = self.decisions.counts()
        added = sum(f.added for f in self.files)
        removed = sum(f.removed for f in self.files)
        title = Text()
        title.append(f" Review {run.id}", style="bold")
        title.append(f" · {run.repo} · {run.task}")
        title.append(f"\n {self.span.label()} · {len(self.files)} file(s) +{added} -{removed}")
        if self.files:
            title.append(f" · file {self.index + 1}/{len(self.files)}")
        if rejected or comments:
            title.append(f" · {rejected} rejected, {comments} comment(s)", style="bold")
        said = self._decision_line()
        if said is not None:
            title.append(f"\n {said[0]}", style=f"bold {colour(self.app, said[1])}")
        update_if_changed(self.query_one("#review-title", Static), title)

    def _decision_line(self) -> tuple[str, str] | None:
        """What was decided (or that the base already has the changes), and its colour."""
        run, review = self.view.run, self.view.review
        base = run.base or self._configured()[0]
        if run.decision == "rejected":
            salvage = review.salvage if review is not None else None
            where = f"; its work is saved in {salvage}" if salvage else ""
            return f"rejected{where} · read-only", "error"
        if run.decision is not None and run.nothing_to_merge:
            said = f"approved: {base} already had every change; nothing was merged"
            return f"{said} · read-only", "success"
        if run.decision is not None:
            how = "squashed" if review is not None and review.squash else "merged"
            sha = (run.merge_sha or "")[:12]
            return f"approved: {how} into {base} as {sha} · read-only", "success"
        if self.in_base:
            return f"{base} already has every change of this run: approving merges nothing", (
                "warning"
            )
        return None

    # --- navigation -------------------------------------------------------------------
    def on_file_list_highlighted(self, event: FileList.Highlighted) -> None:
        if event.index != self.index and event.index < len(self.files):
            self.index = event.index
            self._show_file()

    def action_file(self, step: int) -> None:
        if self.files:
            self.index = (self.index + step) % len(self.files)
            self.query_one(FileList).select(self.index, notify=False)
            self._show_file()

    def action_hunk(self, step: int) -> None:
        diff = self.query_one(DiffView)
        found = diff.next_index(step, lambda row: row.kind == "hunk")
        if found is not None:
            diff.move_to(found)

    def action_finding(self, step: int) -> None:
        diff = self.query_one(DiffView)
        found = diff.next_index(
            step, lambda row: row.kind != "removed" and row.new_no in diff.flags
        )
        if found is not None:
            diff.move_to(found)
            row = diff.row_at(found)
            flags = diff.flags.get(row.new_no or 0, []) if row else []
            self.notify("\n".join(f"{g}: {c} {m}".strip() for g, c, m in flags), timeout=6)
        else:
            self.notify("no more gate findings in this file")

    def action_jump(self) -> None:
        self._ask("jump", "jump to a file: type part of its name, enter")

    def action_switch_focus(self) -> None:
        files = self.query_one(FileList)
        (self.query_one(DiffView) if files.has_focus else files).focus()

    def action_select(self) -> None:
        diff = self.query_one(DiffView)
        diff.mark = None if diff.mark is not None else diff.cursor
        diff.refresh()

    def action_side_by_side(self) -> None:
        diff = self.query_one(DiffView)
        diff.side_by_side = not diff.side_by_side

    def action_turn(self, step: int) -> None:
        turns = self.view.run.turns_completed
        if turns < 1:
            self.notify("the run has no turns to look at one by one")
            return
        current = 0 if self.span.turns is None else self.span.turns[1]
        nxt = (current + step) % (turns + 1)
        self.load(Span() if nxt == 0 else Span((nxt, nxt)))

    def action_compare(self) -> None:
        turns = self.view.run.turns_completed
        self._ask("compare", f"compare turns: type A-B (1–{turns}): what turns A to B changed")

    def action_whole_run(self) -> None:
        self.load(Span())

    # --- decisions --------------------------------------------------------------------
    def _verdict(self, row: Row) -> str | None:
        fp = self.files[self.index] if self.files else None
        if fp is None or self.span.turns is not None:
            return None
        return self.decisions.verdict(fp.path, row.hunk, row.line)

    def _whole_run_only(self) -> bool:
        if self.span.turns is not None:
            self.notify("accept and reject work on the whole run's diff: T shows it")
            return False
        return bool(self.files)

    def action_decide(self, verdict: str) -> None:
        if not self._whole_run_only():
            return
        diff = self.query_one(DiffView)
        fp = self.files[self.index]
        if diff.mark is not None:
            rows = [r for r in diff.rows_between(diff.mark, diff.cursor) if r.hunk is not None]
            for hunk in sorted({r.hunk for r in rows if r.hunk is not None}):
                lines = {r.line for r in rows if r.hunk == hunk and r.line is not None}
                self.decisions.decide_lines(fp.path, fp.hunks[hunk], hunk, lines, verdict)
            diff.mark = None
        else:
            row = diff.row_at(diff.cursor)
            if row is None or row.hunk is None:
                self.decisions.decide_file(fp.path, verdict)
            else:
                self.decisions.decide_hunk(fp.path, row.hunk, verdict)
                nxt = diff.next_index(1, lambda r: r.kind == "hunk")
                if nxt is not None:  # on to the next hunk, as in lazygit
                    diff.move_to(nxt)
        self._after_decision()

    def action_decide_file(self, verdict: str) -> None:
        if self._whole_run_only():
            self.decisions.decide_file(self.files[self.index].path, verdict)
            self._after_decision()

    def _after_decision(self) -> None:
        self.query_one(DiffView).refresh()
        self._list_files()

    def action_comment(self) -> None:
        if not self.files:
            return
        row = self.query_one(DiffView).row_at(self.query_one(DiffView).cursor)
        where = self.files[self.index].path
        line = _line_of(row, self.files[self.index])
        self._ask("comment", f"comment on {where}{f':{line}' if line else ''} — enter adds it")

    def _ask(self, purpose: str, placeholder: str) -> None:
        box = self.query_one("#review-input", Input)
        self._asking = purpose
        box.placeholder = placeholder
        box.value = ""
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        purpose, text = self._asking, event.value.strip()
        self._close_input()
        if purpose == "jump" and text:
            path = fuzzy_pick(text, [f.path for f in self.files])
            if path is None:
                self.notify(f"no file matches {text!r}", severity="warning")
                return
            self.index = [f.path for f in self.files].index(path)
            self.query_one(FileList).select(self.index, notify=False)
            self._show_file()
        elif purpose == "compare" and text:
            first, _, last = text.replace("..", "-").partition("-")
            try:
                span = Span((int(first), int(last or first)))
            except ValueError:
                self.notify(f"type two turn numbers, e.g. 1-3 (not {text!r})", severity="warning")
                return
            self.load(span)
        elif purpose == "comment" and text:
            fp = self.files[self.index]
            diff = self.query_one(DiffView)
            self.decisions.comment(fp.path, _line_of(diff.row_at(diff.cursor), fp), text)
            self._title()

    def _close_input(self) -> None:
        box = self.query_one("#review-input", Input)
        box.display = False
        self._asking = None
        self.query_one(DiffView).focus()

    # --- outcomes ---------------------------------------------------------------------
    async def _apply_rejections(self) -> bool:
        """Revert what was rejected (one commit); False when that failed."""
        if self.span.turns is not None:
            self.span = Span()
            _, text = await self.client.review_patch(self.run_id, self.span)
            self.files = _parsed(text)
        plan = self.decisions.plan(self.files)
        if not plan.patches and not plan.restored:
            return True
        try:
            await self.client.revert_parts(self.run_id, plan.patches, plan.restored, plan.summary)
        except CockpitError as exc:
            self.notify(str(exc), severity="error")
            return False
        self.decisions.files.clear()
        return True

    def action_approve(self, squash: bool | None = None) -> None:
        """Approve (``squash``: one squashed commit; None: the repo's ``merge`` setting)."""
        if not self._repo.done():  # still being read: asked once it is
            self._approve_when_read(squash)
            return
        try:
            base, merge = self._repo.result()
        except CockpitError as exc:
            self.notify(str(exc), severity="error")
            return
        squashed = merge == "squash" if squash is None else squash
        how = "squash it into" if squashed else "merge it into"
        rejected, _ = self.decisions.counts()
        extra = f" ({rejected} rejected part(s) are reverted first)" if rejected else ""
        self.app.push_screen(
            ConfirmScreen(f"Approve {self.run_id}: {how} {base}{extra}?"),
            self._when_sure(lambda yes: self._approve_confirmed(yes, squash=squashed)),
        )

    @work(exclusive=True, group="review-settings")
    async def _approve_when_read(self, squash: bool | None) -> None:
        with contextlib.suppress(CockpitError):  # said by action_approve
            await self._repo
        self.action_approve(squash)

    def _configured(self) -> tuple[str, str]:
        """The repo's base branch and merge setting ("" for both until read, or when
        its settings cannot be read)."""
        repo = self._repo
        if not repo.done() or repo.cancelled() or repo.exception() is not None:
            return "", ""
        return repo.result()

    @work(exclusive=True, group="review-outcome")
    async def _approve_confirmed(
        self, yes: bool, override_gates: bool = False, squash: bool | None = None
    ) -> None:
        if not yes or not await self._apply_rejections():
            return
        try:
            done = await self.client.approve(
                self.run_id, squash=squash, override_gates=override_gates
            )
        except GatesRed as red:
            # Red gates: the human may still merge, knowingly (the override is recorded).
            self.app.push_screen(
                ConfirmScreen(
                    f"Blocking gates are red: {', '.join(red.gates)}. Approve anyway?"
                    " (the override is recorded with the merge)"
                ),
                self._when_sure(lambda sure: self._approve_confirmed(sure, True, squash)),
            )
            return
        except CockpitError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            self.load()
            return
        if not done.merged:
            self.dismiss(f"{self.run_id}: {done.base} already has its changes; nothing merged")
            return
        how = "squashed" if done.squash else "merged"
        self.dismiss(f"{self.run_id} {how} into {done.base} as {done.sha[:12]}")

    def action_send_comments(self) -> None:
        self._send_comments()

    @work(exclusive=True, group="review-outcome")
    async def _send_comments(self) -> None:
        comments = [(c.path, c.line, c.text) for c in self.decisions.comments]
        rejected, _ = self.decisions.counts()
        if not comments and not rejected:
            self.notify("no comments yet: c comments on the line under the cursor")
            return
        if not await self._apply_rejections():
            return
        message = (
            comments_message(comments)
            if comments
            else "Parts of your change were rejected in review and reverted: check the branch."
        )
        try:
            await self.client.send_back(self.run_id, message)
        except CockpitError as exc:
            self.notify(str(exc), severity="error")
            return
        self.dismiss(f"{self.run_id}: {len(comments)} comment(s) sent; the run continues")

    def action_discard(self) -> None:
        self.app.push_screen(
            ConfirmScreen(f"Reject {self.run_id}: save its work aside and remove its branch?"),
            self._when_sure(self._discard_confirmed),
        )

    @work(exclusive=True, group="review-outcome")
    async def _discard_confirmed(self, yes: bool) -> None:
        if not yes:
            return
        try:
            path = await self.client.reject(self.run_id)
        except CockpitError as exc:
            self.notify(str(exc), severity="error")
            return
        self.dismiss(f"{self.run_id} rejected; its work is saved in {path}")

    @staticmethod
    def _when_sure(then: Callable[[bool], object]) -> Callable[[bool | None], None]:
        """A confirm screen's callback starting ``then`` (a worker) with the answer."""

        def answered(yes: bool | None) -> None:
            then(bool(yes))

        return answered

    def action_close(self) -> None:
        if self._asking is not None:
            self._close_input()
            return
        self.dismiss(None)


async def _repo_settings(client: EngineClient, repo: str) -> tuple[str, str]:
    """A repo's base branch and its ``merge`` setting."""
    config = await client.repo_settings(repo)
    return config.base, config.merge


def _parsed(text: str) -> list[FilePatch]:
    """The diff's files, each file's hunks parsed when it is first shown: the list needs
    only names, statuses and counts, and opening a 20,000-line diff must not wait for
    every line of it to be parsed."""
    return parse_patch(text, lazy=True)


def _line_of(row: Row | None, fp: FilePatch) -> int | None:
    """The new-file line a comment on ``row`` is about (a hunk header: its first line)."""
    if row is None:
        return None
    if row.kind == "hunk" and row.hunk is not None:
        return fp.hunks[row.hunk].new_start
    return row.new_no or row.old_no
