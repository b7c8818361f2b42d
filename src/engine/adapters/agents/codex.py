"""The ``codex`` backend: the Codex CLI, through ``codex exec --json``.

``codex exec`` asks for no approvals, so the guard cannot see a Codex tool call before it
runs: the floor is Codex's own sandbox, ``-s workspace-write`` (writes only inside the
worktree; ``/tmp`` and ``$TMPDIR`` are excluded too), with the network off. Commands
show in the transcript afterwards. ``codex exec --json`` may not report a command the
sandbox refused: after each ``codex exec`` its session file (in ``CODEX_HOME``) is read,
and a refused command, or one that failed unreported, becomes an error event. The README
says so.

Each run gets its own ``CODEX_HOME`` (in the run's state folder) with a ``config.toml``
naming the model and, with ``base_url``, a Responses-API provider. The JSON event stream
is mapped to Cockpit's events; each Codex turn is one Cockpit turn. The thread id is saved
and a resumed run continues it (``codex exec resume``); steering messages are sent the
same way once a turn ends.

Profile: ``command`` (default ``codex``), ``model``, ``base_url``, ``api_key_env``
(default ``OPENAI_API_KEY``), ``args`` (more ``codex exec`` flags), ``env``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.adapters.agents.scripted_model import check_model_access, with_model
from engine.adapters.process import die_with_parent, kill_group, read_lines
from engine.domain.errors import BadInput
from engine.domain.events import (
    AgentText,
    ErrorOccurred,
    FileChanged,
    ToolCallFinished,
    ToolCallRequested,
    UsageReported,
)
from engine.domain.models import steering_prompt
from engine.domain.skills import not_read_natively, with_skills
from engine.ports.agent import AgentOutcome, RunContext

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
_RESUME_PROMPT = "Continue the task where you left off."
_CHANGE = {"add": "added", "update": "modified", "delete": "deleted"}
#: Lines of the CLI's stderr kept for the error line when it fails.
_STDERR_LINES = 5
#: Codex's tools that run a command (in its session file, ``sessions/…/rollout-*.jsonl``).
_EXEC_TOOLS = frozenset({"exec_command", "shell", "shell_command", "local_shell", "container.exec"})
#: Output of a command its sandbox refused (a write outside the worktree, a blocked exec).
_REFUSED = ("read-only file system", "permission denied", "operation not permitted")


class CodexBackend:
    """See the module docstring."""

    name = "codex"

    def preflight(self, profile: dict[str, Any], scenario: str | None) -> None:
        """The CLI must be there, and the key's variable set (unless a model script)."""
        command = profile.get("command") or "codex"
        if shutil.which(command) is None:
            raise BadInput(
                f"the codex agent's command {command!r} was not found: npm install -g"
                " @openai/codex (or set `command` in its [agents.NAME] profile)"
            )
        check_model_access("codex", profile, scenario, DEFAULT_KEY_ENV)

    async def run(self, ctx: RunContext) -> AgentOutcome:
        async def drive(profile: dict[str, Any], api_key: str) -> AgentOutcome:
            return await self._drive(ctx, profile, api_key)

        return await with_model(ctx, DEFAULT_KEY_ENV, drive)

    async def _drive(self, ctx: RunContext, profile: dict[str, Any], api_key: str) -> AgentOutcome:
        home = ctx.state_dir / "codex"
        await asyncio.to_thread(write_codex_home, home, profile)
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in (profile.get("env") or {}).items()})
        # Codex refuses to set up its own sandbox's helper under the temporary folder
        # (and a workspace may well live under /tmp): its TMPDIR is a folder of its own.
        tmp = home / "tmp"
        await asyncio.to_thread(tmp.mkdir, parents=True, exist_ok=True)
        env.update({"CODEX_HOME": str(home), "COCKPIT_CODEX_KEY": api_key, "TMPDIR": str(tmp)})
        saved = await ctx.load_state() or {}
        thread = saved.get("thread_id")
        # Commands of an earlier execution were judged then: only new ones are looked at.
        seen: set[str] = set()
        if thread:
            seen = {c.call_id for c in await asyncio.to_thread(exec_calls, home, thread)}
        prompt = (
            _RESUME_PROMPT
            if thread
            else with_skills(ctx.run.task, not_read_natively(ctx.skills, ("AGENTS.md",)))
        )
        while True:
            outcome, thread = await self._exec(ctx, profile, env, prompt, thread)
            if thread:
                await _say_refused(ctx, home, thread, seen)
            if outcome is not None:
                return outcome
            steering = await ctx.take_steering()
            if not steering:
                return AgentOutcome(ok=True)
            prompt = steering_prompt(steering)

    async def _exec(
        self,
        ctx: RunContext,
        profile: dict[str, Any],
        env: dict[str, str],
        prompt: str,
        thread: str | None,
    ) -> tuple[AgentOutcome | None, str | None]:
        command = profile.get("command") or "codex"
        argv = [command, "exec", "--json", "--skip-git-repo-check", "-s", "workspace-write"]
        argv += [str(a) for a in profile.get("args") or []]
        argv += ["resume", thread, prompt] if thread else [prompt]
        argv, env = await ctx.confine(argv, env)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=ctx.worktree,
                env=env,
                preexec_fn=die_with_parent(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group: cancel kills it all
                limit=16 * 1024 * 1024,
            )
        except FileNotFoundError:
            return AgentOutcome(
                ok=False, error=f"the codex command {command!r} was not found"
            ), thread
        stream = _Stream(ctx)
        stderr_task = asyncio.create_task(_tail(process.stderr, ctx.agent_stderr))
        try:
            assert process.stdout is not None
            async for raw in process.stdout:
                line = raw.decode("utf-8", errors="replace").strip()
                if line.startswith("{"):
                    with contextlib.suppress(ValueError):
                        await stream.handle(json.loads(line))
            code = await process.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(kill_group(process.pid))
            raise
        finally:
            stderr = await stderr_task
        thread = stream.thread or thread
        if stream.failure:
            return AgentOutcome(ok=False, error=f"Codex: {stream.failure}"), thread
        if code != 0:
            last = " / ".join(stderr[-_STDERR_LINES:]) or "no output"
            return AgentOutcome(ok=False, error=f"Codex exited with {code}: {last}"), thread
        return None, thread


def write_codex_home(home: Path, profile: dict[str, Any]) -> None:
    """The run's CODEX_HOME: a config with its model and provider, no update checks."""
    home.mkdir(parents=True, exist_ok=True)
    lines = ["check_for_update_on_startup = false"]
    if profile.get("model"):
        lines.append(f"model = {json.dumps(profile['model'])}")
    base_url = profile.get("base_url")
    if base_url:
        url = str(base_url).rstrip("/")
        url = url if url.endswith("/v1") else url + "/v1"
        lines += ['model_provider = "cockpit"', "", "[model_providers.cockpit]"]
        lines += ['name = "cockpit"', f"base_url = {json.dumps(url)}", 'wire_api = "responses"']
        lines.append('env_key = "COCKPIT_CODEX_KEY"')
    else:
        lines += ['model_provider = "openai"']
    # The sandbox's writable roots: the worktree only, not /tmp or $TMPDIR.
    lines += [
        "",
        "[sandbox_workspace_write]",
        "exclude_slash_tmp = true",
        "exclude_tmpdir_env_var = true",
    ]
    (home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


async def _tail(stream: asyncio.StreamReader | None, keep: Callable[[str], None]) -> list[str]:
    """Read a stderr to its end, handing every line to ``keep``; its last lines."""
    lines: deque[str] = deque(maxlen=_STDERR_LINES)

    def both(line: str) -> None:
        keep(line)
        lines.append(line)

    await read_lines(stream, both)
    return list(lines)


class _Stream:
    """Maps ``codex exec --json`` lines to events."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.thread: str | None = None
        self.failure: str | None = None

    async def handle(self, event: dict[str, Any]) -> None:
        ctx, run_id = self.ctx, self.ctx.run.id
        kind = event.get("type")
        item = event.get("item") or {}
        if kind == "thread.started" and event.get("thread_id"):
            self.thread = str(event["thread_id"])
            await ctx.save_state({"thread_id": self.thread})
        elif kind == "item.started" and item.get("type") == "command_execution":
            await ctx.emit(
                ToolCallRequested(
                    run_id=run_id,
                    call_id=str(item.get("id")),
                    tool="shell",
                    kind="shell",
                    arguments={"command": item.get("command", "")},
                )
            )
        elif kind == "item.completed":
            await self._item(item)
        elif kind == "turn.completed":
            usage = event.get("usage") or {}
            await ctx.emit(
                UsageReported(
                    run_id=run_id,
                    input_tokens=int(usage.get("input_tokens") or 0),
                    output_tokens=int(usage.get("output_tokens") or 0),
                )
            )
            await ctx.end_turn()
        elif kind == "turn.failed":
            error = event.get("error") or {}
            self.failure = str(error.get("message") or "the turn failed")
        elif kind == "error":
            self.failure = str(event.get("message") or "error")

    async def _item(self, item: dict[str, Any]) -> None:
        ctx, run_id = self.ctx, self.ctx.run.id
        match item.get("type"):
            case "agent_message" if item.get("text"):
                await ctx.emit(AgentText(run_id=run_id, text=str(item["text"])))
            case "command_execution":
                code = item.get("exit_code")
                status = item.get("status")
                if status == "declined" or (status == "failed" and code is None):
                    what = "declined to run" if status == "declined" else "could not start"
                    await ctx.emit(
                        ErrorOccurred(
                            run_id=run_id,
                            message=f"Codex {what} a command: {item.get('command', '')}",
                            detail=str(item.get("aggregated_output") or "") or None,
                        )
                    )
                await ctx.emit(
                    ToolCallFinished(
                        run_id=run_id,
                        call_id=str(item.get("id")),
                        tool="shell",
                        output=str(item.get("aggregated_output") or ""),
                        is_error=code not in (0, None) or item.get("status") == "failed",
                        exit_code=code,
                    )
                )
            case "file_change":
                for change in item.get("changes") or []:
                    path = _relative(ctx.worktree, str(change.get("path", "")))
                    if path:
                        await ctx.emit(
                            FileChanged(
                                run_id=run_id,
                                path=path,
                                change=_CHANGE.get(change.get("kind"), "modified"),  # ty: ignore[invalid-argument-type]
                            )
                        )
            case "error":
                # An error *item* is Codex's non-fatal warning (e.g. no metadata for the
                # model, fallback used); the run goes on, so it is a note, not an error.
                # Fatal ones come as the top-level `error` / `turn.failed` events above.
                message = str(item.get("message") or "").strip()
                if message:
                    await ctx.emit(AgentText(run_id=run_id, text=f"codex warning: {message}"))


def _relative(worktree: Path, path: str) -> str | None:
    try:
        return (worktree / path).resolve().relative_to(worktree.resolve()).as_posix()
    except ValueError:
        return None


@dataclass(frozen=True)
class _ExecCall:
    call_id: str
    command: str
    #: Whether Codex reported it as a command execution (``codex exec --json`` did too).
    reported: bool
    exit_code: int | None
    output: str


def exec_calls(home: Path, thread: str) -> list[_ExecCall]:
    """The commands Codex ran (or tried to) in ``thread``, with their outputs, from the
    session file it keeps in ``CODEX_HOME``: every call is there, also those that
    ``codex exec --json`` did not report (a command its sandbox refused may not be)."""
    calls: dict[str, str] = {}
    outputs: dict[str, str] = {}
    reported: set[str] = set()
    for path in sorted((home / "sessions").rglob(f"rollout-*{thread}.jsonl")):
        with contextlib.suppress(OSError):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                payload = record.get("payload") if isinstance(record, dict) else None
                if isinstance(payload, dict):
                    _note(payload, calls, outputs, reported)
    return [
        _ExecCall(call_id, command, call_id in reported, *_exit_and_output(outputs[call_id]))
        for call_id, command in calls.items()
        if call_id in outputs
    ]


def _note(
    payload: dict[str, Any], calls: dict[str, str], outputs: dict[str, str], reported: set[str]
) -> None:
    kind = payload.get("type")
    call_id = str(payload.get("call_id") or "")
    if kind == "function_call" and payload.get("name") in _EXEC_TOOLS and call_id:
        try:
            args = json.loads(payload.get("arguments") or "{}")
        except ValueError:
            args = {}
        command = (args.get("cmd") or args.get("command") or "") if isinstance(args, dict) else ""
        calls[call_id] = " ".join(command) if isinstance(command, list) else str(command)
    elif kind == "function_call_output" and call_id:
        output = payload.get("output")
        outputs[call_id] = output if isinstance(output, str) else json.dumps(output)
    elif kind == "item_completed":
        item = payload.get("item") or {}
        if isinstance(item, dict) and item.get("type") == "CommandExecution":
            reported.add(str(item.get("id")))
    elif kind in ("exec_command_begin", "exec_command_end") and call_id:
        reported.add(call_id)


def _exit_and_output(text: str) -> tuple[int | None, str]:
    match = re.search(r"(?:exited with code|exit code:?)\s*(-?\d+)", text)
    code = int(match.group(1)) if match else None
    _, found, rest = text.partition("Output:\n")
    return code, (rest if found else text).strip()


async def _say_refused(ctx: RunContext, home: Path, thread: str, seen: set[str]) -> None:
    """An error event for each new command Codex's sandbox refused, and for each that
    failed without ``codex exec --json`` reporting it: the run would show nothing of
    those, and a refusal is worth more than a failed tool line."""
    for call in await asyncio.to_thread(exec_calls, home, thread):
        if call.call_id in seen:
            continue
        seen.add(call.call_id)
        failed = call.exit_code not in (0, None)
        if failed and any(marker in call.output.lower() for marker in _REFUSED):
            message = f"Codex's sandbox refused a command: {call.command}"
        elif failed and not call.reported:
            message = (
                f"a command Codex did not report failed (exit {call.exit_code}): {call.command}"
            )
        else:
            continue
        await ctx.emit(
            ErrorOccurred(run_id=ctx.run.id, message=message, detail=call.output or None)
        )
