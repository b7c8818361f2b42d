"""The guard's ledger for one run: every decision a rule made, a count per rule (this run
and all runs), and the one-key override of a refusal."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.client import EngineClient
from cockpit.tui.screens.palette import ScreenCommands, help_key
from engine.domain.errors import CockpitError
from engine.domain.guard import OVERRIDDEN, GuardRecord

MARK = {"refused": "⛔", "allowed": "✓", OVERRIDDEN: "↺"}


def count_line(counts: dict[str, dict[str, int]]) -> str:
    """``rule: 2 refused, 1 allowed`` per rule, rules by most refusals."""
    if not counts:
        return "none"
    ranked = sorted(counts.items(), key=lambda item: (-item[1].get("refused", 0), item[0]))
    return " · ".join(
        f"{rule} " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
        for rule, outcomes in ranked
    )


def per_rule(rows: list[GuardRecord]) -> dict[str, dict[str, int]]:
    """The rows' outcome counts by rule."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        outcomes = counts.setdefault(row.rule, {})
        outcomes[row.outcome] = outcomes.get(row.outcome, 0) + 1
    return counts


class GuardScreen(ModalScreen[None]):
    """A run's guard ledger; ``o`` overrides the highlighted refusal."""

    HELP_GROUP = "Guard ledger"
    CSS_PATH = "guard.tcss"
    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("o", "override", "Override", id="guard.override"),
        Binding("q,escape", "close", "Close", id="guard.close"),
        help_key("guard"),
    ]

    def __init__(self, client: EngineClient, run_id: str) -> None:
        super().__init__()
        self.client = client
        self.run_id = run_id
        self.rows: list[GuardRecord] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="guard-box"):
            yield Static(Text(f"Guard ledger of {self.run_id}", style="bold"), id="guard-title")
            yield OptionList(id="guard-list")
            yield Static(id="guard-counts")
            yield Static(
                Text(
                    "o: override the highlighted refusal (its rule is lifted for the rest of "
                    "the run, and the agent told) · q/escape: close · ?: keys",
                    style="dim",
                ),
                id="guard-help",
            )

    def on_mount(self) -> None:
        self.query_one("#guard-list").focus()
        self.reload()

    @work(exclusive=True)
    async def reload(self) -> None:
        """Read the ledger again (after an override, or on opening)."""
        rows = await self.client.guard_ledger(self.run_id)
        everywhere = await self.client.guard_counts()
        self.rows = rows
        listing = self.query_one("#guard-list", OptionList)
        listing.clear_options()
        if not rows:
            listing.add_option(
                Option(Text("no guard decisions in this run", style="italic"), disabled=True)
            )
        for n, row in enumerate(rows):
            line = Text(f" {row.at.astimezone():%H:%M:%S} ", style="dim")
            line.append(f"{MARK.get(row.outcome, '·')} {row.outcome:<10} ", style="bold")
            line.append(f"{row.rule:<24} ")
            line.append(f"{row.tool} {row.action}".strip())
            if row.reason:
                line.append(f"\n            {row.reason}", style="dim")
            listing.add_option(Option(line, id=str(n)))
        refused = [n for n, row in enumerate(rows) if row.outcome == "refused"]
        if refused:
            listing.highlighted = refused[-1]
        refusals = sum(row.outcome == "refused" for row in rows)
        self.query_one("#guard-title", Static).update(
            Text(
                f"Guard ledger of {self.run_id} — {len(rows)} decision(s), {refusals} refused",
                style="bold",
            )
        )
        self.query_one("#guard-counts", Static).update(
            Text.assemble(
                ("this run: ", "bold"),
                count_line(per_rule(rows)),
                ("\nall runs: ", "bold"),
                count_line(everywhere),
            )
        )

    async def action_override(self) -> None:
        listing = self.query_one("#guard-list", OptionList)
        index = listing.highlighted
        if index is None or index >= len(self.rows):
            return
        row = self.rows[index]
        if row.outcome != "refused":
            self.notify("only a refusal can be overridden: highlight a ⛔ row", severity="warning")
            return
        try:
            await self.client.override_guard(self.run_id, row.rule)
        except CockpitError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(
            f"{row.rule} lifted for the rest of {self.run_id}; the agent is told it may retry"
        )
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)
