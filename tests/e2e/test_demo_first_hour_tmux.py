"""End to end: what a newcomer tries first in the real ``cockpit demo``, in tmux.

A typed ``/run`` with no scenario finishes with changes; the seeded api run shows a gate
going red, a fix round and the gate green again; after ``/theme NAME`` + enter the keys
move the selection again (the focus left the prompt bar); ``q`` in the review goes back
to the main screen instead of quitting. The screen is polled, never slept on.
"""

from __future__ import annotations

import re

import pytest
from test_demo_tmux import HEADER, Demo, demo, run_header, wait_ready
from tmuxkit import TMUX

__all__ = ["demo"]  # the fixture, shared with the demo tour

pytestmark = pytest.mark.skipif(
    TMUX is None, reason="the tmux binary is not installed (it is on CI machines)"
)

TASK = "add a /health endpoint"


@pytest.mark.timeout(300)
def test_the_first_hour_in_the_demo(demo: Demo) -> None:
    tmux = demo.tmux
    wait_ready(tmux)

    # 1. The seeded api run (selected first): its lint gate failed on a turn, Cockpit sent
    #    the finding back as a fix round, the next turn fixed it and the gate passed.
    tmux.wait_for("✗ gate lint: failed", "(fix round 1 of", "✓ gate lint: passed")
    tmux.wait_for_re(r"gates:\s+✓ lint")  # the run's badge: the latest verdict is green

    # 2. A task typed in the prompt bar, with no scenario: it runs and finishes with changes.
    tmux.press("/")
    tmux.wait_for("esc Back to panes")
    tmux.type(f'run api "{TASK}"')
    tmux.wait_for(f'/run api "{TASK}"')
    tmux.press("Enter")
    row = tmux.wait_for_re(rf"✓ ([0-9a-f]{{8}}) api\s+{re.escape(TASK[:12])}", timeout=60)
    new_run = row.group(1)
    screen = tmux.wait_until(
        lambda s: (m := HEADER.search(s)) is not None and m.group(2) == new_run,
        f"the run pane on the new run {new_run}",
    )
    tmux.wait_for_re(r"\d+ files?\s+\+\d+ -\d+")  # the diff panel: the run changed files
    assert "needs a scenario" not in screen, screen

    # 3. /theme + enter, then k and j move the selection (they are not typed in the bar).
    before = run_header(tmux.screen())
    tmux.press("/")
    tmux.wait_for("esc Back to panes")
    tmux.type("theme cockpit-light")
    tmux.wait_for("/theme cockpit-light")
    tmux.press("Enter")
    tmux.wait_gone("/theme cockpit-light")
    tmux.press("k")
    screen = tmux.wait_until(
        lambda s: (m := HEADER.search(s)) is not None and m.groups() != before,
        "k to select another run",
    )
    assert "theme cockpit-lightk" not in screen, screen
    tmux.press("j")  # and j back down onto the new run
    tmux.wait_until(
        lambda s: (m := HEADER.search(s)) is not None and m.group(2) == new_run,
        f"j to select {new_run} again",
    )

    # 4. The review opened on the new run; q closes it, back on the main screen, running.
    tmux.press("/")
    tmux.wait_for("esc Back to panes")
    tmux.type(f"review {new_run}")
    tmux.wait_for(f"/review {new_run}")
    tmux.press("Enter")
    tmux.wait_for(f"Review {new_run}")
    tmux.press("q")
    screen = tmux.wait_gone(f"Review {new_run}")
    assert not tmux.exited(), screen
    tmux.wait_for("RUNS", "Cockpit")
    assert "Traceback" not in tmux.screen()
