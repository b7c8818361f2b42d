"""The ``codex`` backend: the Codex CLI, through ``codex exec --json``.

``codex exec`` asks for no approvals, so the guard cannot see a Codex tool call before it
runs: the floor is Codex's own sandbox, ``-s workspace-write`` (writes only inside the
worktree; ``/tmp`` and ``$TMPDIR`` are excluded too), with the network off. Commands
show in the transcript afterwards, except those the sandbox refused, which
``codex exec --json`` does not report. The README says so.

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
import shutil
from collections import deque
from collections.abc import Callable
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
        prompt = (
            _RESUME_PROMPT
            if thread
            else with_skills(ctx.run.task, not_read_natively(ctx.skills, ("AGENTS.md",)))
        )
        while True:
            outcome, thread = await self._exec(ctx, profile, env, prompt, thread)
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
                preexec_fn=die_with_parent,
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
                await ctx.emit(ErrorOccurred(run_id=run_id, message=str(item.get("message"))))


def _relative(worktree: Path, path: str) -> str | None:
    try:
        return (worktree / path).resolve().relative_to(worktree.resolve()).as_posix()
    except ValueError:
        return None
