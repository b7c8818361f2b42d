"""A run's gate findings, grouped by file; picking one opens the diff at its line."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.tui.model import RunView
from cockpit.tui.screens.palette import ScreenCommands, help_key

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
    COMMANDS = {ScreenCommands}
    BINDINGS = [Binding("q,escape", "close", "Close", id="findings.close"), help_key("findings")]

    def __init__(self, view: RunView, gated: bool = True) -> None:
        super().__init__()
        self.view = view
        #: Whether the run's repo has gates configured (or defaults from its pyproject).
        self.gated = gated
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
        options += self._unfound()
        if not options:
            options = [Option(Text(self._empty(), style="italic"), disabled=True)]
        with Vertical(id="findings-box"):
            yield Static(Text(title, style="bold"), id="findings-title")
            yield OptionList(*options, id="findings-list")
            yield Static(
                Text("enter: open in the diff · q/escape: close · ?: keys", style="dim"),
                id="findings-help",
            )

    def _unfound(self) -> list[Option | None]:
        """Rows for the gates that did not pass yet found nothing to point at (an error,
        a missing tool, a verdict still coming): no finding is not a pass."""
        view, rows = self.view, []
        for name, verdict in sorted(view.gates.items()):
            status = view.gate_status(name)
            if status == "passed" or verdict.findings:
                continue
            row = Text(f"  {name}: {status}", style="bold")
            detail = (verdict.detail or "").strip().splitlines()
            if detail:
                row.append(f"  {detail[-1]}", style="dim")
            rows.append(Option(row, disabled=True))
        if rows:
            rows.insert(0, Option(Text("gates without findings", style="bold"), disabled=True))
        return rows

    def _empty(self) -> str:
        """What an empty list means: every gate passed only when some gate did."""
        if self.view.gates:
            return "no findings: every gate passed"
        if self.gated:
            run = self.view.run
            return (
                "no gate verdicts yet"
                if not run.state.is_terminal
                else "no gate verdicts on this run"
            )
        return f"no gates configured for {self.view.run.repo}"

    def on_mount(self) -> None:
        self.query_one("#findings-list").focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id in self.places:
            self.dismiss(self.places[event.option.id])

    def action_close(self) -> None:
        self.dismiss(None)
