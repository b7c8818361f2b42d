"""Acting on the highlighted run or repo from the main screen: cancel, resume, approve,
reject (each asks first where it cannot be undone), continue a finished run with a
message, verify a repo's gates.

The main screen's keys and palette entries call these with the
:class:`~cockpit.tui.router.CommandRouter`, through which they reach the engine and the
selection; the ``/`` commands among them (``/cancel``, ``/resume``) go through the router.
"""

from __future__ import annotations

import asyncio

from textual.notifications import SeverityLevel

from cockpit.tui.commands import SlashCommand
from cockpit.tui.model import RunView
from cockpit.tui.reads import repo_problem
from cockpit.tui.router import CommandRouter
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.selection import RepoRow
from cockpit.tui.slash import Commands
from engine.domain.errors import CockpitError, GatesRed
from engine.domain.gates import GateResult, GateStatus
from engine.domain.models import utcnow
from engine.domain.state import RunState

__all__ = ["approve", "cancel", "reject", "resume", "send_back", "verdict_note", "verify"]


def verdict_note(repo: str, results: list[GateResult]) -> tuple[str, SeverityLevel]:
    """What ``v`` says of a repo's verdicts: passed only when every gate passed."""
    if not results:
        return f"{repo}: no gates configured ([[repos.{repo}.gates]] in cockpit.toml)", "warning"
    held = [r.name for r in results if r.holds_back]
    if held:
        return f"{repo}: gates red ({', '.join(held)})", "error"
    others = [f"{r.name} {r.status.value}" for r in results if r.status is not GateStatus.PASSED]
    if others:
        return f"{repo}: blocking gates passed; advisory: {', '.join(others)}", "warning"
    return f"{repo}: gates passed", "information"


def cancel(router: CommandRouter) -> None:
    """Cancel the highlighted run, once confirmed."""
    run_id = router.selected_run_id()
    if run_id is None:
        router.app.notify("select a run first", severity="warning")
        return

    def confirmed(yes: bool | None) -> None:
        if yes:
            router.run(SlashCommand("cancel", [run_id]))

    router.app.push_screen(ConfirmScreen(f"Cancel run {run_id}?"), confirmed)


def resume(router: CommandRouter) -> None:
    """Resume the highlighted (interrupted or failed) run."""
    run_id = router.selected_run_id()
    if run_id:
        router.run(SlashCommand("resume", [run_id]))


def send_back(router: CommandRouter, run_id: str, message: str) -> None:
    """Continue a finished (or failed) run with ``message``: queued again, the message
    waiting for its agent (the review's send-back)."""
    router.in_background(_send_back(router, run_id, message), "send_back")


async def _send_back(router: CommandRouter, run_id: str, message: str) -> None:
    client = await router.client()
    try:
        run = await client.send_back(run_id, message)
    except CockpitError as exc:
        router.app.notify(str(exc), severity="error")
        return
    router.app.notify(f"run {run.id} continues with your message", timeout=4)


def _to_decide(router: CommandRouter, verb: str) -> RunView | None:
    """The highlighted run, if it is one that can be approved or rejected."""
    run_id = router.selected_run_id()
    view = router.model.runs.get(run_id) if run_id else None
    if view is None:
        router.app.notify(f"highlight a run to {verb}")
        return None
    run = view.run
    if run.decided:
        router.app.notify(f"run {run.id} is already {run.outcome}")
    elif run.state is not RunState.FINISHED:
        router.app.notify(f"run {run.id} is {run.state.value}: only a finished run can be {verb}d")
    else:
        return view
    return None


def approve(router: CommandRouter) -> None:
    """Approve the highlighted run (merged as its repo's ``merge`` says), once confirmed;
    red blocking gates ask again (the review's M and y)."""
    view = _to_decide(router, "approve")
    if view is None:
        return
    config = router.workspace.repo(view.run.repo)
    how = "squash it into" if config.merge == "squash" else "merge it into"

    def confirmed(yes: bool | None) -> None:
        if yes:
            router.in_background(_approve(router, view.run.id), "approve")

    question = f"Approve {view.run.id}: {how} {config.base}?"
    router.app.push_screen(ConfirmScreen(question), confirmed)


async def _approve(router: CommandRouter, run_id: str, override_gates: bool = False) -> None:
    client = await router.client()
    app = router.app
    try:
        done = await client.approve(run_id, override_gates=override_gates)
    except GatesRed as red:

        def anyway(yes: bool | None) -> None:
            if yes:
                router.in_background(_approve(router, run_id, override_gates=True), "approve")

        question = (
            f"Blocking gates are red: {', '.join(red.gates)}. Approve anyway?"
            " (the override is recorded with the merge)"
        )
        app.push_screen(ConfirmScreen(question), anyway)
        return
    except CockpitError as exc:
        app.notify(str(exc), severity="error", timeout=10)
        return
    if not done.merged:
        app.notify(f"{run_id}: {done.base} already has its changes; nothing merged")
    else:
        how = "squashed" if done.squash else "merged"
        app.notify(f"{run_id} {how} into {done.base} as {done.sha[:12]}", timeout=8)


def reject(router: CommandRouter) -> None:
    """Reject the highlighted run (its work saved aside), once confirmed."""
    view = _to_decide(router, "reject")
    if view is None:
        return

    def confirmed(yes: bool | None) -> None:
        if yes:
            router.in_background(_reject(router, view.run.id), "reject")

    question = f"Reject {view.run.id}: save its work aside and remove its branch?"
    router.app.push_screen(ConfirmScreen(question), confirmed)


async def _reject(router: CommandRouter, run_id: str) -> None:
    client = await router.client()
    try:
        path = await client.reject(run_id)
    except CockpitError as exc:
        router.app.notify(str(exc), severity="error", timeout=10)
        return
    router.app.notify(f"{run_id} rejected; its work is saved in {path}", timeout=8)


def verify(router: CommandRouter) -> None:
    """Run the highlighted repo's gates on its working tree (runs are judged on every
    turn already)."""
    selected = router.selected
    if not isinstance(selected, RepoRow):
        router.app.notify("v runs a repo's gates: highlight a repo (runs are judged every turn)")
        return
    router.in_background(_check_repo_gates(router, selected.name), "check_repo_gates")


async def _check_repo_gates(router: CommandRouter, name: str) -> None:
    client = await router.client()
    app, model = router.app, router.model
    problem = await asyncio.to_thread(repo_problem, model.repo_paths[name])
    if problem:
        model.repo_problems[name] = problem
        app.notify(f"{name}: {problem}", severity="error")
        router.post(Commands.PaneStale())
        return
    model.repo_gates[name] = (utcnow(), None)
    router.post(Commands.PaneStale())
    try:
        _, results = await client.check_gates(name)
    except CockpitError as exc:
        model.repo_gates.pop(name, None)
        app.notify(str(exc), severity="error")
        return
    model.repo_gates[name] = (utcnow(), results)
    if results:
        model.gated_repos.add(name)
    else:
        model.gated_repos.discard(name)
    note, severity = verdict_note(name, results)
    app.notify(note, severity=severity)
    router.post(Commands.PaneStale())
