"""The review screen driven by keys on a real run's branch: navigate, reject a hunk,
comment on a line (the comment reaches the scripted agent, which reacts), approve (the
base branch gets exactly the accepted changes); a conflict changes nothing; reject
salvages the work and removes the worktree."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pilotkit import SIZE, make_app, start_run, state_of, until, view_of
from textual.widgets import Input

from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.inbox import InboxScreen
from cockpit.tui.screens.review import ReviewScreen
from cockpit.tui.widgets.diff_view import DiffView
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import git

#: Three files: a new one, another new one, and an edit of the README.
THREE_FILES = (
    '[[step]]\nwrite = { path = "a.txt", content = "one\\ntwo\\nthree\\n" }\n'
    '[[step]]\nwrite = { path = "b.txt", content = "bee\\n" }\n'
    '[[step]]\nedit = { path = "README.md", old = "# app", new = "# app, improved" }\n'
)


def noted(text: str) -> bool:
    return text.startswith("Noted: Address these review comments") and (
        "- a.txt:2: spell it out" in text
    )


async def finished(pilot, scenario) -> str:
    app = pilot.app
    run_id = await start_run(pilot, scenario(THREE_FILES), "three files")
    await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
    return run_id


async def open_from_inbox(pilot) -> ReviewScreen:
    """i, 1: the run ready for review opens straight in the review screen."""
    app = pilot.app
    await pilot.press("i")
    await until(pilot, lambda: isinstance(app.screen, InboxScreen))
    await pilot.press("1")
    await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    await until(pilot, lambda: len(screen.files) == 3)
    return screen


async def test_open_look_at_three_files_and_approve_in_six_keys(
    ws: Workspace, repo: Path, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        keys = 0
        screen = await open_from_inbox(pilot)  # i, 1
        keys += 2
        seen = [screen.files[screen.index].path]
        for _ in range(2):  # ], ]: the other two files
            await pilot.press("right_square_bracket")
            keys += 1
            seen.append(screen.files[screen.index].path)
        assert sorted(seen) == ["README.md", "a.txt", "b.txt"]
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        keys += 2
        await until(pilot, lambda: not isinstance(app.screen, ReviewScreen))
        assert keys == 6
        await until(pilot, lambda: view_of(app, run_id).review is not None)
    assert git(repo, "show", "main:README.md") == "# app, improved\n"
    assert git(repo, "show", "main:b.txt") == "bee\n"


async def test_reject_a_hunk_comment_send_back_then_approve_exactly_the_rest(
    ws: Workspace, repo: Path, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        screen = await open_from_inbox(pilot)
        diff = screen.query_one(DiffView)
        # To the README, onto its hunk, reject it (x).
        await pilot.press("slash", *"readme", "enter")
        await until(pilot, lambda: screen.files[screen.index].path == "README.md")
        await pilot.press("n", "x")
        assert screen.decisions.verdict("README.md", 0) == "rejected"
        # To a.txt, down onto its second line, comment on it.
        await pilot.press("slash", *"a.txt", "enter")
        await until(pilot, lambda: screen.files[screen.index].path == "a.txt")
        await pilot.press("n", "j", "j")
        row = diff.row_at(diff.cursor)
        assert row is not None and row.new_no == 2
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.focused, Input))
        await pilot.press(*"spell it out", "enter")
        await until(
            pilot,
            lambda: (
                [(c.path, c.line, c.text) for c in screen.decisions.comments]
                == [("a.txt", 2, "spell it out")]
            ),
        )
        await pilot.press("C")  # the rejection is reverted, the comment sent: the run goes on
        await until(pilot, lambda: not isinstance(app.screen, ReviewScreen))
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED, timeout=20)
        # The scripted agent got the comments as one message, and says so.
        await until(pilot, lambda: any(noted(e.text) for e in view_of(app, run_id).entries))
        reverted = git(repo, "log", "--format=%s", f"cockpit/{run_id}")
        assert "Review: rejected 1 hunk(s) in README.md" in reverted
        # Approve what is left.
        app.main_screen.open_review(run_id)
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        again = app.screen
        assert isinstance(again, ReviewScreen)
        await until(pilot, lambda: len(again.files) == 2)
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: view_of(app, run_id).review is not None)
    assert git(repo, "show", "main:README.md") == "# app\n"  # the rejected hunk
    assert git(repo, "show", "main:a.txt") == "one\ntwo\nthree\n"
    assert git(repo, "show", "main:b.txt") == "bee\n"


async def test_a_conflict_changes_nothing_and_says_which_files(
    ws: Workspace, repo: Path, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        (repo / "b.txt").write_text("ours\n")
        git(repo, "add", "b.txt")
        git(repo, "commit", "-qm", "ours")
        head = git(repo, "rev-parse", "main")
        screen = await open_from_inbox(pilot)
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(
            pilot,
            lambda: any("conflicts in b.txt" in n.message for n in app._notifications),
        )
        assert app.screen is screen  # still reviewing
        assert view_of(app, run_id).review is None
    assert git(repo, "rev-parse", "main") == head
    assert git(repo, "status", "--porcelain") == ""


async def test_reject_the_run_saves_its_work_and_removes_the_worktree(
    ws: Workspace, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        worktree = Path(view_of(app, run_id).run.worktree or "")
        assert worktree.is_dir()
        await open_from_inbox(pilot)
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: view_of(app, run_id).review is not None)
        decided = view_of(app, run_id).review
        assert decided is not None
        salvage = Path(decided.salvage or "")
    assert (salvage / "changes.patch").is_file()
    assert not worktree.exists()


async def test_awkward_files_are_shown_and_decided_without_breaking_the_screen(
    ws: Workspace, repo: Path, scenario
) -> None:
    """Binary content, a rename, a mode change, a deletion, bytes that are not UTF-8 and a
    very long line, all in one run's branch: every file shows, side by side too, and a
    rejected binary file and rename are restored by approval."""
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (repo / "old_name.txt").write_text("".join(f"line {n}\n" for n in range(30)))
    (repo / "run.sh").write_text("echo hi\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "awkward files")
    logo_before = git(repo, "rev-parse", "HEAD:logo.png")
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        worktree = Path(view_of(app, run_id).run.worktree or "")
        (worktree / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(reversed(range(256))))
        git(worktree, "mv", "old_name.txt", "new_name.txt")
        (worktree / "run.sh").chmod(0o755)
        (worktree / "latin1.txt").write_bytes(b"caf\xe9 au lait\n")
        (worktree / "long.txt").write_text("x" * 100_000 + "\n")
        (worktree / "README.md").unlink()
        git(worktree, "add", "-A")
        git(worktree, "commit", "-qm", "more")
        app.main_screen.open_review(run_id)
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await until(pilot, lambda: len(screen.files) == 8)
        statuses = {f.path: f.status for f in screen.files}
        assert statuses["new_name.txt"] == "R" and statuses["run.sh"] == "T"
        assert statuses["README.md"] == "D" and statuses["logo.png"] == "M"
        diff = screen.query_one(DiffView)
        for _ in range(len(screen.files)):
            for split in (False, True):
                diff.side_by_side = split
                shown = screen.files[screen.index].path
                await until(pilot, lambda: diff.rows, what=f"rows of {shown}")  # something shows
            await pilot.press("right_square_bracket")
        # Reject the binary file and the rename, whole (X), then approve the rest.
        for path in ("logo.png", "new_name.txt"):
            await pilot.press("slash", *path, "enter")
            await until(pilot, lambda p=path: screen.files[screen.index].path == p)
            await pilot.press("X")
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: view_of(app, run_id).review is not None, timeout=20)
    assert git(repo, "show", "main:old_name.txt").startswith("line 0")  # rename undone
    assert "new_name.txt" not in git(repo, "ls-tree", "--name-only", "main")
    assert git(repo, "rev-parse", "main:logo.png") == logo_before  # binary restored
    assert git(repo, "ls-tree", "main", "run.sh").startswith("100755")  # mode change kept
    latin1 = subprocess.run(
        ["git", "show", "main:latin1.txt"], cwd=repo, capture_output=True, check=True
    ).stdout
    assert latin1 == b"caf\xe9 au lait\n"  # the bytes, untouched
    assert "README.md" not in git(repo, "ls-tree", "--name-only", "main")


async def test_turns_one_at_a_time_or_compared(ws: Workspace, scenario) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await finished(pilot, scenario)
        screen = await open_from_inbox(pilot)
        await pilot.press("t")  # turn 1: only a.txt
        await until(pilot, lambda: screen.span.turns == (1, 1))
        assert [f.path for f in screen.files] == ["a.txt"]
        await pilot.press("w", *"2-3", "enter")  # turns 2 to 3: b.txt and the README
        await until(pilot, lambda: screen.span.turns == (2, 3))
        assert sorted(f.path for f in screen.files) == ["README.md", "b.txt"]
        title = screen.query_one("#review-title")
        await until(pilot, lambda: "turns 2–3" in str(title.render()))
        await pilot.press("x")  # deciding needs the whole run: told so, nothing decided
        assert screen.decisions.counts() == (0, 0)
        await pilot.press("T")
        await until(pilot, lambda: screen.span.turns is None and len(screen.files) == 3)


async def test_red_gates_refuse_until_the_human_overrides_which_is_recorded(
    workspace_root: Path, repo: Path, scenario
) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text()
        + '\n[[repos.app.gates]]\nname = "no-b"\nkind = "command"\nwhen = "manual"\n'
        'command = "test ! -e b.txt"\n'
    )
    app = make_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        await open_from_inbox(pilot)
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        # The gates are red: a second question, naming them.
        await until(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen) and "no-b" in app.screen.question,
        )
        await pilot.press("y")
        await until(pilot, lambda: view_of(app, run_id).review is not None, timeout=20)
        decided = view_of(app, run_id).review
    assert decided is not None and decided.gates_overridden == ["no-b"]
    assert "Gates overridden at approval: no-b" in git(repo, "log", "-1", "--format=%B", "main")


async def test_s_approves_as_one_squashed_commit(ws: Workspace, repo: Path, scenario) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        await open_from_inbox(pilot)
        await pilot.press("S")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, ConfirmScreen)
                and "squash it into main" in app.screen.question
            ),
        )
        await pilot.press("y")
        await until(pilot, lambda: view_of(app, run_id).review is not None)
        decided = view_of(app, run_id).review
    assert decided is not None and decided.squash
    assert len(git(repo, "rev-list", "--parents", "-n1", "main").split()) == 2  # one parent
