"""``/skills``: the skills a run loaded, and every skill a run on its repo could load."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.tui.screens.palette import ScreenCommands, help_key
from engine.domain.skills import Skill


class SkillsScreen(ModalScreen[None]):
    """Loaded skills (marked ●) among the repo's available ones, with where each lives."""

    HELP_GROUP = "Skills"
    CSS_PATH = "skills.tcss"
    COMMANDS = {ScreenCommands}
    BINDINGS = [Binding("q,escape", "close", "Close", id="skills.close"), help_key("skills")]

    def __init__(self, title: str, available: list[Skill], loaded: list[str] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.available = available
        #: None: no run in view (a repo's skills only).
        self.loaded = loaded

    def compose(self) -> ComposeResult:
        options: list[Option] = []
        by_name = {skill.name: skill for skill in self.available}
        if self.loaded is not None:
            options.append(Option(Text("Loaded by this run", style="bold"), disabled=True))
            if not self.loaded:
                options.append(Option(Text("  none", style="italic"), disabled=True))
            for name in self.loaded:
                options.append(self._row(name, by_name.get(name), loaded=True))
        others = [s for s in self.available if self.loaded is None or s.name not in self.loaded]
        heading = "Also available" if self.loaded is not None else "Available"
        options.append(Option(Text(heading, style="bold"), disabled=True))
        if not others:
            options.append(Option(Text("  none", style="italic"), disabled=True))
        for skill in others:
            options.append(self._row(skill.name, skill, loaded=False))
        with Vertical(id="skills-box"):
            yield Static(Text(self.title_text, style="bold"), id="skills-title")
            yield OptionList(*options, id="skills-list")
            yield Static(
                Text(
                    "a run loads its repo's AGENTS.md/CLAUDE.md, the repo's `skills`, those whose"
                    " applies_to matches, and --skill NAME · q/escape: close · ?: keys",
                    style="dim",
                ),
                id="skills-help",
            )

    @staticmethod
    def _row(name: str, skill: Skill | None, *, loaded: bool) -> Option:
        row = Text("  ● " if loaded else "  ○ ", style="bold" if loaded else "dim")
        row.append(name, style="bold")
        if skill is not None:
            row.append(f"  {skill.description}")
            row.append(f"\n      {skill.origin.replace(str(Path.home()), '~', 1)}", style="dim")
        return Option(row)

    def on_mount(self) -> None:
        self.query_one("#skills-list").focus()

    def action_close(self) -> None:
        self.dismiss(None)
