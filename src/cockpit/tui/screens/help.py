"""The help screen: the keys that work where you are, grouped by screen / widget, with
their binding ids.

The app pushes ``HelpScreen(collect_bindings(app))`` on ``?``: over the main screen, its
keys; over a pushed screen (the review, the inbox…), that screen's keys first, titled with
its name, then only the app's keys that still work there. Binding ids are shown so users
know what to put in a keymap (``App.set_keymap`` / ``update_keymap``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.color import Color, ColorParseError
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from cockpit.tui.screens.palette import (
    ScreenCommands,
    binding_classes,
    enabled,
    is_main,
    own_bindings,
)

__all__ = ["BindingGroup", "BindingRow", "HelpScreen", "collect_bindings", "screen_name"]

BindingRow = tuple[str, str, str | None]
"""One help row: (key display, description, binding id)."""

BindingGroup = tuple[str, list[BindingRow]]
"""A titled group of help rows (one screen or widget)."""

GLOBAL_GROUP = "Global"
#: On a pushed screen: the app's keys that still work there.
EVERYWHERE_GROUP = "Everywhere"

_CAMEL_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+")


def _words(class_name: str) -> str:
    """``"AgentListPanel"`` → ``"Agent List Panel"``."""
    return " ".join(_CAMEL_WORDS.findall(class_name)) or class_name


def _keyed(app: App[Any], binding: Binding) -> list[Binding]:
    """``binding`` split into one binding per key, keys as the app's keymap sets them."""
    # Textual 8 has no public getter for the keymap set with `App.set_keymap`.
    keymap: dict[str, str] = getattr(app, "_keymap", {}) or {}
    if binding.id and binding.id in keymap:
        binding = binding.with_key(keymap[binding.id], key_display=None)
    return list(Binding.make_bindings([binding]))


def _key_display(app: App[Any], binding: Binding, taken: frozenset[str] = frozenset()) -> str:
    """Display string for ``binding``'s key(s), honouring the app's keymap; keys in
    ``taken`` (another binding's, which wins) are left out."""
    displays: list[str] = []
    for one in _keyed(app, binding):
        if one.key in taken:
            continue
        try:
            display = app.get_key_display(one)
        except Exception:  # a custom get_key_display must never break the help screen
            display = one.key
        if display not in displays:
            displays.append(display)
    return " / ".join(displays)


def _rows(
    app: App[Any], bindings: Iterable[Binding], taken: frozenset[str] = frozenset()
) -> Iterator[BindingRow]:
    for binding in bindings:
        if not binding.show and not binding.description:
            continue
        keys = _key_display(app, binding, frozenset() if binding.priority else taken)
        if not keys:
            continue  # every key of it does something else (a priority binding's)
        description = binding.description or binding.action
        yield (keys, description, binding.id)


def collect_bindings(app: App[Any], *, include_textual: bool = False) -> list[BindingGroup]:
    """Gather the keys that work where you are (``app.screen``), grouped for :class:`HelpScreen`.

    On the main screen, groups in order:

    * ``"Global"`` — the App's ``BINDINGS`` (including Textual's own, e.g. quit), the
      command palette key and the base ``Screen`` focus keys;
    * the current screen's class, then every widget class in its DOM
      (``app.screen.walk_children()``), each under its ``HELP_GROUP`` attribute or else
      its class name split into words (``AgentList`` → ``"Agent List"``).

    On a screen pushed over it (the review, the inbox…): that screen's groups first, then
    ``"Everywhere"``: only the app's keys that still work there (the app's
    ``check_action`` does not turn them off, a modal screen lets only priority ones
    through, and the screen does not bind the same key).

    Widget classes defined inside the ``textual`` package (``DataTable``, ``Input``…) are
    skipped unless ``include_textual`` is true. Bindings with ``show=False`` and no
    description, and those whose action is turned off there (``check_action``), are
    skipped. Keys reflect the app's keymap (``set_keymap``) and are formatted with
    ``app.get_key_display``. Rows and classes are deduplicated.
    """
    screen = app.screen
    main = is_main(app, screen)
    app_bindings = [
        binding
        for binding in own_bindings(binding_classes(type(app), include_textual=True))
        if enabled(app, binding)
        and (main or binding.priority or not screen.is_modal)  # a modal stops the app's
    ]
    # Keys of the app's priority bindings do what those say, wherever the focus is
    # (ctrl+c quits, so the screen's "ctrl+c copies" is not listed for ctrl+c).
    taken = frozenset(
        one.key
        for item in app_bindings
        if item.priority and (item.show or item.description)
        for one in _keyed(app, item)
    )
    global_bindings = list(app_bindings)
    if app.ENABLE_COMMAND_PALETTE:
        global_bindings.append(
            Binding(
                app.COMMAND_PALETTE_BINDING,
                "command_palette",
                "Command palette",
                key_display=app.COMMAND_PALETTE_DISPLAY,
                priority=True,
            )
        )
    global_bindings.extend(b for b in own_bindings([Screen]) if enabled(screen, b))

    here: list[tuple[str, list[Binding]]] = []
    seen: set[type] = set()
    for node in [screen, *screen.walk_children()]:
        node_cls = type(node)
        if node_cls in seen:
            continue
        seen.add(node_cls)
        classes = binding_classes(node_cls, include_textual=include_textual)
        if isinstance(node, Screen):
            # The base Screen bindings are listed with the global ones.
            classes = [cls for cls in classes if cls is not Screen]
        bindings = [b for b in own_bindings(classes) if enabled(node, b)]
        if bindings:
            group = getattr(node_cls, "HELP_GROUP", None) or _words(node_cls.__name__)
            here.append((str(group), bindings))

    groups: dict[str, list[BindingRow]] = {}

    def add(group: str, bindings: Iterable[Binding], taken: frozenset[str]) -> None:
        rows = groups.setdefault(group, [])
        for row in _rows(app, bindings, taken):
            if row not in rows:
                rows.append(row)

    if main:
        add(GLOBAL_GROUP, global_bindings, taken)
        for group, bindings in here:
            add(group, bindings, taken)
    else:
        for group, bindings in here:
            add(group, bindings, taken)
        # The screen's own keys win over the app's (a non-priority one of the same key).
        bound_here = frozenset(
            one.key for _, bindings in here for item in bindings for one in _keyed(app, item)
        )
        add(EVERYWHERE_GROUP, global_bindings, taken | bound_here)

    return [(name, rows) for name, rows in groups.items() if rows]


def screen_name(app: App[Any], screen: Screen[Any]) -> str | None:
    """The name help gives the keys of ``screen`` (None: the main screen)."""
    if is_main(app, screen):
        return None
    return str(getattr(screen, "HELP_GROUP", None) or _words(type(screen).__name__))


class HelpScreen(ModalScreen[None]):
    """A modal listing every key binding, grouped, as Key | Action | Id; ``escape``/``q``/``?`` close it."""

    CSS_PATH = "help.tcss"
    HELP_GROUP: ClassVar[str] = "Help"
    COMMANDS = {ScreenCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close help", id="help.close"),
    ]

    def __init__(
        self,
        groups: list[BindingGroup],
        *,
        where: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the screen for ``groups``: ``[(group name, [(key, description, id)])]``;
        ``where``: the name of the screen whose keys they are (default: the screen help
        opens over, None for the main screen)."""
        super().__init__(name=name, id=id, classes=classes)
        self.groups: list[BindingGroup] = [(name, list(rows)) for name, rows in groups]
        self.where = where
        self.title = "Help"
        self.sub_title = "Key bindings"

    def compose(self) -> ComposeResult:
        """Heading, hint and the bindings table."""
        with Vertical(id="help-dialog"):
            yield Static("Help", id="help-title")
            yield Static(id="help-hint")
            table: DataTable[Text] = DataTable(
                id="help-table", cursor_type="row", zebra_stripes=False
            )
            yield table

    def on_mount(self) -> None:
        """Fill the table and keep its colours in step with the theme."""
        if self.where is None:
            stack = self.app.screen_stack
            below = stack[stack.index(self) - 1] if self in stack[1:] else None
            self.where = screen_name(self.app, below) if below is not None else None
        self._fill_heading()
        self._fill_table()
        table = self.query_one("#help-table", DataTable)
        if table.row_count > 1:
            table.move_cursor(row=1)  # the first binding, not the first group heading
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.query_one("#help-table", DataTable).focus()

    def _fill_heading(self) -> None:
        close = "[b]esc[/b] / [b]q[/b] / [b]?[/b] close"
        if self.where is None:
            title = "Help"
            hint = "All key bindings, by screen and widget. Ids can be remapped in a keymap."
        else:
            title = f"Help — {self.where}"
            hint = (
                f"The keys that work here ({self.where}), then those that work everywhere."
                " Ids can be remapped in a keymap."
            )
        self.query_one("#help-title", Static).update(title)
        self.query_one("#help-hint", Static).update(f"{hint}  {close}")

    def _theme_style(self, variable: str, *, bold: bool = False) -> Style:
        """A Rich style using the current theme's colour ``variable`` (falls back to plain)."""
        value = self.app.theme_variables.get(variable, "")
        try:
            color = Color.parse(value)
        except ColorParseError:
            return Style(bold=bold)
        return Style(color=color.rich_color, bold=bold)

    def _all_groups(self) -> list[BindingGroup]:
        """The given groups plus this screen's own bindings (so ``help.close`` is listed)."""
        if any(name == self.HELP_GROUP for name, _rows in self.groups):
            return self.groups
        own = list(_rows(self.app, own_bindings([HelpScreen])))
        return [*self.groups, (self.HELP_GROUP, own)]

    def _on_theme_changed(self, _theme: object) -> None:
        self._fill_table()

    def _fill_table(self) -> None:
        table: DataTable[Text] = self.query_one("#help-table", DataTable)
        table.clear(columns=True)
        table.add_column("Key", key="key")
        table.add_column("Action", key="action")
        table.add_column("Id", key="id")
        group_style = self._theme_style("accent", bold=True)
        key_style = self._theme_style("footer-key-foreground", bold=True)
        id_style = Style(dim=True)
        for index, (group, rows) in enumerate(self._all_groups()):
            if index:
                table.add_row(Text(""), Text(""), Text(""))
            table.add_row(Text(group, style=group_style), Text(""), Text(""))
            for key, description, binding_id in rows:
                table.add_row(
                    Text(f"  {key}", style=key_style),
                    Text(description),
                    Text(binding_id or "", style=id_style),
                )

    def action_close(self) -> None:
        """Close the help screen."""
        self.dismiss(None)
