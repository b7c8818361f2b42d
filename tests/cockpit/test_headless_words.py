"""The words the CLI and the panes print: counts in the right number, a state line that
does not repeat itself, a gate verdict with its findings, the command that answers."""

from __future__ import annotations

from cockpit.render import describe_event, plural, state_reason, steer_hint
from engine.domain.events import GateDecided, HumanAsked, RunStateChanged
from engine.domain.state import RunState


def test_plural_counts() -> None:
    assert plural(1, "file") == "1 file"
    assert plural(2, "file") == "2 files"
    assert plural(0, "finding") == "0 findings"
    assert plural(1, "process", "processes") == "1 process"
    assert plural(3, "process", "processes") == "3 processes"


def test_state_line_says_the_reason_once() -> None:
    cancelled = RunStateChanged(run_id="r1", new=RunState.CANCELLED, reason="cancelled")
    assert describe_event(cancelled) == "state → cancelled"
    assert state_reason("cancelled", "Cancelled") == ""
    failed = RunStateChanged(run_id="r1", new=RunState.FAILED, reason="boom")
    assert describe_event(failed) == "state → failed (boom)"


def _gate(status: str, findings: list[dict], detail: str = "") -> GateDecided:
    return GateDecided(
        run_id="r1", name="lint", kind="command", status=status, findings=findings, detail=detail
    )


def test_gate_line_names_the_verdict_and_findings() -> None:
    one = {"path": "app.py", "line": 3, "code": "E1", "message": "bad"}
    two = {"path": "b.py", "code": "E2", "message": "worse"}
    assert describe_event(_gate("passed", [])) == "gate lint: passed"
    assert describe_event(_gate("failed", [one])) == (
        "gate lint: failed, 1 finding (first: app.py:3: E1 bad)"
    )
    assert describe_event(_gate("failed", [one, two])) == (
        "gate lint: failed, 2 findings (first: app.py:3: E1 bad)"
    )
    assert describe_event(_gate("error", [], "ruff: not found")) == (
        "gate lint: error (ruff: not found)"
    )


def test_steer_hint_is_the_command_to_copy() -> None:
    asked = HumanAsked(run_id="r7", question="Which colour?")
    assert steer_hint("r7", asked) == 'answer with: cockpit steer r7 "YOUR ANSWER"'
    permission = HumanAsked(
        run_id="r7", question="run rm?", kind="permission", choices=["allow", "deny"]
    )
    assert steer_hint("r7", permission) == 'answer with: cockpit steer r7 "allow" (or: deny)'
