"""The command palette's entries (``ctrl+p``), read from the router's table.

On the main screen: an entry per bound action (its title the key's description, its
help the tooltip, the keys as the keymap sets them and the binding ids), then the
routes with a palette entry of their own (starting a run, approving…). Everywhere:
Textual's own entries (never its Quit, which would not ask about runs in flight) and the
shipped themes. Pushed screens add their own keys' entries (``ScreenCommands``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from cockpit.tui.commands import SlashCommand
from cockpit.tui.router import ROUTES, CommandRouter, Route, bindings
from cockpit.tui.screens.palette import is_main, keys_shown

__all__ = ["bound_commands", "system_commands"]


def bound_commands(app: App[Any]) -> Iterator[SystemCommand]:
    """An entry per action bound on the main screen (the keys as the keymap sets them,
    and the binding ids, in its help). Selecting one runs the action as its key does."""
    by_action: dict[str, list[Binding]] = {}
    for binding in bindings():
        by_action.setdefault(binding.action, []).append(binding)
    for action, bound in by_action.items():
        shown = ", ".join(keys_shown(app, b) for b in bound)
        ids = ", ".join(b.id for b in bound if b.id)
        tip = next((b.tooltip for b in bound if b.tooltip), "")
        yield SystemCommand(
            bound[0].description,
            f"{tip} · key {shown} ({ids})" if tip else f"key {shown} ({ids})",
            functools.partial(app.run_action, action),
        )


def _runs(route: Route, main: Screen[Any], router: CommandRouter) -> Callable[[], Any]:
    """What selecting a route's own entry does: its action on the main screen (as its
    key would, were it bound), else its ``/`` command with nothing more typed."""
    if route.action:
        return functools.partial(main.run_action, route.action)
    return functools.partial(router.run, SlashCommand(route.name))


def system_commands(
    app: App[Any],
    screen: Screen[Any],
    router: CommandRouter,
    textual_commands: Iterable[SystemCommand],
) -> Iterator[SystemCommand]:
    """The palette's entries on ``screen``; ``textual_commands``: Textual's own."""
    main = is_main(app, screen)
    bound = list(bound_commands(app)) if main else []
    titles = {command.title for command in bound} | {"Quit"}
    yield from (c for c in textual_commands if c.title not in titles)
    yield from bound
    if main:
        for route in ROUTES:
            if route.palette:
                yield SystemCommand(route.palette, route.description, _runs(route, screen, router))
    for theme in sorted(t for t in app.available_themes if t.startswith("cockpit")):
        yield SystemCommand(
            f"Theme: {theme}",
            "Switch and remember",
            functools.partial(router.switch_theme, theme),
        )
