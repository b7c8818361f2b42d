"""The keys of where you are, read from the ``BINDINGS`` of a screen and its widgets: for
the command palette (an entry per bound action) and for help (a row per key).

``binding_commands(node)`` yields a :class:`SystemCommand` for every described binding
of ``node`` (an app, a screen and its widgets) whose action is enabled there; a pushed
screen lists its own with ``COMMANDS = {ScreenCommands}``. The palette and help cannot
drift from the keys: both are read from the same bindings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from textual.actions import parse
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen

__all__ = [
    "ScreenCommands",
    "binding_classes",
    "binding_commands",
    "enabled",
    "is_main",
    "own_bindings",
]


def is_textual(cls: type) -> bool:
    return cls.__module__ == "textual" or cls.__module__.startswith("textual.")


def as_binding(item: BindingType) -> Binding:
    if isinstance(item, Binding):
        return item
    return Binding(*item)


def own_bindings(classes: Iterable[type]) -> list[Binding]:
    """Bindings declared directly on ``classes`` (base first); a subclass overrides by id/key."""
    merged: dict[object, Binding] = {}
    for cls in classes:
        for item in cls.__dict__.get("BINDINGS", ()):
            binding = as_binding(item)
            merged[binding.id or binding.key] = binding
    return list(merged.values())


def binding_classes(node_cls: type, *, include_textual: bool) -> list[type]:
    """Classes in ``node_cls``'s MRO (base first) whose ``BINDINGS`` should be listed."""
    return [
        cls
        for cls in reversed(node_cls.__mro__)
        if "BINDINGS" in cls.__dict__ and (include_textual or not is_textual(cls))
    ]


def is_main(app: App[Any], screen: Screen[Any] | None = None) -> bool:
    """Whether ``screen`` (default: the active one) is the app's main (bottom) screen."""
    stack = app.screen_stack
    if not stack:
        return True
    return (screen if screen is not None else stack[-1]) is stack[0]


def enabled(node: DOMNode, binding: Binding) -> bool:
    """Whether ``binding``'s action runs on ``node`` (its ``check_action`` does not say
    False; an ``app.`` action asks the app)."""
    namespace, name, parameters = parse(binding.action)
    target = node.app if namespace == "app" else node
    if namespace == "screen" and not isinstance(node, Screen):
        target = node.screen
    try:
        return target.check_action(name, parameters) is not False
    except Exception:  # a check must never break the palette or help
        return True


def _nodes(node: DOMNode) -> list[DOMNode]:
    """``node``, then (a screen) the widgets in it, one of each class."""
    nodes: list[DOMNode] = [node]
    if isinstance(node, Screen):
        seen: set[type] = {type(node)}
        for child in node.walk_children():
            if type(child) not in seen:
                seen.add(type(child))
                nodes.append(child)
    return nodes


def keys_shown(app: App[Any], binding: Binding) -> str:
    """The keys of ``binding`` as the keymap sets them, as the footer shows them."""
    keymap: dict[str, str] = getattr(app, "_keymap", {}) or {}
    if binding.id and binding.id in keymap:
        binding = binding.with_key(keymap[binding.id], key_display=None)
    shown: list[str] = []
    for one in Binding.make_bindings([binding]):
        try:
            display = app.get_key_display(one)
        except Exception:  # a custom get_key_display must never break the palette
            display = one.key
        if display not in shown:
            shown.append(display)
    return " / ".join(shown)


def binding_commands(node: DOMNode) -> Iterator[SystemCommand]:
    """A palette entry for every described binding of ``node`` (an app: its own; a
    screen: its own, then its widgets'), titled with the binding's description, whose
    action is enabled there. Selecting one runs the action as its key would. A title is
    offered once (the screen's binding before a widget's)."""
    app = node.app
    titles: set[str] = set()
    for one in _nodes(node):
        for binding in own_bindings(binding_classes(type(one), include_textual=False)):
            title = binding.description
            if not title or title in titles or not enabled(one, binding):
                continue
            titles.add(title)

            async def run(target: DOMNode = one, action: str = binding.action) -> None:
                await target.app.run_action(action, target)

            said = f"key {keys_shown(app, binding)}" + (f" ({binding.id})" if binding.id else "")
            tip = f"{binding.tooltip} · " if binding.tooltip else ""
            yield SystemCommand(title, f"{tip}{said}", run)


class ScreenCommands(Provider):
    """The command palette's entries for the screen it was opened on: its bound actions
    (see :func:`binding_commands`)."""

    def _commands(self) -> list[SystemCommand]:
        return sorted(binding_commands(self.screen), key=lambda command: command.title)

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    command.callback,
                    text=command.title,
                    help=command.help,
                )


def help_key(prefix: str) -> Binding:
    """``?`` on a pushed modal screen: help on its keys (the app's ``?`` stops at a modal)."""
    return Binding("question_mark", "app.help", "Keys here", id=f"{prefix}.help")
