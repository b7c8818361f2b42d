"""diff_open: milliseconds to open the review screen on a big diff, until its first file
is drawn.

The clock runs from pushing the review screen (in a headless Textual app, on a client of
a real engine opened with ``open_client``, as the cockpit opens one) to the first frame
showing the whole file list and the first file's rows: reading the diff from git,
reading its files, listing them and drawing the rows in sight. The screen parses a file's hunks when it first shows the file; ``diff_parse`` is
a full parse of every hunk (``parse_patch`` on the same text), for comparison.

The repo: FILES generated Python modules of LINES lines, one commit; a second commit
rewrites HUNKS blocks of CHANGED lines in every module, so the diff has FILES x HUNKS
hunks and FILES x HUNKS x CHANGED x 2 changed lines (20,000: half removed, half added),
each hunk with git's three lines of context on both sides. The finished run whose
branch holds the edits is stored straight into the workspace's store (seeded data, as
nothing executes it); ``diff_parse`` calls the parser directly, a micro-benchmark of it.

The baseline: ``unidiff.PatchSet`` (the usual Python library for unified diffs) parsing
the same text alone. Goal: ratio <= 5; target: <= 300 ms. Medians of REPEATS runs of
each, after one untimed warm-up of both.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import unidiff
from textual.app import App
from textual.widget import Widget

from cockpit.client import open_client
from cockpit.client.local import Workspace, open_workspace
from common import (
    builders,
    emit,
    git,
    log,
    median,
    private_config_home,
    store_runs,
    temp_dir,
    write_workspace,
)
from engine.domain.models import Run
from engine.domain.patch import parse_patch
from engine.domain.state import RunState
from frames import FrameWatch

REPEATS = 15
FILES = 200
LINES = 300
HUNKS = 5
CHANGED = 10  # lines replaced per hunk: 10 removed + 10 added


def module(index: int, edited: bool) -> str:
    """The text of module ``index``: LINES numbered lines of code; ``edited`` rewrites
    CHANGED lines in each of HUNKS blocks spread over the file."""
    step = LINES // HUNKS
    lines = []
    for n in range(LINES):
        if edited and n % step >= step // 2 and n % step < step // 2 + CHANGED:
            lines.append(f"    result_{n} = compute(value_{index}, factor={n} * 2)  # edited\n")
        else:
            lines.append(f"    value_{n} = helper_{index}(argument_{n}, option={n})\n")
    return "".join(lines)


RUN_ID = "d1ff0000"


def make_diff(repo: Path) -> str:
    """Build the repo (main: the base), commit the edits on the run's branch, and return
    the diff between the two commits."""
    builders.make_repo(repo, {f"mod{i:04d}.py": module(i, edited=False) for i in range(FILES)})
    git(repo, "switch", "-q", "-c", f"cockpit/{RUN_ID}")
    for i in range(FILES):
        (repo / f"mod{i:04d}.py").write_text(module(i, edited=True))
    git(repo, "commit", "-q", "-am", "edit")
    git(repo, "switch", "-q", "main")
    return git(repo, "diff", "--no-color", "--no-ext-diff", "-M", "main", f"cockpit/{RUN_ID}")


async def seed_run(ws: Workspace, repo: Path) -> Run:
    """A finished run on the repo whose branch holds the edits, stored as if it had
    happened (no engine executes it)."""
    now = datetime.now(UTC)
    run = Run(
        id=RUN_ID,
        repo="app",
        task="edit every module",
        agent="scripted",
        state=RunState.FINISHED,
        branch=f"cockpit/{RUN_ID}",
        base="main",
        base_sha=git(repo, "rev-parse", "main").strip(),
        worktree=str(repo),
        turns_completed=1,
        created_at=now,
        updated_at=now,
        finished_at=now,
    )
    await store_runs(ws.db_path, [(run, [])])
    return run


async def screen_opens(ws: Workspace, run: Run, repeats: int) -> list[float]:
    """Milliseconds from pushing the review screen to the frame that first shows its
    file list and the first file's rows, per repeat (stamped by :class:`FrameWatch`:
    that frame itself, with no polling delay and no wait for a later refresh)."""
    from cockpit.tui.model import RunView
    from cockpit.tui.screens.review import ReviewScreen
    from cockpit.tui.widgets.diff_view import DiffView
    from cockpit.tui.widgets.file_list import FileList

    times: list[float] = []
    async with open_client(ws, listen=False) as client:
        app: App[None] = App()
        frames = FrameWatch(app)
        async with app.run_test(size=(160, 48)) as pilot:
            for _ in range(repeats):
                screen = ReviewScreen(client, RunView(run.copy()))

                def shown(screen: ReviewScreen = screen) -> bool:
                    return (
                        app.screen is screen
                        and bool(screen.files)
                        and len(screen.query_one(FileList).items) == len(screen.files)
                        and screen.query_one(DiffView).file is not None
                    )

                def painted(screen: ReviewScreen = screen) -> list[tuple[Widget, str]]:
                    first = screen.files[0]
                    return [
                        (screen.query_one(FileList), first.path),
                        (screen.query_one(DiffView), first.hunks[0].header),
                    ]

                frames.expect(shown, writes=painted)
                t0 = time.perf_counter()
                await app.push_screen(screen)
                shown_at = await frames.wait(30, "the review screen's first file")
                times.append((shown_at - t0) * 1000)
                await app.pop_screen()
                # The closed screen's teardown (tens of thousands of parsed lines freed)
                # is no part of the next opening: let it finish off the clock.
                await pilot.pause()
                gc.collect()
    return times


def counts(text: str) -> tuple[int, int]:
    """(files, changed lines) of the diff, as parsed (the parse is not kept around)."""
    files = parse_patch(text)
    return len(files), sum(fp.added + fp.removed for fp in files)


def timed_ms(parse: Callable[[str], object], text: str) -> float:
    """Milliseconds for one ``parse(text)``. Its result is freed after the clock stops:
    the screen keeps what it parsed, so freeing it is no part of opening."""
    t0 = time.perf_counter()
    parsed = parse(text)
    elapsed = (time.perf_counter() - t0) * 1000
    del parsed
    return elapsed


def main() -> None:
    with temp_dir("diff-open") as tmp:
        private_config_home(tmp)
        repo = tmp / "repos" / "app"
        text = make_diff(repo)
        files, changed = counts(text)
        if files != FILES or changed != FILES * HUNKS * CHANGED * 2:
            raise RuntimeError(f"unexpected diff: {files} files, {changed} changed lines")
        ws = open_workspace(write_workspace(tmp / "ws", {"app": repo}))
        run = asyncio.run(seed_run(ws, repo))
        opens = asyncio.run(screen_opens(ws, run, REPEATS + 1))[1:]
        parses: list[float] = []
        theirs: list[float] = []
        for rep in range(REPEATS + 1):
            parse = timed_ms(parse_patch, text)
            baseline = timed_ms(unidiff.PatchSet, text)
            log(f"diff_open rep {rep}: parse_patch {parse:.1f} ms; unidiff {baseline:.1f} ms")
            if rep:
                parses.append(parse)
                theirs.append(baseline)
    log(f"diff_open: screen opens {', '.join(f'{t:.0f}' for t in opens)} ms")
    emit(
        "diff_open",
        median(opens),
        "ms",
        "unidiff.PatchSet parsing the same diff text",
        median(theirs),
        goal="<= 5",
        target="<= 300 ms",
        digits=1,
        diff_parse=round(median(parses), 1),
        files=files,
        lines=changed,
        repeats=REPEATS,
    )


if __name__ == "__main__":
    main()
