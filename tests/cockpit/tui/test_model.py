"""Pure logic of the cockpit: folding engine events into run views, the inbox, commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cockpit.tui import model as model_module
from cockpit.tui.commands import COMMANDS, complete, parse
from cockpit.tui.model import MAX_ENTRIES, CockpitModel, RunView
from engine.domain.errors import BadInput
from engine.domain.events import (
    AgentText,
    ErrorOccurred,
    FileChanged,
    GateDecided,
    HumanAsked,
    ReviewDecided,
    RunStateChanged,
    SteeringDelivered,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
    UsageReported,
    WorkCommitted,
)
from engine.domain.models import Run
from engine.domain.state import RunState

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def make_run(run_id: str = "r1", state: RunState = RunState.QUEUED, **fields) -> Run:
    fields.setdefault("created_at", T0)
    fields.setdefault("updated_at", T0)
    return Run(
        id=run_id, repo="app", task=f"task of {run_id}", agent="scripted", state=state, **fields
    )


class Seq:
    """Hands out increasing per-run sequence numbers, like the engine does."""

    def __init__(self, run_id: str = "r1") -> None:
        self.run_id = run_id
        self.n = 0

    def __call__(self) -> dict:
        self.n += 1
        return {"run_id": self.run_id, "seq": self.n, "at": T0 + timedelta(seconds=self.n)}


def state(seq: Seq, new: RunState, old: RunState | None = None, reason: str | None = None):
    return RunStateChanged(**seq(), old=old, new=new, reason=reason)


def to_running(view: RunView, seq: Seq) -> None:
    for new in (RunState.STARTING, RunState.RUNNING):
        view.apply(state(seq, new))


# --- RunView.apply: one test per event type ---------------------------------------------


def test_state_change_sets_state_times_and_a_state_entry() -> None:
    view, seq = RunView(make_run()), Seq()
    assert view.apply(state(seq, RunState.STARTING)) is None
    assert view.run.state is RunState.STARTING
    assert view.run.started_at is None
    view.apply(state(seq, RunState.RUNNING))
    assert view.run.started_at == T0 + timedelta(seconds=2)
    assert view.run.finished_at is None
    assert [(e.kind, e.text) for e in view.entries] == [
        ("state", "starting"),
        ("state", "running"),
    ]
    notice = view.apply(state(seq, RunState.FINISHED))
    assert notice is not None and "finished" in notice and "r1" in notice
    assert view.run.finished_at == T0 + timedelta(seconds=3)
    assert view.elapsed == 2.0  # active from starting (T0+1) to finished (T0+3)


def test_state_change_to_the_same_state_adds_no_entry_and_no_notice() -> None:
    view, seq = RunView(make_run(state=RunState.RUNNING)), Seq()
    assert view.apply(state(seq, RunState.RUNNING)) is None
    assert len(view.entries) == 0


def test_a_stored_row_ahead_of_the_events_does_not_swallow_the_transition() -> None:
    # The app re-reads the run's row on state events: it can show the new state before
    # the event that tells of the transition is applied.
    model, seq = CockpitModel(), Seq()
    view = model.upsert(make_run())
    to_running(view, seq)
    model.upsert(make_run(state=RunState.WAITING_FOR_HUMAN))
    _, notices = model.apply([state(seq, RunState.WAITING_FOR_HUMAN, old=RunState.RUNNING)])
    assert notices == ["r1 (app) needs you"]
    assert [e.text for e in view.entries][-1] == "waiting_for_human"


def test_failed_records_the_reason_as_error_and_notifies() -> None:
    view, seq = RunView(make_run()), Seq()
    to_running(view, seq)
    notice = view.apply(state(seq, RunState.FAILED, reason="simulated crash"))
    assert view.run.error == "simulated crash"
    assert notice is not None and "failed" in notice and "simulated crash" in notice
    assert view.entries[-1].kind == "state" and view.entries[-1].detail == "simulated crash"


def test_interrupted_sets_finished_at_without_notice() -> None:
    view, seq = RunView(make_run()), Seq()
    to_running(view, seq)
    assert view.apply(state(seq, RunState.INTERRUPTED, reason="engine gone")) is None
    assert view.run.finished_at is not None
    assert view.apply(state(seq, RunState.QUEUED, reason="resumed")) is None
    assert view.apply(state(seq, RunState.CANCELLED)) is None


def test_agent_text_becomes_a_text_entry() -> None:
    view, seq = RunView(make_run()), Seq()
    assert view.apply(AgentText(**seq(), text="hello there")) is None
    assert [(e.kind, e.text) for e in view.entries] == [("text", "hello there")]


def test_tool_call_requested_shows_command_or_path() -> None:
    view, seq = RunView(make_run()), Seq()
    view.apply(ToolCallRequested(**seq(), call_id="c1", tool="shell", arguments={"command": "ls"}))
    view.apply(ToolCallRequested(**seq(), call_id="c2", tool="write", arguments={"path": "a.py"}))
    view.apply(ToolCallRequested(**seq(), call_id="c3", tool="think"))
    assert [(e.kind, e.text) for e in view.entries] == [
        ("tool", "shell ls"),
        ("tool", "write a.py"),
        ("tool", "think"),
    ]


def test_tool_call_finished_keeps_output_error_and_exit_code() -> None:
    view, seq = RunView(make_run()), Seq()
    view.apply(
        ToolCallFinished(
            **seq(), call_id="c1", tool="shell", output="1\n2\n3\n4\n5", is_error=True, exit_code=2
        )
    )
    view.apply(ToolCallFinished(**seq(), call_id="c2", tool="write", output="ok"))
    first, second = view.entries
    assert (first.kind, first.text, first.is_error) == ("result", "shell (exit 2)", True)
    assert first.detail == "1\n2\n3\n4\n5" and first.collapsible
    assert (second.text, second.is_error, second.collapsible) == ("write", False, False)


def test_file_changed_counts_files() -> None:
    view, seq = RunView(make_run()), Seq()
    view.apply(FileChanged(**seq(), path="a.py", change="added"))
    view.apply(FileChanged(**seq(), path="b.py", change="deleted"))
    assert view.files_touched == 2
    assert [e.text for e in view.entries] == ["added a.py", "deleted b.py"]


def test_turn_finished_updates_turns_completed() -> None:
    view, seq = RunView(make_run()), Seq()
    view.apply(TurnFinished(**seq(), turn=3, ref="refs/cockpit/r1/turn-3", sha="abc"))
    assert view.run.turns_completed == 3
    assert (view.entries[-1].kind, view.entries[-1].text) == ("turn", "turn 3 done")


def test_steering_delivered_clears_the_pending_message() -> None:
    view, seq = RunView(make_run()), Seq()
    view.note_sent(7, "use pathlib")
    assert view.pending_steering == {7: "use pathlib"}
    assert (view.entries[-1].kind, view.entries[-1].text) == ("you", "use pathlib")
    view.apply(SteeringDelivered(**seq(), steering_id=7, text="use pathlib"))
    assert view.pending_steering == {}
    assert (view.entries[-1].kind, view.entries[-1].text) == ("delivered", "use pathlib")
    assert view.entries_total == 2


def test_human_asked_while_already_waiting_keeps_the_question() -> None:
    view, seq = RunView(make_run()), Seq()
    to_running(view, seq)
    view.apply(state(seq, RunState.WAITING_FOR_HUMAN))
    view.apply(HumanAsked(**seq(), question="tests too?"))
    assert view.question == "tests too?"
    assert view.question_since == T0 + timedelta(seconds=4)
    assert (view.entries[-1].kind, view.entries[-1].text) == ("ask", "tests too?")
    view.apply(state(seq, RunState.RUNNING, reason="answered"))
    assert view.question is None


def test_human_asked_in_the_engine_order_keeps_the_question() -> None:
    """The order the real runner emits: HumanAsked, then the state change."""
    model, seq = CockpitModel(), Seq()
    view = model.upsert(make_run())
    to_running(view, seq)
    _, notices = model.apply(
        [
            HumanAsked(**seq(), question="tests too?"),
            state(seq, RunState.WAITING_FOR_HUMAN, reason="tests too?"),
        ]
    )
    assert notices == ["r1 (app) needs you"]
    assert view.question == "tests too?"
    assert [item.kind for item in model.inbox()] == ["question"]


@pytest.mark.parametrize("leaving", [RunState.RUNNING, RunState.CANCELLED, RunState.INTERRUPTED])
def test_leaving_waiting_for_human_clears_the_question(leaving: RunState) -> None:
    model, seq = CockpitModel(), Seq()
    view = model.upsert(make_run())
    to_running(view, seq)
    view.apply(HumanAsked(**seq(), question="tests too?"))
    view.apply(state(seq, RunState.WAITING_FOR_HUMAN))
    view.apply(state(seq, leaving))
    assert view.question is None
    assert model.inbox() == []


def test_waiting_for_human_notifies() -> None:
    view, seq = RunView(make_run()), Seq()
    to_running(view, seq)
    notice = view.apply(state(seq, RunState.WAITING_FOR_HUMAN, reason="tests too?"))
    assert notice == "r1 (app) needs you"


def test_usage_accumulates_tokens_and_cost() -> None:
    view, seq = RunView(make_run()), Seq()
    view.apply(UsageReported(**seq(), input_tokens=10, output_tokens=5))
    assert view.cost_usd is None
    view.apply(UsageReported(**seq(), input_tokens=1, output_tokens=2, cost_usd=0.25))
    view.apply(UsageReported(**seq(), input_tokens=1, output_tokens=2, cost_usd=0.5))
    assert (view.input_tokens, view.output_tokens, view.cost_usd) == (12, 9, 0.75)
    assert len(view.entries) == 0  # usage is shown in the header, not the transcript


def test_error_becomes_an_error_entry() -> None:
    view, seq = RunView(make_run()), Seq()
    view.apply(ErrorOccurred(**seq(), message="boom", detail="stderr text"))
    view.apply(ErrorOccurred(**seq(), message="bare"))
    assert [(e.kind, e.text, e.detail, e.is_error) for e in view.entries] == [
        ("error", "boom", "stderr text", True),
        ("error", "bare", "", True),
    ]


def test_work_committed_with_and_without_sha() -> None:
    view, seq = RunView(make_run()), Seq()
    view.apply(WorkCommitted(**seq(), branch="cockpit/r1", sha="abc123"))
    view.apply(WorkCommitted(**seq(), branch="cockpit/r1", sha=None))
    assert [e.text for e in view.entries] == ["committed to cockpit/r1", "nothing to commit"]


# --- dedupe, bounds, notifications -------------------------------------------------------


def test_events_at_or_below_last_seq_are_ignored() -> None:
    view, seq = RunView(make_run()), Seq()
    events = [AgentText(**seq(), text=f"t{i}") for i in range(3)]
    for event in events:
        view.apply(event)
    for event in events:  # the snapshot, then the live follow, deliver them again
        assert view.apply(event) is None
    view.apply(events[0])
    assert [e.text for e in view.entries] == ["t0", "t1", "t2"]
    assert view.last_seq == 3
    # An older state change delivered late does not move the run back either.
    view.apply(RunStateChanged(run_id="r1", seq=2, new=RunState.QUEUED))
    assert view.entries_total == 3


def test_entries_are_bounded_but_counted() -> None:
    view, seq = RunView(make_run()), Seq()
    for i in range(MAX_ENTRIES + 150):
        view.apply(AgentText(**seq(), text=f"line {i}"))
    assert len(view.entries) == MAX_ENTRIES
    assert view.entries_total == MAX_ENTRIES + 150
    assert view.entries[0].text == "line 150"
    assert view.entries[-1].text == f"line {MAX_ENTRIES + 149}"


def test_a_burst_of_text_raises_no_notifications() -> None:
    model, seq = CockpitModel(), Seq()
    view = model.upsert(make_run())
    to_running(view, seq)
    changed, notices = model.apply([AgentText(**seq(), text=f"chunk {i}") for i in range(1000)])
    assert changed == {"r1"}
    assert notices == []
    assert view.entries_total == 1002


def test_notifications_only_on_real_transitions() -> None:
    model, seq = CockpitModel(), Seq()
    model.upsert(make_run())
    events = [
        state(seq, RunState.STARTING),
        state(seq, RunState.RUNNING),
        AgentText(**seq(), text="working"),
        state(seq, RunState.WAITING_FOR_HUMAN),
        state(seq, RunState.WAITING_FOR_HUMAN),  # no transition: no second notice
        state(seq, RunState.RUNNING, reason="answered"),
        TurnFinished(**seq(), turn=1, ref="x", sha="y"),
        state(seq, RunState.FINISHED),
    ]
    _, notices = model.apply(events)
    assert notices == ["r1 (app) needs you", "r1 (app) finished — ready for review"]
    # Replayed (dedupe by seq): nothing again.
    assert model.apply(events) == ({"r1"}, [])


def test_events_of_unknown_runs_are_skipped() -> None:
    model = CockpitModel()
    changed, notices = model.apply([AgentText(**Seq("nope")(), text="x")])
    assert (changed, notices) == (set(), [])


def test_upsert_refreshes_stored_fields_and_keeps_the_view() -> None:
    model = CockpitModel()
    view = model.upsert(make_run())
    view.apply(AgentText(**Seq()(), text="kept"))
    again = model.upsert(make_run(state=RunState.RUNNING, worktree="/tmp/wt"))
    assert again is view
    assert view.run.worktree == "/tmp/wt"
    assert [e.text for e in view.entries] == ["kept"]


def test_elapsed_uses_the_clock_while_running(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "utcnow", lambda: T0 + timedelta(seconds=90))
    view = RunView(make_run(state=RunState.RUNNING, started_at=T0))
    assert view.elapsed == 90.0
    assert RunView(make_run()).elapsed is None


def at_state(new: RunState, seconds: float, old: RunState | None = None) -> RunStateChanged:
    return RunStateChanged(run_id="r1", seq=0, at=T0 + timedelta(seconds=seconds), old=old, new=new)


def test_active_time_leaves_out_idle_time_between_finish_and_continue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 23: 9m48s for seconds of work. Only starting/running spans count; the wall
    time since the start is there only as such."""
    monkeypatch.setattr(model_module, "utcnow", lambda: T0 + timedelta(seconds=600))
    view = RunView(make_run())
    view.apply(at_state(RunState.STARTING, 0, RunState.QUEUED))
    view.apply(at_state(RunState.RUNNING, 2, RunState.STARTING))
    view.apply(at_state(RunState.FINISHED, 10, RunState.RUNNING))
    assert view.active_seconds == 10.0
    # Continued nine minutes later, for five more seconds of work.
    view.apply(at_state(RunState.QUEUED, 550, RunState.FINISHED))
    view.apply(at_state(RunState.STARTING, 560, RunState.QUEUED))
    view.apply(at_state(RunState.RUNNING, 561, RunState.STARTING))
    view.apply(at_state(RunState.FINISHED, 565, RunState.RUNNING))
    assert view.active_seconds == view.elapsed == 15.0
    assert view.since_start == 598.0  # started_at: the first running


def test_active_time_leaves_out_waiting_for_the_human_and_counts_to_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_module, "utcnow", lambda: T0 + timedelta(seconds=100))
    view = RunView(make_run())
    view.apply(at_state(RunState.RUNNING, 0))
    view.apply(at_state(RunState.WAITING_FOR_HUMAN, 5, RunState.RUNNING))
    assert view.active_seconds == 5.0
    view.apply(at_state(RunState.RUNNING, 90, RunState.WAITING_FOR_HUMAN))
    assert view.active_seconds == 15.0  # 5 s, then 10 s since it ran again
    view.apply(at_state(RunState.INTERRUPTED, 95, RunState.RUNNING))
    assert view.active_seconds == 10.0


def test_active_time_of_a_partly_loaded_run_counts_what_the_events_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the newest page loaded: the first change seen leaves running, so the span
    before it counts from the oldest event seen; prepending older pages completes it."""
    monkeypatch.setattr(model_module, "utcnow", lambda: T0 + timedelta(seconds=1000))
    view = RunView(make_run(state=RunState.FINISHED, started_at=T0))
    view.load(
        [
            AgentText(run_id="r1", seq=5, at=T0 + timedelta(seconds=20), text="late"),
            RunStateChanged(
                run_id="r1",
                seq=6,
                at=T0 + timedelta(seconds=30),
                old=RunState.RUNNING,
                new=RunState.FINISHED,
            ),
        ]
    )
    assert view.active_seconds == 10.0
    view.prepend(
        [
            RunStateChanged(run_id="r1", seq=1, at=T0, old=RunState.QUEUED, new=RunState.RUNNING),
            AgentText(run_id="r1", seq=2, at=T0 + timedelta(seconds=1), text="early"),
        ]
    )
    assert view.active_seconds == 30.0


def test_a_never_started_run_has_no_active_time() -> None:
    view = RunView(make_run())
    view.apply(at_state(RunState.QUEUED, 0))
    assert view.active_seconds is None and view.since_start is None


# --- inbox and counts --------------------------------------------------------------------


def _waiting(run_id: str, since: datetime) -> RunView:
    view = RunView(make_run(run_id, RunState.WAITING_FOR_HUMAN))
    view.facts.question = f"question of {run_id}?"
    view.facts.question_since = since
    return view


def test_inbox_sorted_oldest_first_with_kinds() -> None:
    model = CockpitModel()
    model.runs["q-new"] = _waiting("q-new", T0 + timedelta(minutes=5))
    model.runs["fin"] = RunView(
        make_run("fin", RunState.FINISHED, finished_at=T0 + timedelta(minutes=3))
    )
    model.runs["bad"] = RunView(
        make_run("bad", RunState.FAILED, error="boom", finished_at=T0 + timedelta(minutes=1))
    )
    model.runs["q-old"] = _waiting("q-old", T0)
    model.runs["run"] = RunView(make_run("run", RunState.RUNNING))
    model.runs["queued"] = RunView(make_run("queued"))
    model.runs["gone"] = RunView(make_run("gone", RunState.CANCELLED))
    model.runs["intr"] = RunView(make_run("intr", RunState.INTERRUPTED))
    items = model.inbox()
    assert [(i.run_id, i.kind) for i in items] == [
        ("q-old", "question"),
        ("bad", "failed"),
        ("fin", "review"),
        ("q-new", "question"),
    ]
    assert items[0].title == "question of q-old?"
    assert items[1].title == "failed: boom"
    assert items[2].title == "ready for review: task of fin"
    assert model.counts() == {"running": 1, "queued": 1, "waiting": 4}

    model.reviewed |= {"fin", "bad"}
    assert [i.run_id for i in model.inbox()] == ["q-old", "q-new"]


def test_inbox_falls_back_to_updated_at() -> None:
    model = CockpitModel()
    model.runs["fin"] = RunView(make_run("fin", RunState.FINISHED, updated_at=T0))
    waiting = _waiting("w", T0 + timedelta(seconds=1))
    waiting.facts.question_since = None
    waiting.run.updated_at = T0 - timedelta(hours=1)
    model.runs["w"] = waiting
    assert [(i.run_id, i.since) for i in model.inbox()] == [
        ("w", T0 - timedelta(hours=1)),
        ("fin", T0),
    ]


def test_a_waiting_run_without_question_is_not_in_the_inbox() -> None:
    model = CockpitModel()
    model.runs["w"] = RunView(make_run("w", RunState.WAITING_FOR_HUMAN))
    assert model.inbox() == []


# --- commands: parse -------------------------------------------------------------------


def test_parse_run_with_every_option() -> None:
    command = parse(
        '/run app "say hi to everyone" --agent scripted --scenario s.toml --skill a --skill b'
    )
    assert command.name == "run"
    assert command.args == ["app", "say hi to everyone"]
    assert (command.agent, command.scenario, command.skills) == ("scripted", "s.toml", ["a", "b"])


def test_parse_run_joins_unquoted_task_words_and_options_anywhere() -> None:
    command = parse("/run --scenario x.toml lib fix the bug")
    assert command.args == ["lib", "fix the bug"]
    assert command.scenario == "x.toml"
    assert command.agent is None and command.skills == []


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("/steer abc12345 use pathlib please", "steer", ["abc12345", "use pathlib please"]),
        ('/steer abc "quoted message"', "steer", ["abc", "quoted message"]),
        ("/cancel", "cancel", []),
        ("/cancel abc", "cancel", ["abc"]),
        ("/resume", "resume", []),
        ("/resume abc", "resume", ["abc"]),
        ("/review", "review", []),
        ("/review abc", "review", ["abc"]),
        ("/inbox", "inbox", []),
        ("/guard", "guard", []),
        ("/guard r-1", "guard", ["r-1"]),
        ("/skills api", "skills", ["api"]),
        ("/theme cockpit-light", "theme", ["cockpit-light"]),
        ("/help", "help", []),
        ("/quit", "quit", []),
        ("  /HELP  ", "help", []),
    ],
)
def test_parse_commands(text: str, name: str, args: list[str]) -> None:
    command = parse(text)
    assert (command.name, command.args) == (name, args)


def test_every_command_is_covered() -> None:
    assert set(COMMANDS) == {
        "run",
        "steer",
        "cancel",
        "resume",
        "review",
        "inbox",
        "guard",
        "skills",
        "theme",
        "help",
        "quit",
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("/", "type a command"),
        ("/   ", "type a command"),
        ("/frobnicate", "unknown command /frobnicate"),
        ("/run", "usage: /run"),
        ("/run app", "usage: /run"),
        ("/run app task --agent", "--agent needs a value"),
        ("/run app task --scenario", "--scenario needs a value"),
        ("/run app task --skill", "--skill needs a value"),
        ("/steer", "usage: /steer"),
        ("/steer abc", "usage: /steer"),
        ("/theme", "usage: /theme"),
        ("/theme a b", "usage: /theme"),
        ("/cancel a b", "usage: /cancel"),
        ("/resume a b", "usage: /resume"),
        ("/review a b", "usage: /review"),
        ("/inbox now", "usage: /inbox"),
        ("/help me", "usage: /help"),
        ("/quit now", "usage: /quit"),
        ('/run app "unclosed', "cannot parse"),
    ],
)
def test_parse_errors_are_one_line_bad_input(text: str, fragment: str) -> None:
    with pytest.raises(BadInput) as info:
        parse(text)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


# --- commands: complete ----------------------------------------------------------------


def candidates(kind: str) -> list[str]:
    return {
        "repo": ["app", "lib"],
        "run": ["deadbeef", "cafe0001", "cafe0002"],
        "theme": ["cockpit-dark", "cockpit-light", "textual-dark"],
        "agent": ["scripted", "claude"],
    }.get(kind, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/", "/run"),
        ("/r", "/run"),
        ("/re", "/resume"),
        ("/rev", "/review"),
        ("/st", "/steer"),
        ("/c", "/cancel"),
        ("/i", "/inbox"),
        ("/th", "/theme"),
        ("/h", "/help"),
        ("/q", "/quit"),
        ("/Q", "/quit"),
        ("/run", None),  # already complete
        ("/x", None),
        ("run", None),  # not a command: plain steering text
        ("", None),
    ],
)
def test_complete_command_names(text: str, expected: str | None) -> None:
    assert complete(text, candidates) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/run a", "/run app"),
        ("/run l", "/run lib"),
        ("/run ", "/run app"),
        ("/run app", None),
        ("/run z", None),
        ("/steer dead", "/steer deadbeef"),
        ("/cancel cafe", "/cancel cafe0001"),
        ("/resume cafe0002", None),
        ("/review d", "/review deadbeef"),
        ("/theme cockpit-l", "/theme cockpit-light"),
        ("/help x", None),
        ("/inbox ", None),
        ("/run app do it", None),  # past the first argument
        ("/run app task --agent ", "/run app task --agent scripted"),
    ],
)
def test_complete_arguments(text: str, expected: str | None) -> None:
    assert complete(text, candidates) == expected


def test_apostrophes_are_prose_not_quoting() -> None:
    assert parse("/steer ab12 don't touch it").args == ["ab12", "don't touch it"]
    assert parse("/run app fix the user's bug").args == ["app", "fix the user's bug"]


def gate(seq: Seq, name: str, status: str, tree: str, blocking: bool = True, findings=()):
    return GateDecided(
        **seq(),
        name=name,
        kind="ruff",
        status=status,
        blocking=blocking,
        findings=list(findings),
        tree=tree,
        turn=1,
    )


def test_gate_verdicts_are_kept_per_gate_and_go_stale_on_a_newer_turn() -> None:
    view = RunView(make_run(state=RunState.RUNNING))
    seq = Seq()
    finding = {"path": "a.py", "line": 3, "code": "F401", "message": "unused"}
    view.apply(TurnFinished(**seq(), turn=1, ref="r", sha="t1"))
    view.apply(gate(seq, "lint", "failed", "t1", findings=[finding]))
    view.apply(gate(seq, "types", "passed", "t1", blocking=False))
    assert view.gate_status("lint") == "failed"
    assert [g.name for g in view.red_gates()] == ["lint"]
    entry = view.entries[-2]
    assert (entry.kind, entry.text, entry.is_error) == (
        "result",
        "gate lint: failed, 1 finding",
        True,
    )
    assert entry.detail == "a.py:3: F401 unused"
    view.apply(TurnFinished(**seq(), turn=2, ref="r", sha="t2"))
    assert view.gate_status("lint") == "stale" and view.red_gates() == []
    view.apply(GateDecided(**seq(), name="lint", kind="ruff", status="passed", tree="t2", turn=2))
    assert view.gate_status("lint") == "passed"
    # The final commit does not make the last turn's verdicts stale.
    view.apply(WorkCommitted(**seq(), branch="b", sha="final"))
    assert view.gate_status("lint") == "passed"


def test_a_finished_run_with_red_gates_is_in_the_inbox_as_gates() -> None:
    model = CockpitModel()
    view = RunView(make_run("fin", RunState.FINISHED, finished_at=T0))
    seq = Seq("fin")
    view.apply(WorkCommitted(**seq(), branch="b", sha="final"))
    view.apply(gate(seq, "format", "failed", "final"))
    view.apply(gate(seq, "lint", "failed", "final", blocking=False))  # advisory: not red
    model.runs["fin"] = view
    [item] = model.inbox()
    assert (item.kind, item.title) == ("gates", "red gates (format): task of fin")


def test_a_running_gate_is_a_badge_not_a_transcript_line() -> None:
    view = RunView(make_run(state=RunState.RUNNING))
    seq = Seq()
    before = view.entries_total
    view.apply(GateDecided(**seq(), name="lint", kind="ruff", status="running", turn=1))
    assert view.gate_status("lint") == "running" and view.entries_total == before


def test_a_decided_run_leaves_the_inbox_and_its_transcript_says_how() -> None:
    model = CockpitModel()
    view = RunView(make_run("fin", RunState.FINISHED, finished_at=T0))
    model.runs["fin"] = view
    assert [item.kind for item in model.inbox()] == ["review"]
    seq = Seq("fin")
    view.apply(ReviewDecided(**seq(), decision="approved", base="main", sha="abc123def4567"))
    assert model.inbox() == []
    assert view.entries[-1].text == "approved: merged into main as abc123def456"


# --- decided runs -----------------------------------------------------------------------


def test_review_decided_sets_the_runs_decision_fields_and_public_json() -> None:
    views = {}
    for run_id, decided in (
        ("m", {"decision": "approved", "base": "main", "sha": "abc", "merged": True}),
        ("n", {"decision": "approved", "base": "main", "sha": "base", "merged": False}),
        ("x", {"decision": "rejected", "salvage": "/s"}),
    ):
        seq = Seq(run_id)
        view = RunView(make_run(run_id, RunState.FINISHED, worktree="/w", branch="b"))
        view.apply(ReviewDecided(**seq(), **decided))
        views[run_id] = view
    merged, nothing, rejected = (views[k].run for k in "mnx")
    assert (merged.decision, merged.merge_sha, merged.outcome) == ("merged", "abc", "merged")
    assert (nothing.decision, nothing.merge_sha) == ("merged", "base")
    assert nothing.outcome == "nothing to merge"
    assert (rejected.decision, rejected.merge_sha, rejected.outcome) == (
        "rejected",
        None,
        "rejected",
    )
    assert merged.decided_at == T0 + timedelta(seconds=1)
    data = nothing.public_dict()
    assert data["decision"] == "merged" and data["merge_sha"] == "base"
    assert data["branch"] is None and data["worktree"] is None
    assert "nothing_to_merge" not in data
    undecided = make_run("u", RunState.FINISHED, worktree="/w", branch="b").public_dict()
    assert (undecided["decision"], undecided["merge_sha"], undecided["decided_at"]) == (
        None,
        None,
        None,
    )
    assert undecided["branch"] == "b" and undecided["worktree"] == "/w"


def test_a_stored_row_read_before_the_decision_keeps_the_decision() -> None:
    model = CockpitModel()
    seq = Seq("r1")
    view = model.upsert(make_run("r1", RunState.FINISHED))
    view.apply(ReviewDecided(**seq(), decision="rejected", salvage="/s"))
    model.upsert(make_run("r1", RunState.FINISHED))  # a row read before the event
    assert model.runs["r1"].run.decision == "rejected"


def test_runs_decided_over_a_day_ago_are_hidden_unless_show_all() -> None:
    model = CockpitModel()
    now = datetime.now(UTC)
    for run_id, days in (("old", 2.0), ("recent", 0.5), ("open", None)):
        run = make_run(run_id, RunState.FINISHED)
        if days is not None:
            run.decision, run.decided_at = "rejected", now - timedelta(days=days)
        model.upsert(run)
    assert [v.run.id for v in model.shown_runs(now)] == ["recent", "open"]
    assert model.hidden_count(now) == 1
    model.show_all = True
    assert [v.run.id for v in model.shown_runs(now)] == ["old", "recent", "open"]
    assert model.hidden_count(now) == 0


def test_a_finished_run_with_red_blocking_gates_is_marked_so() -> None:
    from cockpit.tui.widgets.glyphs import run_mark

    seq = Seq()
    view = RunView(make_run(state=RunState.FINISHED))
    assert run_mark(view.run, bool(view.red_gates()))[:2] == ("✓", "finished")
    view.apply(GateDecided(**seq(), name="secrets (built in)", kind="secrets", status="failed"))
    assert run_mark(view.run, bool(view.red_gates())) == ("!", "gates red", "error")
    view.apply(ReviewDecided(**seq(), decision="approved", sha="s", gates_overridden=["x"]))
    assert run_mark(view.run, bool(view.red_gates()))[:2] == ("◆", "merged")
