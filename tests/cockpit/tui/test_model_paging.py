"""Transcripts are bounded in memory; earlier pages come back from the store."""

from cockpit.tui.model import MAX_ENTRIES, RunView
from engine.domain.events import AgentText, HumanAsked, RunStateChanged
from engine.domain.models import Run
from engine.domain.state import RunState


def _run() -> Run:
    return Run(id="r1", repo="app", task="t", agent="scripted", state=RunState.RUNNING)


def test_entries_are_bounded_but_counted():
    view = RunView(_run())
    view.load([AgentText(run_id="r1", seq=n, text=str(n)) for n in range(1, MAX_ENTRIES + 51)])
    assert len(view.entries) == MAX_ENTRIES
    assert view.entries_total == MAX_ENTRIES + 50
    assert view.entries[0].text == "51" and view.first_seq == 1


def test_prepend_puts_older_entries_first_without_touching_live_state():
    view = RunView(_run())
    view.load(
        [
            RunStateChanged(
                run_id="r1", seq=5, old=RunState.RUNNING, new=RunState.WAITING_FOR_HUMAN
            ),
            HumanAsked(run_id="r1", seq=6, question="now?"),
            AgentText(run_id="r1", seq=7, text="newest"),
        ]
    )
    assert view.first_seq == 5 and view.question == "now?"
    older = [AgentText(run_id="r1", seq=n, text=f"old {n}") for n in range(1, 5)]
    added = view.prepend(older)
    assert added == 4
    assert [e.text for e in view.entries][:4] == ["old 1", "old 2", "old 3", "old 4"]
    assert view.entries[-1].text == "newest"
    assert view.first_seq == 1
    assert view.question == "now?" and view.run.state is RunState.WAITING_FOR_HUMAN
    assert view.prepend([]) == 0
