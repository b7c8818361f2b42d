"""End to end: the real ``cockpit demo`` in a real terminal (tmux), driven by keystrokes.

The demo opens the cockpit on three scripted runs: one finished (api), one asking the
human a question (cli), one streaming edits for about a minute (shared). These tests read
the screen as a person would and poll it; they never sleep to synchronise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tmuxkit import TMUX, Tmux, poll

pytestmark = pytest.mark.skipif(
    TMUX is None, reason="the tmux binary is not installed (it is on CI machines)"
)

#: The console script of this venv (not resolved: the venv's python is a symlink).
COCKPIT = Path(sys.executable).parent / "cockpit"

QUESTION = "Should --verbose also print timings?"
ANSWER = "yes, with timings"
ANSWER_BOX = "your answer — enter sends, escape goes back"

#: Generous: on a loaded 2-core machine the demo builds 3 repos and runs one agent first.
STARTUP = 90
STEP = 20


@dataclass
class Demo:
    tmux: Tmux
    root: Path
    config_home: Path

    def runs(self) -> dict[str, dict]:
        """``cockpit runs --json`` (only once the app has exited), keyed by repo."""
        done = subprocess.run(
            [str(COCKPIT), "--workspace", str(self.root), "runs", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return {run["repo"]: run for run in json.loads(done.stdout)}

    def events(self, run_id: str) -> list[dict]:
        done = subprocess.run(
            [str(COCKPIT), "--workspace", str(self.root), "show", run_id, "--events", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["events"]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """``cockpit demo`` running in its own tmux server, 160x48; the server dies at the end."""
    assert COCKPIT.exists(), f"no console script at {COCKPIT}"
    config_home = tmp_path / "xdg-config"
    config_home.mkdir()
    root = tmp_path / "demo"
    tmux = Tmux(session="demo", width=160, height=48)
    try:
        tmux.start(
            [str(COCKPIT), "demo", "--dir", str(root)],
            env={"XDG_CONFIG_HOME": str(config_home)},
        )
        yield Demo(tmux, root, config_home)
    finally:
        tmux.kill()


def wait_ready(tmux: Tmux) -> str:
    """The app is up and has loaded the runs: the finished run's transcript is shown."""
    return tmux.wait_for("Cockpit", "committed to cockpit/", timeout=STARTUP)


TASKS = {"api": "add rate limiting", "cli": "add a --verbose", "shared": "document and"}


def find_run_ids(screen: str) -> dict[str, str]:
    """Run ids by repo, read from the run list (one row per run; rows may be cut short)."""
    ids: dict[str, str] = {}
    for repo, task in TASKS.items():
        match = re.search(rf"\b([0-9a-f]{{8}}) {repo}\s+{re.escape(task)}", screen)
        if match:
            ids[repo] = match.group(1)
    return ids


def run_ids(screen: str) -> dict[str, str]:
    ids = find_run_ids(screen)
    assert len(ids) == len(TASKS), f"not every run is in the run list ({ids}):\n{screen}"
    return ids


def step1_visible(screen: str) -> bool:
    """The header with 'waiting on you', a status row per repo, a row per run."""
    lines = screen.splitlines()
    repos = all(re.search(rf"^│\s+{repo}\s+main\b", screen, re.MULTILINE) for repo in TASKS)
    return (
        bool(lines)
        and "Cockpit" in lines[0]
        and "waiting on you" in lines[0]
        and repos
        and len(find_run_ids(screen)) == len(TASKS)
    )


#: The run pane's header: "✓ finished  166c01e3 · api · claude-demo · turn 5 · 1s".
HEADER = re.compile(r"([a-z_ ]+?)\s+([0-9a-f]{8}) · (api|cli|shared) · [\w-]+ · turn")


def run_header(screen: str) -> tuple[str, str, str]:
    """(state, run id, repo) of the run shown in the run pane."""
    match = HEADER.search(screen)
    assert match, f"no run pane header on the screen:\n{screen}"
    state, run_id, repo = match.groups()
    return state.strip(), run_id, repo


def wait_header(tmux: Tmux, run_id: str, state: str | None = None, timeout: float = STEP) -> str:
    """Wait until the run pane shows ``run_id`` (in ``state``, if given)."""

    def shown(screen: str) -> bool:
        match = HEADER.search(screen)
        return bool(match) and match.group(2) == run_id and state in (None, match.group(1).strip())

    return tmux.wait_until(shown, f"run pane on {run_id} ({state or 'any state'})", timeout)


def modal_opened(boxes_before: int) -> Callable[[str], bool]:
    """A check: one more box ('╭') is on the screen than before, i.e. a dialog opened."""
    return lambda screen: screen.count("╭") > boxes_before


@pytest.mark.timeout(360)
def test_demo_tour(demo: Demo):
    tmux = demo.tmux

    # 1. Header, the three repos, the three runs, the waiting count (polled: repo
    #    statuses and the engine's first events arrive after the first frame).
    wait_ready(tmux)
    screen = tmux.wait_until(step1_visible, "header, 3 repos, 3 runs, 'waiting on you'")
    assert "Cockpit" in screen.splitlines()[0], screen
    ids = run_ids(screen)
    assert len(set(ids.values())) == 3, ids

    # 2. The finished run is selected: its transcript ends with the commit, its diff is shown.
    screen = wait_header(tmux, ids["api"], "finished")
    assert "committed to cockpit/" in screen, screen
    tmux.wait_for_re(r"\bA api/limiter\.py\s+\+\d+ -0")  # the diff panel: an added file

    # 3. `]` selects the next run: the run pane's header changes to the cli run.
    before = run_header(screen)
    tmux.press("]")
    screen = wait_header(tmux, ids["cli"])
    after = run_header(screen)
    assert after != before and after[2] == "cli", (before, after)
    tmux.wait_for(f"asks you › {QUESTION}")  # the cli run's transcript

    # 4. The inbox lists the question; its digit opens an answer box; enter sends the
    #    answer, closes the inbox and jumps to the cli run, which goes on and finishes.
    tmux.wait_for_re(rf"\? {ids['cli']} cli")  # the cockpit knows the run waits on you
    tmux.press("i")
    tmux.wait_for("Inbox —", QUESTION)
    row = tmux.wait_for_re(rf"(\d)\s+question\s+{ids['cli']}\s+{re.escape(QUESTION)}")
    tmux.press(row.group(1))
    # The answer box's placeholder (the run pane's header also says "type your answer").
    tmux.wait_for(ANSWER_BOX)
    tmux.type(ANSWER)
    tmux.wait_for(ANSWER)
    tmux.press("Enter")
    tmux.wait_gone("Inbox —")
    tmux.wait_for(f"Thanks — you said: {ANSWER}")
    wait_header(tmux, ids["cli"], "finished")

    # 5. Help lists the bindings with their ids; escape closes it.
    tmux.press("?")
    tmux.wait_for("Help", "cockpit.inbox", "cockpit.next_run")
    tmux.press("Escape")
    tmux.wait_gone("cockpit.inbox")
    tmux.wait_for("Cockpit", "RUNS")

    # (6. the '/' command prompt: test_slash_command_switches_theme, below.)

    # 7. Quit: `q` detaches at once, the runs going on in the engine (the confirmation
    #    before stopping the engine is test_quit_confirmation_says_runs_are_in_flight's).
    tmux.press("q")
    screen = tmux.wait_until(lambda s: tmux.exited(), "cockpit to exit after quitting", 60)
    assert "demo workspace:" in screen, screen
    assert "Traceback" not in screen, screen
    assert tmux.exit_status() == 0, screen
    assert "going in the engine" in screen or "the engine stays up" in screen, screen

    runs = demo.runs()
    assert runs["api"]["state"] == "finished", runs["api"]
    assert runs["cli"]["state"] == "finished", runs["cli"]
    # Not interrupted: the engine goes on with it.
    assert runs["shared"]["state"] in ("running", "finished"), runs["shared"]


#: Text that must not appear after a valid command (error notifications).
ERRORS = ("cannot be steered", "unknown theme", "unknown command", "Traceback")


@pytest.mark.timeout(240)
def test_slash_command_switches_theme(demo: Demo):
    tmux = demo.tmux
    wait_ready(tmux)

    # 6. '/' opens the prompt on a command; the theme switches and is remembered.
    tmux.press("/")
    tmux.wait_for("esc Back to panes")
    tmux.type("theme cockpit-light")
    screen = tmux.wait_for("theme cockpit-light")
    assert "/theme cockpit-light" in screen, f"the prompt lost its '/':\n{screen}"
    tmux.press("Enter")
    settings = demo.config_home / "cockpit" / "settings.json"
    poll(
        lambda: settings.exists() and json.loads(settings.read_text())["theme"] == "cockpit-light",
        f"{settings} to record the theme",
    )
    screen = tmux.wait_for("Cockpit", "RUNS")
    for text in ERRORS:
        assert text not in screen, (text, screen)


@pytest.mark.timeout(240)
def test_quit_confirmation_says_runs_are_in_flight(demo: Demo):
    tmux = demo.tmux
    wait_ready(tmux)
    shared = run_ids(tmux.wait_until(step1_visible, "the three runs"))["shared"]
    # ● running, ✓ finished: the streaming run takes about a minute.
    screen = tmux.wait_until(
        lambda s: re.search(rf"[●✓] {shared} shared", s) is not None, "the streaming run"
    )
    if f"● {shared} shared" not in screen:
        raise pytest.skip.Exception("the streaming run already ended: no confirmation to check")

    # 7. `Q` (stop the engine and quit) with a run in flight asks first, and says why.
    dialog = modal_opened(tmux.screen().count("╭"))
    tmux.press("Q")
    tmux.wait_until(dialog, "the quit confirmation")
    tmux.wait_for("in flight", "Stop the engine and quit?", "y: yes", timeout=10)
    tmux.press("y")
    screen = tmux.wait_until(lambda s: tmux.exited(), "cockpit to exit after quitting", 60)
    assert tmux.exit_status() == 0, screen
    run = demo.runs()["shared"]
    assert run["state"] in ("interrupted", "finished"), run


@pytest.mark.timeout(240)
def test_review_accept_and_approve_the_finished_run(demo: Demo):
    """The api run waits for review: the inbox opens it in the review screen, a hunk is
    accepted, the run approved, and the repo pane shows it merged into main."""
    tmux = demo.tmux
    wait_ready(tmux)
    api = run_ids(tmux.wait_until(step1_visible, "the three runs"))["api"]

    # 8. i, then the review item's digit: the review screen on the api run.
    tmux.press("i")
    tmux.wait_for("Inbox —")
    row = tmux.wait_for_re(rf"(\d)\s+review\s+{api}\s+ready for review")
    tmux.press(row.group(1))
    tmux.wait_for(f"Review {api}", "the whole run · 2 file(s)", "M api/app.py", "A api/limiter.py")
    tmux.wait_for("@@ -1,8 +1,15 @@")  # api/app.py's hunk, first

    # 9. n onto the hunk, a accepts it (✓ in the gutter); ] shows the other file.
    tmux.press("n")
    tmux.press("a")
    tmux.wait_for("✓ @@ -1,8")
    tmux.press("]")
    tmux.wait_for("file 2/2", "class Limiter")

    # 10. M approves: confirmed with y, the branch is merged, the screen closes.
    tmux.press("M")
    tmux.wait_for(f"Approve {api}: merge it into main?", "y: yes")
    tmux.press("y")
    tmux.wait_gone(f"Review {api}")
    tmux.wait_for(f"{api} merged into main as")

    # 11. The repo pane of api lists the run as merged.
    tmux.press("Home")
    tmux.wait_for_re(rf"{api} merged [0-9a-f]{{8}}")
    demo_repo = demo.root / "repos" / "api"
    merged = subprocess.run(
        ["git", "log", "-1", "--format=%s", "main"], cwd=demo_repo, capture_output=True, text=True
    ).stdout
    assert merged.startswith(f"Merge cockpit run {api}: add rate limiting"), merged
    assert (demo_repo / "api" / "limiter.py").exists()  # main is checked out: updated too
