"""Whether a message typed in the prompt bar can go to a run as steering now.

A finished (or failed) run cannot be steered: the text stays in the bar, and enter again
sends it back to the agent with it (as the review's send-back does); a cancelled or
decided run cannot continue at all. No widgets here: the main screen does what the
verdict says.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.tui.model import CockpitModel, RunView
from engine.domain.state import RunState

__all__ = ["GO", "Go", "Keep", "SendBack", "Steering", "Verdict"]


@dataclass(frozen=True)
class Go:
    """Steer: the engine says whether the message is taken."""


@dataclass(frozen=True)
class Keep:
    """Keep the text in the bar, saying why (a warning, for ``timeout`` seconds when
    given)."""

    note: str
    timeout: float | None = None


@dataclass(frozen=True)
class SendBack:
    """Continue the finished (or failed) run with the message: its send-back."""

    run_id: str


Verdict = Go | Keep | SendBack
GO = Go()


class Steering:
    """Judges messages for runs; remembers the run the text in the bar was offered to
    continue (enter again takes the offer)."""

    def __init__(self, model: CockpitModel) -> None:
        self.model = model
        #: A finished (or failed) run the text kept in the prompt bar would continue.
        self._offer: str | None = None

    def view_of(self, ref: str) -> RunView | None:
        """The run ``ref`` names (its id or a unique prefix), if the model has it."""
        if ref in self.model.runs:
            return self.model.runs[ref]
        found = [view for run_id, view in self.model.runs.items() if run_id.startswith(ref)]
        return found[0] if len(found) == 1 else None

    def judge(self, ref: str) -> Verdict:
        """What to do with a message for run ``ref`` (its id or a unique prefix)."""
        view = self.view_of(ref)
        if view is None:  # not known here: the engine says
            self._offer = None
            return GO
        run = view.run
        if run.state in (RunState.FINISHED, RunState.FAILED) and not run.decided:
            if self._offer == run.id:
                self._offer = None
                return SendBack(run.id)
            self._offer = run.id
            return Keep(
                f"run {run.id} is {run.state.value}: enter again continues it with this"
                " message (escape keeps it here)",
                timeout=15,
            )
        self._offer = None
        if run.state is RunState.CANCELLED or run.decided:
            return Keep(
                f"run {run.id} is {run.outcome}: it cannot continue (/run starts a new one)"
            )
        return GO
