"""What the cockpit says is true (issue 23): "passed" only when a gate passed, a broken
repo says what is wrong, the open inbox follows the runs and its ages tick, interrupted
runs wait in it, and the welcome promises no question that is not there."""

from __future__ import annotations

from pathlib import Path

from pilotkit import SIZE, make_app, ready, start_run, state_of, until
from textual.widgets import OptionList, Static

from cockpit.tui.demo import WELCOME
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.findings import FindingsScreen
from cockpit.tui.screens.inbox import InboxScreen
from cockpit.tui.selection import RepoRow
from cockpit.tui.widgets.run_list import RunList
from engine.domain.state import RunState
from engine.workspace import open_workspace

WRITE = '[[step]]\nwrite = { path = "made.txt", content = "hi\\n" }\n'
ASK_LATER = '[[step]]\nwait = 0.5\n[[step]]\nask = "tests too?"\n'
LONG = '[[step]]\nsay = "taking my time"\nwait = 30\n'


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def drawn(screen, selector: str) -> list[str]:
    listing = screen.query_one(selector, OptionList)
    return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]


def break_repos(workspace_root: Path) -> tuple[Path, Path]:
    """Point ``app`` at a folder that is no git repo and ``lib`` at one that is gone."""
    plain = workspace_root.parent / "plain"
    plain.mkdir()
    gone = workspace_root.parent / "gone"
    config = workspace_root / "cockpit.toml"
    text = config.read_text()
    text = text.replace('path = "../repos/app"', f'path = "{plain}"')
    config.write_text(text.replace('path = "../repos/lib"', f'path = "{gone}"'))
    return plain, gone


async def test_a_repo_without_gates_offers_nothing_to_run(workspace_root: Path) -> None:
    app = make_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.query_one(RunList).select(RepoRow("app"))
        body = app.query_one("#repo-body", Static)
        await until(pilot, lambda: "gates: none configured" in str(body.content))
        assert "v runs them" not in str(body.content)
        await pilot.press("v")
        await until(pilot, lambda: any("app: no gates configured" in n for n in notes(app)))
        assert not any("passed" in n for n in notes(app))


async def test_findings_of_a_run_without_gates_say_none_is_configured(
    workspace_root: Path, scenario
) -> None:
    app = make_app(open_workspace(workspace_root))
    path = scenario(WRITE)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        await until(pilot, lambda: app.main_screen.selected_run_id() == run_id)
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FindingsScreen))
        await until(
            pilot, lambda: drawn(app.screen, "#findings-list") == ["no gates configured for app"]
        )


async def test_findings_say_every_gate_passed_only_when_one_did(
    workspace_root: Path, scenario
) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + '\n[[repos.app.gates]]\nname = "lint"\nkind = "ruff"\n')
    app = make_app(open_workspace(workspace_root))
    path = scenario(WRITE)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        await until(pilot, lambda: "lint" in app.model.runs[run_id].gates)
        await until(pilot, lambda: app.main_screen.selected_run_id() == run_id)
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FindingsScreen))
        await until(
            pilot, lambda: drawn(app.screen, "#findings-list") == ["no findings: every gate passed"]
        )


async def test_a_broken_repo_says_what_is_wrong(workspace_root: Path) -> None:
    plain, gone = break_repos(workspace_root)
    app = make_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        body = app.query_one("#repo-body", Static)
        app.query_one(RunList).select(RepoRow("app"))
        await until(pilot, lambda: f"{plain} is not a git repository" in str(body.content))
        assert "reading git status" not in str(body.content)
        assert "v runs them" not in str(body.content)
        await pilot.press("v")
        await until(pilot, lambda: any(f"app: {plain} is not a git" in n for n in notes(app)))
        assert not any("passed" in n for n in notes(app))
        app.query_one(RunList).select(RepoRow("lib"))
        await until(pilot, lambda: f"{gone} does not exist" in str(body.content))
        # The run list's rows say so too, instead of "…" for ever.
        run_list = app.query_one(RunList)

        def row(name: str) -> str:
            index = run_list.get_option_index(f"repo:{name}")
            return str(run_list.get_option_at_index(index).prompt)

        await until(pilot, lambda: "✗" in row("app") and "✗" in row("lib"))
        assert "not a git repository" in row("app") and "does not exist" in row("lib")


async def test_the_open_inbox_follows_the_runs_and_its_ages_tick(
    workspace_root: Path, scenario
) -> None:
    app = make_app(open_workspace(workspace_root))
    path = scenario(ASK_LATER)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        title = screen.query_one("#inbox-title", Static)
        # The question comes while the inbox is open: it shows up, the title and the
        # header agree on the count.
        await until(
            pilot, lambda: [(i.run_id, i.kind) for i in screen.items] == [(run_id, "question")]
        )
        await until(pilot, lambda: "1 waiting on you" in str(title.content))
        await until(pilot, lambda: "1 waiting on you" in app.sub_title)
        first = drawn(screen, "#inbox-list")[0]
        assert "tests too?" in first
        await until(pilot, lambda: drawn(screen, "#inbox-list")[0] != first, timeout=5)
        assert "ago" in drawn(screen, "#inbox-list")[0]


async def test_an_interrupted_run_waits_in_the_inbox_and_one_key_resumes_it(
    workspace_root: Path, scenario
) -> None:
    ws = open_workspace(workspace_root)
    path = scenario(LONG)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: run_id in app.session.executing())
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app._exit)

    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: state_of(app, run_id) is RunState.INTERRUPTED)
        await until(pilot, lambda: "1 waiting on you" in app.sub_title)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await until(pilot, lambda: len(drawn(app.screen, "#inbox-list")) == 1)
        rows = drawn(app.screen, "#inbox-list")
        assert "interrupted — resume?" in rows[0] and run_id in rows[0]
        await pilot.press("1")
        await until(pilot, lambda: not isinstance(app.screen, InboxScreen))
        await until(pilot, lambda: any(f"run {run_id} resumed" in n for n in notes(app)))
        await until(pilot, lambda: state_of(app, run_id) is not RunState.INTERRUPTED)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: state_of(app, run_id) is RunState.CANCELLED)


async def test_the_welcome_promises_no_question_that_is_not_there(workspace_root: Path) -> None:
    app = make_app(open_workspace(workspace_root), welcome=WELCOME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: any("Welcome" in n for n in notes(app)))
        (welcome,) = [n for n in notes(app) if "Welcome" in n]
        assert "question" not in welcome and "{inbox}" not in welcome
        assert "i inbox · " in welcome
