"""The domain's JSON codec: every value the engine stores or sends comes back equal, and
data that does not fit its type is refused with where it went wrong."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import pytest

from engine.domain import codec
from engine.domain.diffs import FileDiff, RepoStatus, WorktreeDiff
from engine.domain.events import (
    Event,
    GateDecided,
    HumanAsked,
    ReviewDecided,
    RunStateChanged,
    ToolCallRequested,
    UsageReported,
    event_from_json,
    event_to_json,
)
from engine.domain.gates import Finding, GateResult, GateStatus
from engine.domain.models import Run
from engine.domain.review import Span
from engine.domain.state import RunState

AT = datetime(2026, 12, 6, 14, 1, 15, 123456, tzinfo=UTC)


def every_event() -> list[Any]:
    """One event of every type the union holds, each field set to something not default."""
    members = typing.get_args(Event)
    built = []
    for cls in members:
        sample: dict[str, Any] = {"run_id": "ab12cd34", "seq": 7, "at": AT}
        hints = typing.get_type_hints(cls)
        for name, hint in hints.items():
            if name in sample or name == "type":
                continue
            sample[name] = _sample(hint)
        built.append(cls(**sample))
    return built


def _sample(hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        return "text ✓"
    if hint is int:
        return 3
    if hint is float:
        return 0.25
    if hint is bool:
        return True
    if hint is RunState:
        return RunState.RUNNING
    if origin is Literal:
        return args[-1]
    if origin is list:
        return [_sample(args[0])] if args[0] is not dict else [{"path": "a.py", "line": 1}]
    if origin is dict:
        return {"key": "value"}
    if type(None) in args:
        return _sample(next(a for a in args if a is not type(None)))
    raise AssertionError(f"no sample for {hint!r}")


@pytest.mark.parametrize("event", every_event(), ids=lambda e: e.type)
def test_every_event_comes_back_equal_from_its_stored_json(event: Any) -> None:
    text = event_to_json(event)
    assert event_from_json(text) == event
    assert json.loads(text)["type"] == event.type


def test_the_json_of_times_paths_enums_and_nested_values() -> None:
    run = Run(id="ab12cd34", repo="app", task="t", agent="scripted", created_at=AT)
    data = codec.encode(run)
    assert data["created_at"] == "2026-12-06T14:01:15.123456Z"  # UTC as "Z", as before
    assert data["state"] == "queued" and data["skills"] == []
    other = timezone(timedelta(hours=2))
    assert codec.encode(datetime(2026, 1, 1, 1, 2, 3, tzinfo=other)) == "2026-01-01T01:02:03+02:00"
    assert codec.encode({"p": Path("/a/b"), "t": (1, 2)}) == {"p": "/a/b", "t": [1, 2]}
    assert codec.decode(Run, data) == run
    diff = WorktreeDiff(files=[FileDiff(path="a.py", status="M", added=2, patch="+x\n")])
    assert codec.decode(WorktreeDiff, codec.encode(diff)) == diff
    status = RepoStatus(branch="main", head_sha="abc", dirty=[(".M", "a.py")])
    back = codec.decode(RepoStatus, json.loads(json.dumps(codec.encode(status))))
    assert back == status and back.dirty == [(".M", "a.py")]
    result = GateResult(
        name="ruff",
        kind="ruff",
        status=GateStatus.FAILED,
        blocking=True,
        findings=[Finding("a.py", 1, "F401", "x")],
    )
    assert codec.decode(GateResult, codec.encode(result)) == result
    assert codec.decode(Span, {"turns": [1, 2]}) == Span((1, 2))
    assert codec.decode(tuple[Path, list[int]], ["/x", [1]]) == (Path("/x"), [1])


@pytest.mark.parametrize(
    ("hint", "data", "message"),
    [
        (int, "3", "expected an integer, got str '3'"),
        (int, True, "expected an integer, got bool True"),
        (str, None, "expected text, got NoneType None"),
        (RunState, "sleeping", "expected one of 'queued'"),
        (Run, {"id": "x", "repo": "app", "task": "t"}, "agent: missing"),
        (Run, {"id": "x", "repo": "app", "task": "t", "agent": 1}, "agent: expected text"),
        (list[Event], [{"type": "agent_text", "run_id": "r", "text": 5}], "[0].text: expected"),
        (list[Event], [{"type": "no_such_event", "run_id": "r"}], "[0].type: unknown type"),
        (Event, "agent_text", "expected an object"),
        (HumanAsked, {"run_id": "r", "question": "?", "kind": "other"}, "kind: expected one of"),
        (
            GateDecided,
            {"run_id": "r", "name": "n", "kind": "k", "status": "s", "at": "soon"},
            "at:",
        ),
        (dict[str, int], {"a": "b"}, "a: expected an integer"),
        (tuple[int, int], [1], "expected an array of 2"),
    ],
)
def test_data_that_does_not_fit_is_refused_saying_where(hint: Any, data: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        codec.decode(hint, data)
    assert message in str(caught.value)


def test_keys_a_newer_version_added_are_ignored_and_defaults_filled() -> None:
    stored = {"type": "usage_reported", "run_id": "r", "input_tokens": 5, "new_field": [1, 2]}
    event = codec.decode(Event, stored)
    assert isinstance(event, UsageReported) and event.input_tokens == 5
    assert event.output_tokens == 0 and event.cost_usd is None and event.seq == 0
    ints_as_floats = codec.decode(UsageReported, {"run_id": "r", "cost_usd": 1})
    assert ints_as_floats.cost_usd == 1.0 and isinstance(ints_as_floats.cost_usd, float)


def test_a_decided_run_and_a_state_change_keep_their_types() -> None:
    decided = ReviewDecided(run_id="r", decision="approved", sha="abc", gates_overridden=["ruff"])
    again = codec.decode(Event, codec.encode(decided))
    assert isinstance(again, ReviewDecided) and again.gates_overridden == ["ruff"]
    change = codec.decode(Event, codec.encode(RunStateChanged(run_id="r", new=RunState.FAILED)))
    assert isinstance(change, RunStateChanged) and change.new is RunState.FAILED
    call = ToolCallRequested(run_id="r", call_id="c", tool="bash", arguments={"cmd": ["ls", 1]})
    assert codec.decode(Event, json.loads(json.dumps(codec.encode(call)))) == call


def test_the_domain_loads_without_pydantic() -> None:
    # The cockpit is a client: it holds runs, events and diffs, and starts without the
    # validation library the engine's config uses.
    code = (
        "import sys, engine.domain.events, engine.domain.models, engine.domain.diffs, "
        "engine.domain.codec, engine.rpc.wire; "
        "assert 'pydantic' not in sys.modules, sorted(m for m in sys.modules if 'pydantic' in m)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
