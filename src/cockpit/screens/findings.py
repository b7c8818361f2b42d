"""A run's gate findings, grouped by file; picking one opens the diff at its line."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.model import RunView

#: Where a picked finding is: (repo-relative path, line or None).
Place = tuple[str, int | None]


def grouped(view: RunView) -> list[tuple[str, list[tuple[str, dict]]]]:
    """The latest verdicts' findings as ``(path, [(gate, finding)])``, files in order,
    findings by line (those without one first)."""
    files: dict[str, list[tuple[str, dict]]] = {}
    for name, verdict in sorted(view.gates.items()):
        for finding in verdict.findings:
            files.setdefault(str(finding.get("path", "")), []).append((name, finding))
    return [
        (path, sorted(found, key=lambda item: item[1].get("line") or 0))
        for path, found in sorted(files.items())
    ]


class FindingsScreen(ModalScreen[Place | None]):
    """Findings grouped by file; dismisses with the place of the one picked."""

    HELP_GROUP = "Findings"
    CSS_PATH = "findings.tcss"
    BINDINGS = [Binding("escape", "close", "Close", id="findings.close")]

    def __init__(self, view: RunView) -> None:
        super().__init__()
        self.view = view
        self.places: dict[str, Place] = {}

    def compose(self) -> ComposeResult:
        groups = grouped(self.view)
        count = sum(len(found) for _, found in groups)
        title = f"Findings of {self.view.run.id} — {count} in {len(groups)} file(s)"
        options: list[Option | None] = []
        for path, found in groups:
            options.append(Option(Text(path or "(the whole tree)", style="bold"), disabled=True))
            for gate, finding in found:
                line = finding.get("line")
                option_id = str(len(self.places))
                self.places[option_id] = (path, line if isinstance(line, int) else None)
                row = Text(f"  {line or '-':>5}  ", style="dim")
                row.append(f"{gate} ", style="bold")
                row.append(f"{finding.get('code', '')} ")
                row.append(str(finding.get("message", "")))
                options.append(Option(row, id=option_id))
        if not options:
            options = [
                Option(Text("no findings: every gate passed", style="italic"), disabled=True)
            ]
        with Vertical(id="findings-box"):
            yield Static(Text(title, style="bold"), id="findings-title")
            yield OptionList(*options, id="findings-list")
            yield Static(
                Text("enter: open in the diff · escape: close", style="dim"), id="findings-help"
            )

    def on_mount(self) -> None:
        self.query_one("#findings-list").focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id in self.places:
            self.dismiss(self.places[event.option.id])

    def action_close(self) -> None:
        self.dismiss(None)
