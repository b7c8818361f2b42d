"""The cockpit's commands: one table (:data:`ROUTES`) that the ``/`` commands, the main
screen's keys and the command palette are all read from, and the router that carries
the ``/`` commands out.

A :class:`Route` names a command once: what it does, the action its keys and palette
entry run, its keys (with the ids a keymap remaps), whether ``/name`` is a command (and
its handler, in :mod:`cockpit.tui.slash`), and a palette entry of its own when no key
offers it. The app's ``BINDINGS`` are :func:`bindings`; the palette lists the routes
(:mod:`cockpit.tui.palette_provider`); ``/name`` runs the route's handler, or else its
action (:meth:`CommandRouter.run`). The grammar of the ``/`` commands (usage, parsing,
completion) stays in :mod:`cockpit.tui.commands`, which has no widgets.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from textual.binding import Binding
from textual.worker import Worker

import cockpit.tui.slash as handlers
from cockpit.tui.commands import COMMANDS, SlashCommand
from cockpit.tui.slash import Commands, Handler
from engine.domain.errors import CockpitError

__all__ = ["ROUTE", "ROUTES", "SCREEN_ACTIONS", "CommandRouter", "Key", "Route", "bindings"]


@dataclass(frozen=True)
class Key:
    """A key bound to a route: shown as ``title``; ``id`` is what a keymap remaps. It runs
    the route's action unless it names its own; its tooltip is the route's description
    unless given ("" for none)."""

    key: str
    title: str
    id: str
    action: str | None = None
    show: bool = True
    priority: bool = False
    tooltip: str | None = None


@dataclass(frozen=True)
class Route:
    """One command of the cockpit.

    ``action`` is what its keys and its palette entry run (a main-screen action unless
    ``app_wide``). ``slash``: ``/name`` is a command, carried out by ``handler`` (without
    one, ``/name`` runs ``action``). ``palette`` titles an entry of its own in the command
    palette, ``description`` its help (without an ``action`` it runs ``/name``); a
    route's keys are offered there anyway.
    """

    name: str
    description: str
    action: str | None = None
    keys: tuple[Key, ...] = ()
    slash: bool = False
    handler: Handler | None = None
    palette: str | None = None
    app_wide: bool = False

    def bindings(self) -> list[Binding]:
        """Its keys as Textual bindings."""
        return [
            Binding(
                key.key,
                key.action or self.action or "",
                key.title,
                show=key.show,
                priority=key.priority,
                id=key.id,
                tooltip=self.description if key.tooltip is None else key.tooltip,
            )
            for key in self.keys
        ]


class CommandRouter(Commands):
    """Carries ``/`` commands out (typed, from the palette, from keys and the inbox) in
    the background, each by its route; an error is one notification line."""

    def run(self, command: SlashCommand) -> Worker[None]:
        """Carry ``command`` out in the background."""
        return self.app.run_worker(self._run(command), name="command", group="commands")

    async def _run(self, command: SlashCommand) -> None:
        route = ROUTE[command.name]
        try:
            if route.handler is not None:
                await route.handler(self, command)
            elif route.action is not None:
                await self.app.run_action(route.action)
        except CockpitError as exc:
            self.app.notify(str(exc), severity="error")

    def in_background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` (a coroutine) as the commands run: the decisions, which ask first.
        An error (no engine to ask) is one notification line."""
        self.app.run_worker(self._said(work), name=name, group="commands")

    async def _said(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except CockpitError as exc:
            self.app.notify(str(exc), severity="error")


#: Every command, in the order of the app's BINDINGS (the footer's, help's and the
#: palette's order), then those without a key.
ROUTES: tuple[Route, ...] = (
    Route(
        "help",
        "every key, by screen",
        "help",
        (Key("question_mark", "Help", "cockpit.help"),),
        slash=True,
        app_wide=True,
    ),
    Route(
        "inbox",
        "everything waiting on you",
        "inbox",
        (Key("i", "Inbox", "cockpit.inbox"),),
        slash=True,
    ),
    # Priority: the bar takes the focus before the next key is read, so "/review x"
    # typed fast lands in it instead of acting on the list (`i` would open the inbox).
    Route(
        "command",
        "a / command (/help)",
        "prompt('/')",
        (Key("slash", "Command", "cockpit.command", priority=True),),
    ),
    Route(
        "steer",
        "message the selected run",
        "prompt('')",
        (Key("s", "Steer", "cockpit.steer", priority=True),),
        handler=handlers.steer,
    ),
    Route("zoom", "the pane full screen, or back", "zoom", (Key("z", "Zoom", "cockpit.zoom"),)),
    Route(
        "next_run",
        "select the next run",
        "cycle(1)",
        (Key("right_square_bracket", "Next run", "cockpit.next_run"),),
    ),
    Route(
        "prev_run",
        "select the previous run",
        "cycle(-1)",
        (Key("left_square_bracket", "Prev run", "cockpit.prev_run", show=False),),
    ),
    Route(
        "cancel",
        "stop the selected run",
        "cancel_run",
        (Key("c", "Cancel run", "cockpit.cancel"),),
        handler=handlers.cancel,
    ),
    Route(
        "resume",
        "continue the selected interrupted or failed run",
        "resume_run",
        (Key("r", "Resume", "cockpit.resume", show=False),),
        handler=handlers.resume,
    ),
    Route(
        "gates",
        "run the selected repo's gates on its working tree",
        "run_gates",
        (Key("v", "Verify", "cockpit.gates", show=False),),
    ),
    Route(
        "findings",
        "the selected run's gate findings by file",
        "findings",
        (Key("f", "Findings", "cockpit.findings", show=False),),
    ),
    Route(
        "guard",
        "what the guard allowed and refused in the selected run",
        "guard",
        (Key("l", "Guard ledger", "cockpit.guard", show=False),),
        handler=handlers.guard,
    ),
    Route(
        "all_runs",
        "show or hide the runs decided over a day ago",
        "all_runs",
        (Key("a", "Older runs", "cockpit.all_runs", show=False),),
    ),
    # The pane's keys, here so they work from the list too (on the selected run's pane).
    Route(
        "expand",
        "expand or collapse the transcript's tool output",
        "pane('expand')",
        (Key("e", "Expand tools", "run.expand", show=False),),
    ),
    Route(
        "older",
        "load the transcript's older lines",
        "pane('older')",
        (Key("o", "Older lines", "run.older", show=False),),
    ),
    Route(
        "hunks",
        "show or hide the selected run's diff hunks",
        "hunks",
        (Key("d", "Diff hunks", "run.hunks", show=False),),
    ),
    Route(
        "shell",
        "a shell in the selected run's worktree (exit to come back)",
        "shell",
        (Key("exclamation_mark", "Shell in worktree", "cockpit.shell", show=False),),
    ),
    Route(
        "editor",
        "$EDITOR on the selected run's changed files",
        "editor",
        (Key("E", "Edit changed files", "cockpit.editor", show=False),),
    ),
    Route(
        "quit",
        "leave the cockpit: runs keep going in the engine",
        "quit_cockpit",
        (
            Key("q", "Quit", "cockpit.quit"),
            Key("ctrl+c", "Quit", "cockpit.quit_ctrl_c", show=False, priority=True, tooltip=""),
        ),
        slash=True,
        app_wide=True,
    ),
    Route(
        "quit_and_stop",
        "stop the workspace's engine and leave (runs in flight are interrupted; asks first)",
        "quit_and_stop",
        # Not in the footer (80 columns hold no more keys): help and the palette list it.
        (Key("Q", "Stop engine & quit", "cockpit.quit_and_stop", show=False),),
        app_wide=True,
    ),
    # Priority: the engine may stop while any screen is shown.
    Route(
        "start_engine",
        "start the workspace's engine again, once it stopped",
        "start_engine",
        (Key("ctrl+r", "Start engine", "cockpit.start_engine", show=False, priority=True),),
        app_wide=True,
    ),
    # No key: the palette offers them.
    Route(
        "run", COMMANDS["run"][0], "prompt('/run ')", handler=handlers.start, palette="Start a run…"
    ),
    Route(
        "skills",
        COMMANDS["skills"][1],
        handler=handlers.skills,
        palette="Skills of selected run or repo",
    ),
    Route("review", COMMANDS["review"][1], handler=handlers.review, palette="Review selected run"),
    Route(
        "approve",
        "merge its branch into its base, as the review's M (asks first)",
        "approve_run",
        palette="Approve selected run…",
    ),
    Route(
        "reject",
        "save its work aside and remove its branch, as the review's D (asks first)",
        "reject_run",
        palette="Reject selected run…",
    ),
    Route("theme", COMMANDS["theme"][1], handler=handlers.theme),
)

#: The routes by name.
ROUTE: dict[str, Route] = {route.name: route for route in ROUTES}
# Every `/` command parse() accepts is carried out, and nothing else.
_SLASH = {route.name for route in ROUTES if route.slash or route.handler is not None}
assert set(COMMANDS) == _SLASH, _SLASH ^ set(COMMANDS)

#: Actions of the routes that are the main screen's (the app runs them there).
SCREEN_ACTIONS: frozenset[str] = frozenset(
    action.partition("(")[0]
    for route in ROUTES
    if not route.app_wide
    for action in (route.action, *(key.action for key in route.keys))
    if action
)


def bindings() -> list[Binding]:
    """Every route's keys, in the table's order: the app's ``BINDINGS``."""
    return [binding for route in ROUTES for binding in route.bindings()]
