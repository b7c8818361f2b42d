"""first_frame: milliseconds from process start to the cockpit's first full frame, the
cockpit a client of the workspace's detached engine, which already runs.

The engine is started once (``cockpit engine start``) before the repetitions and stopped
(``cockpit engine stop``) after them. Each measurement is a fresh interpreter opening the
cockpit the way the ``cockpit`` command does (:mod:`startup`: the child, its stamps, the
hello-world baseline); a child that hosted an engine, or started one, is an error.

* Cockpit ("content"): the stored runs are listed in the run list, every repo row shows
  its git status (not the placeholder) and the detail pane shows the highlighted item.
  The workspace: 3 small repos, 6 finished runs with 40 events each in the store.
* The baseline: a hello-world Textual app (``Header``, ``Static("hello")``, ``Footer``),
  whose content is there from the start: its first refresh.

Extras: ``first_paint`` is Cockpit's first refresh whatever it shows (the same signal as
the hello app), ``runs_listed`` the first refresh with the runs listed (repo statuses may
still be placeholders). Both apps alternate, after one untimed warm-up each.
"""

from __future__ import annotations

import asyncio

from common import (
    emit,
    engine_running,
    make_repo,
    median,
    private_config_home,
    seed_finished_runs,
    temp_dir,
    write_workspace,
)
from startup import SIZE, alternate

REPEATS = 9
REPOS = ("app", "lib", "web")
RUNS = 6
EVENTS_PER_RUN = 40


def main() -> None:
    with temp_dir("first-frame") as tmp:
        private_config_home(tmp)
        repos = {name: make_repo(tmp / "repos" / name) for name in REPOS}
        root = write_workspace(tmp / "ws", repos)
        db = root / ".cockpit" / "cockpit.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        asyncio.run(seed_finished_runs(db, REPOS, RUNS, EVENTS_PER_RUN))
        with engine_running(root):
            cockpit, hello = alternate((str(root), str(RUNS)), REPEATS, "first_frame")
    emit(
        "first_frame",
        median(cockpit["content"]),
        "ms",
        "textual hello world",
        median(hello),
        goal="<= 1.5",
        digits=1,
        first_paint=round(median(cockpit["first_paint"]), 1),
        runs_listed=round(median(cockpit["runs_listed"]), 1),
        min=round(min(cockpit["content"]), 1),
        max=round(max(cockpit["content"]), 1),
        repos=len(REPOS),
        runs=RUNS,
        size=f"{SIZE[0]}x{SIZE[1]}",
        repeats=REPEATS,
        engine="detached, already running",
    )


if __name__ == "__main__":
    main()
