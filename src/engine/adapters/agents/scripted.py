"""The scripted backend: performs a scenario file for real in the worktree.

A profile with ``improvise = true`` needs no scenario file: the backend makes one up
from the task and the worktree (see :mod:`.improvise`) and keeps it with the
run's state, so a resumed run carries on with the same steps.

It emits the same events a real agent would (text, tool calls and results, file
changes, questions), one turn per ``[[step]]``, so the demo and the tests exercise the
whole engine without a model. Steering messages are delivered (and recorded) at the
start of every turn.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.domain.errors import BadInput, ScenarioError
from engine.domain.events import (
    AgentText,
    FileChanged,
    ToolCallFinished,
    ToolCallRequested,
)
from engine.domain.guard import ToolRequest
from engine.ports.agent import AgentOutcome, RunContext

if TYPE_CHECKING:
    from engine.adapters.agents.scenario import Scenario, Step


class ScriptedAgentBackend:
    """Deterministic agent driven by a TOML scenario."""

    name = "scripted"

    def preflight(self, profile: dict[str, Any], scenario: str | None) -> None:
        """A scripted run needs a readable, valid scenario, or a profile that improvises."""
        if not scenario:
            if profile.get("improvise"):
                return
            raise BadInput(
                "the scripted agent needs a scenario: pass --scenario FILE, or set "
                "`scenario` (or `improvise = true`) in its [agents.NAME] profile"
            )
        # Imported on use: its models cost start-up time to processes that run no scenario.
        from engine.adapters.agents.scenario import load_scenario

        load_scenario(Path(scenario))

    async def run(self, ctx: RunContext) -> AgentOutcome:
        """Perform each step not yet completed as one turn."""
        try:
            scenario = await _scenario(ctx)
        except ScenarioError as exc:
            return AgentOutcome(ok=False, error=str(exc))
        if scenario is None:
            return AgentOutcome(ok=False, error="no scenario")
        for step in scenario.step[ctx.turns_completed :]:
            for message in await ctx.take_steering():
                await ctx.emit(AgentText(run_id=ctx.run.id, text=f"Noted: {message.text}"))
            outcome = await _perform(ctx, step)
            if outcome is not None:
                return outcome
            await ctx.end_turn()
        # Messages after the last step (review comments sending a finished run back): the
        # scripted agent acknowledges each, so tests and the demo see them arrive.
        late = await ctx.take_steering()
        for message in late:
            await ctx.emit(AgentText(run_id=ctx.run.id, text=f"Noted: {message.text}"))
        if late:
            await ctx.end_turn()
        return AgentOutcome(ok=True)


async def _scenario(ctx: RunContext) -> Scenario | None:
    """The run's scenario file; else, when the profile improvises, the scenario made up
    for it on its first attempt (kept in the run's state: the worktree a resumed run
    finds has changed, and the same steps must carry on)."""
    from engine.adapters.agents.improvise import improvise
    from engine.adapters.agents.scenario import Scenario, load_scenario

    if ctx.run.scenario:
        return await asyncio.to_thread(load_scenario, Path(ctx.run.scenario))
    if not ctx.profile.get("improvise"):
        return None
    saved = await ctx.load_state()
    if saved and "improvised" in saved:
        return Scenario.model_validate(saved["improvised"])
    scenario = await asyncio.to_thread(improvise, ctx.run.task, ctx.worktree)
    await ctx.save_state({"improvised": scenario.model_dump(exclude_none=True)})
    return scenario


async def _perform(ctx: RunContext, step: Step) -> AgentOutcome | None:
    """Do one step's actions; return an outcome only when the step ends the run."""
    run_id = ctx.run.id
    for action in step.order:
        if action == "say" and step.say is not None:
            await ctx.emit(AgentText(run_id=run_id, text=step.say))
        elif action == "stream" and step.stream is not None:
            for n in range(1, step.stream.count + 1):
                await ctx.emit(AgentText(run_id=run_id, text=f"{step.stream.text} {n}"))
                await asyncio.sleep(step.stream.interval)
        elif action == "write" and step.write is not None:
            await _write(ctx, step.write.path, step.write.content)
        elif action == "edit" and step.edit is not None:
            await _edit(ctx, step.edit.path, step.edit.old, step.edit.new)
        elif action == "delete" and step.delete is not None:
            await _delete(ctx, step.delete)
        elif action == "run" and step.run is not None:
            await _run(ctx, step.run.command, step.run.timeout)
        elif action == "wait" and step.wait is not None:
            await asyncio.sleep(step.wait)
        elif action == "ask" and step.ask is not None:
            answer = await ctx.ask_human(step.ask)
            await ctx.emit(AgentText(run_id=run_id, text=f"Thanks — you said: {answer}"))
        elif action == "fail" and step.fail is not None:
            return AgentOutcome(ok=False, error=step.fail)
    return None


class _Tool:
    """Emits the requested/finished pair around one tool call."""

    _counter = 0

    def __init__(self, ctx: RunContext, tool: str, kind: str, arguments: dict[str, Any]):
        _Tool._counter += 1
        self.ctx = ctx
        self.tool = tool
        self.call_id = f"call-{ctx.run.id}-{_Tool._counter}"
        self.requested = ToolCallRequested(
            run_id=ctx.run.id, call_id=self.call_id, tool=tool, kind=kind, arguments=arguments
        )
        self.request = ToolRequest(kind=kind, tool=tool, arguments=arguments)

    async def __aenter__(self) -> _Tool:
        await self.ctx.emit(self.requested)
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def allowed(self) -> bool:
        """Ask the guard, as every backend does before a tool runs; a refusal is the
        call's (error) result, and the scenario carries on."""
        verdict = await self.ctx.check_tool(self.request)
        if not verdict.allowed:
            await self.done(f"refused by the guard ({verdict.rule}): {verdict.reason}", True)
        return verdict.allowed

    async def done(self, output: str, is_error: bool = False, exit_code: int | None = None):
        await self.ctx.emit(
            ToolCallFinished(
                run_id=self.ctx.run.id,
                call_id=self.call_id,
                tool=self.tool,
                output=output,
                is_error=is_error,
                exit_code=exit_code,
            )
        )


def _target(ctx: RunContext, path: str) -> Path:
    return ctx.worktree / path


async def _write(ctx: RunContext, path: str, content: str) -> None:
    async with _Tool(ctx, "write_file", "write", {"path": path, "content": content}) as call:
        if not await call.allowed():
            return
        target = _target(ctx, path)
        existed = target.exists()

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")

        await asyncio.to_thread(write)
        await call.done(f"wrote {len(content.encode())} bytes to {path}")
        change = "modified" if existed else "added"
        await ctx.emit(FileChanged(run_id=ctx.run.id, path=path, change=change))


async def _edit(ctx: RunContext, path: str, old: str, new: str) -> None:
    async with _Tool(ctx, "edit_file", "edit", {"path": path, "old": old, "new": new}) as call:
        if not await call.allowed():
            return
        target = _target(ctx, path)
        try:
            text = await asyncio.to_thread(target.read_text, encoding="utf-8")
        except FileNotFoundError:
            await call.done(f"{path}: no such file", is_error=True)
            return
        if old not in text:
            await call.done(f"{path}: text to replace not found", is_error=True)
            return
        await asyncio.to_thread(target.write_text, text.replace(old, new, 1), encoding="utf-8")
        await call.done(f"edited {path}")
        await ctx.emit(FileChanged(run_id=ctx.run.id, path=path, change="modified"))


async def _delete(ctx: RunContext, path: str) -> None:
    async with _Tool(ctx, "delete_file", "write", {"path": path}) as call:
        if not await call.allowed():
            return
        target = _target(ctx, path)
        try:
            await asyncio.to_thread(target.unlink)
        except FileNotFoundError:
            await call.done(f"{path}: no such file", is_error=True)
            return
        await call.done(f"deleted {path}")
        await ctx.emit(FileChanged(run_id=ctx.run.id, path=path, change="deleted"))


async def _run(ctx: RunContext, command: str, timeout: float | None) -> None:
    async with _Tool(ctx, "run_command", "shell", {"command": command}) as call:
        if not await call.allowed():
            return
        code, output = await ctx.run_command(command, timeout)
        await call.done(output, is_error=code != 0, exit_code=code)
