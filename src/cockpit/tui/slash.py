"""What each ``/`` command does.

:class:`Commands` is what a command is carried out with: the app (notifications, screens
pushed), the engine session (its client once ready, the model) and the main screen,
which it reads the selection from and tells what to show with its messages. The
handlers below each carry one command out; :mod:`cockpit.tui.router` says which runs
for ``/name`` (and for the keys and the palette).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual.app import App
from textual.message import Message

from cockpit.client.api import EngineClient
from cockpit.tui.commands import SlashCommand
from cockpit.tui.model import CockpitModel
from cockpit.tui.selection import RepoRow, Row, RunRow
from cockpit.tui.session import EngineSession
from cockpit.tui.themes import switch_theme
from engine.domain.errors import BadInput, CockpitError

if TYPE_CHECKING:
    from cockpit.client.local import Workspace

__all__ = ["Commands", "Handler", "Listener"]

#: Carries out a ``/`` command.
Handler = Callable[["Commands", SlashCommand], Awaitable[None]]


class Listener(Protocol):
    """Whom the commands tell what to show (the main screen): it knows the selection."""

    @property
    def selected(self) -> Row | None: ...

    def post_message(self, message: Message) -> bool: ...


class Commands:
    """What the ``/`` commands are carried out with (see the module's doc).

    What the main screen should show in return goes to the listener given to ``attach``
    as the messages below.
    """

    class ShowRun(Message):
        """Highlight a run's row (``new``: the list must be rebuilt first, the run was
        just added to the model); ``review``: then open its review."""

        def __init__(self, run_id: str, *, new: bool = False, review: bool = False) -> None:
            super().__init__()
            self.run_id = run_id
            self.new = new
            self.review = review

    class Undelivered(Message):
        """A steering message the engine did not take: offer it again in the bar."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Restyled(Message):
        """The theme changed: what was drawn with the old colours is drawn again."""

    class PaneStale(Message):
        """What the highlighted row's pane shows changed (a repo's gate check)."""

    def __init__(self, session: EngineSession, workspace: Workspace) -> None:
        self.session = session
        self.workspace = workspace
        self._listener: Listener | None = None

    @property
    def app(self) -> App[Any]:
        return self.session.app

    @property
    def model(self) -> CockpitModel:
        return self.session.model

    def attach(self, listener: Listener) -> None:
        """Tell ``listener`` what to show, and read the selection from it."""
        self._listener = listener

    @property
    def selected(self) -> Row | None:
        """The highlighted run or repo of the main screen."""
        return self._listener.selected if self._listener is not None else None

    def selected_run_id(self) -> str | None:
        """The highlighted run's id (None when a repo, or nothing, is highlighted)."""
        selected = self.selected
        return selected.id if isinstance(selected, RunRow) else None

    def post(self, message: Message) -> None:
        """Tell the listener ``message``."""
        if self._listener is not None:
            self._listener.post_message(message)

    async def client(self) -> EngineClient:
        """The engine's client, once the snapshot is shown (``EngineUnavailable``, its
        one line naming the key that starts it, while no engine answers)."""
        return await self.session.current_client()

    def run_named(self, command: SlashCommand) -> str | None:
        """The run a command is about: named, else the highlighted one (None, said in
        one line: neither)."""
        run_id = command.args[0] if command.args else self.selected_run_id()
        if run_id is None:
            self.app.notify(
                f"/{command.name} needs a run: select one or name it", severity="warning"
            )
        return run_id

    def scenario_path(self, given: str) -> str:
        """``--scenario`` as typed in the prompt bar: a relative path is the workspace
        root's (the folder the cockpit was started in is no place the human sees).
        BadInput, naming the path tried, when there is no such file."""
        path = Path(given).expanduser()
        if not path.is_absolute():
            path = self.workspace.root / path
        if not path.is_file():
            raise BadInput(f"scenario not found: {path}")
        return str(path.resolve())

    def candidates(self, kind: str) -> list[str]:
        """Names of a kind for completion, the selection's first: the highlighted run
        (``run``), its repo or the highlighted repo (``repo``), either (``target``)."""
        selected = self.selected
        run_id = selected.id if isinstance(selected, RunRow) else None
        repo_row = selected.name if isinstance(selected, RepoRow) else None
        view = self.model.runs.get(run_id) if run_id else None
        repo = view.run.repo if view is not None else repo_row
        runs = ([run_id] if run_id else []) + [r for r in reversed(self.model.runs) if r != run_id]
        configured = list(self.model.repos)  # as the engine has them configured
        if kind == "repo":
            return ([repo] if repo else []) + [r for r in configured if r != repo]
        if kind == "run":
            return runs
        if kind == "target":
            first = run_id or repo_row
            rest = [name for name in runs + configured if name != first]
            return ([first] if first else []) + rest
        if kind == "theme":
            return sorted(self.app.available_themes)
        if kind == "agent":
            try:  # read from cockpit.toml when first offered (the engine checked it)
                return list(self.workspace.config.agents)
            except CockpitError:
                return []
        return []

    def switch_theme(self, name: str) -> None:
        """Switch to theme ``name`` and remember it; what is drawn is drawn again."""
        switch_theme(self.app, name)
        self.post(self.Restyled())


# --- the handlers ---------------------------------------------------------------------
async def start(commands: Commands, command: SlashCommand) -> None:
    """``/run REPO "TASK"``: queue a run, and highlight it."""
    client = await commands.client()
    repo, task = command.args
    scenario = commands.scenario_path(command.scenario) if command.scenario else None
    run = await client.submit(repo, task, command.agent or "scripted", scenario, command.skills)
    commands.model.upsert(run)
    commands.post(Commands.ShowRun(run.id, new=True))
    commands.app.notify(f"run {run.id} queued on {run.repo}")


async def steer(commands: Commands, command: SlashCommand) -> None:
    """``/steer RUN MESSAGE``: the message goes to the run's agent (shown as sent)."""
    client = await commands.client()
    ref, message = command.args
    run = await client.resolve_run(ref)
    try:
        message_id = await client.steer(run.id, message)
    except CockpitError:
        # The run ended meanwhile: the message is not thrown away.
        commands.post(Commands.Undelivered(f"/steer {run.id} {message}"))
        raise
    view = commands.model.runs.get(run.id)
    if view is not None:
        view.note_sent(message_id, message)
        commands.post(EngineSession.RunsChanged({run.id}))


async def cancel(commands: Commands, command: SlashCommand) -> None:
    client = await commands.client()
    run_id = commands.run_named(command)
    if run_id is not None:
        run = await client.cancel(run_id)
        commands.app.notify(f"run {run.id} {run.state.value}")


async def resume(commands: Commands, command: SlashCommand) -> None:
    client = await commands.client()
    run_id = commands.run_named(command)
    if run_id is not None:
        run = await client.resume(run_id)
        commands.app.notify(f"run {run.id} resumed")


async def review(commands: Commands, command: SlashCommand) -> None:
    client = await commands.client()
    run_id = commands.run_named(command)
    if run_id is not None:
        run = await client.resolve_run(run_id)
        commands.post(Commands.ShowRun(run.id, review=True))


async def guard(commands: Commands, command: SlashCommand) -> None:
    client = await commands.client()
    run_id = commands.run_named(command)
    if run_id is not None:
        run = await client.resolve_run(run_id)
        # Imported when first opened: the first frame does not wait for it.
        from cockpit.tui.screens.guard import GuardScreen

        commands.app.push_screen(GuardScreen(client, run.id))


async def skills(commands: Commands, command: SlashCommand) -> None:
    """The skills of a run (loaded, and what its repo offers) or of a repo."""
    client = await commands.client()
    selected = commands.selected
    highlighted_repo = selected.name if isinstance(selected, RepoRow) else None
    target = command.args[0] if command.args else commands.selected_run_id() or highlighted_repo
    if target in commands.model.repos:
        repo, loaded, title = target, None, f"Skills for runs on {target}"
    elif target is not None:
        run = await client.resolve_run(target)
        view = commands.model.runs.get(run.id)
        repo, loaded = run.repo, (view.skills if view else [])
        title = f"Skills of {run.id} ({run.repo})"
    else:
        raise BadInput("/skills needs a run or a repo: highlight one or name it")
    available = await client.available_skills(repo)
    from cockpit.tui.screens.skills import SkillsScreen

    commands.app.push_screen(SkillsScreen(title, available, loaded))


async def theme(commands: Commands, command: SlashCommand) -> None:
    commands.switch_theme(command.args[0])
