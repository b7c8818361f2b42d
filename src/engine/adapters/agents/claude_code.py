"""The ``claude-code`` backend: Claude Code driven through ``claude-agent-sdk``.

Needs the optional extra (``pip install 'cockpit[claude-code]'``; the SDK bundles the CLI).
Each run gets its own ``CLAUDE_CONFIG_DIR`` (in the run's state folder, so its session
survives for ``resume``). The guard is wired as a ``PreToolUse`` hook: a denied call is
refused with the guard's reason, and a call the guard wants asked about becomes a
question in the cockpit's inbox. Claude Code's message stream is mapped to Cockpit's
events; each model reply with its tool results is one turn. Steering messages are sent
as the next user message when a reply ends.

Profile: ``model``, ``base_url`` (any Anthropic-compatible server; for a local one
non-essential traffic is turned off), ``api_key_env`` (default ``ANTHROPIC_API_KEY``),
``env`` (more variables for the CLI), ``args`` (extra CLI flags, ``--flag=value``),
``command`` (a Claude Code CLI other than the bundled one).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import shlex
import shutil
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

from engine.adapters.agents.scripted_model import check_model_access, with_model
from engine.domain.errors import BadInput
from engine.domain.events import (
    AgentText,
    FileChanged,
    ToolCallFinished,
    ToolCallRequested,
    UsageReported,
)
from engine.domain.guard import ToolRequest
from engine.domain.models import steering_prompt
from engine.domain.skills import Skill, not_read_natively, render_skills
from engine.ports.agent import AgentOutcome, RunContext
from engine.ports.sandbox import RUN_MARK

DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
#: The guard's tool kind of Claude Code's tools (others are "other").
KIND = {
    "Bash": "shell",
    "BashOutput": "shell",
    "Read": "read",
    "Glob": "read",
    "Grep": "read",
    "LS": "read",
    "Write": "write",
    "Edit": "edit",
    "MultiEdit": "edit",
    "NotebookEdit": "edit",
}
_RESUME_PROMPT = "Continue the task where you left off."


class ClaudeCodeBackend:
    """See the module docstring."""

    name = "claude-code"

    def preflight(self, profile: dict[str, Any], scenario: str | None) -> None:
        """The SDK must be installed and the key's variable set."""
        if importlib.util.find_spec("claude_agent_sdk") is None:
            raise BadInput(
                "the claude-code agent needs claude-agent-sdk: pip install 'cockpit[claude-code]'"
            )
        command = profile.get("command")
        if command and shutil.which(command) is None:
            raise BadInput(
                f"the claude-code agent's command {command!r} was not found: install Claude"
                " Code or remove `command` from its profile to use the bundled CLI"
            )
        check_model_access("claude-code", profile, scenario, DEFAULT_KEY_ENV)

    async def run(self, ctx: RunContext) -> AgentOutcome:
        try:
            import claude_agent_sdk as sdk
        except ImportError:
            return AgentOutcome(ok=False, error="claude-agent-sdk is not installed")

        async def drive(profile: dict[str, Any], api_key: str) -> AgentOutcome:
            return await self._drive(ctx, sdk, profile, api_key)

        return await with_model(ctx, DEFAULT_KEY_ENV, drive)

    async def _drive(
        self, ctx: RunContext, sdk: Any, profile: dict[str, Any], api_key: str
    ) -> AgentOutcome:
        saved = await ctx.load_state() or {}
        session = _Session(ctx, sdk)
        cli, env = await _confined_cli(ctx, sdk, profile, api_key)
        options = sdk.ClaudeAgentOptions(
            cwd=str(ctx.worktree),
            model=profile.get("model") or None,
            permission_mode="acceptEdits",
            env=env,
            # The SDK types hook inputs as TypedDicts; ours reads them as plain dicts.
            hooks={
                "PreToolUse": [
                    sdk.HookMatcher(matcher=None, hooks=[cast(Any, session.pre_tool_use)])
                ]
            },
            resume=saved.get("session_id"),
            extra_args=_extra_args(profile.get("args") or []),
            # `command`: another Claude Code CLI than the one the SDK bundles; either one
            # started through a script that confines it to the run.
            cli_path=cli,
            # Kept for the events of a failure (a crash, a hang), never on our terminal.
            stderr=ctx.agent_stderr,
            # The run's skills join Claude Code's own system prompt (which reads the repo's
            # CLAUDE.md itself). Always the preset: without one the SDK passes an empty
            # system prompt, and Claude Code would work without its own instructions.
            system_prompt=_system_prompt(not_read_natively(ctx.skills, ("CLAUDE.md",))),
        )
        prompt = _RESUME_PROMPT if saved.get("session_id") else ctx.run.task
        try:
            async with sdk.ClaudeSDKClient(options=options) as client:
                try:
                    await client.query(prompt)
                    while True:
                        outcome = await session.receive(client)
                        if outcome is not None:
                            return outcome
                        steering = await ctx.take_steering()
                        if not steering:
                            return AgentOutcome(ok=True)
                        await client.query(steering_prompt(steering))
                except asyncio.CancelledError:
                    _terminate_cli(client)
                    raise
        except sdk.CLINotFoundError:
            where = profile.get("command") or "bundled with claude-agent-sdk"
            return AgentOutcome(ok=False, error=f"the Claude Code CLI was not found ({where})")
        except sdk.ProcessError as exc:
            return AgentOutcome(ok=False, error=f"Claude Code exited with {exc.exit_code}")
        except sdk.ClaudeSDKError as exc:
            return AgentOutcome(ok=False, error=f"Claude Code: {str(exc).splitlines()[0]}")
        return AgentOutcome(ok=False, error="Claude Code ended without a result")


async def _confined_cli(
    ctx: RunContext, sdk: Any, profile: dict[str, Any], api_key: str
) -> tuple[str | None, dict[str, str]]:
    """The CLI the SDK starts (None: its bundled one, as it is) and its environment.

    The SDK starts the CLI itself, so the run's jail is put around it by a small script
    in the run's private folder that the SDK is given as its CLI.
    """
    env = claude_env(profile, ctx.state_dir / "claude", api_key)
    command = profile.get("command") or _bundled_cli(sdk)
    if command is None:
        return None, env
    argv, _ = await ctx.confine([command], env)
    env[RUN_MARK] = ctx.run.id  # the SDK adds the engine's environment itself
    if len(argv) == 1:  # no jail here
        return profile.get("command") or None, env
    script = ctx.state_dir / "claude-in-jail.sh"
    line = " ".join(shlex.quote(a) for a in argv)
    script.write_text(f'#!/bin/sh\nexec {line} "$@"\n', encoding="utf-8")
    script.chmod(0o700)
    return str(script), env


def _bundled_cli(sdk: Any) -> str | None:
    found = Path(sdk.__file__).parent / "_bundled" / "claude"
    return str(found) if found.is_file() else shutil.which("claude")


def _terminate_cli(client: Any) -> None:
    """On cancel, stop the CLI now: closing the SDK client gives it 5 s to exit after
    stdin closes (so it can flush its session file) before it terminates it, and a
    cancel must be prompt. The SDK exposes no handle, hence the private attribute; if it
    moves, closing still ends the CLI, only later."""
    process = getattr(getattr(client, "_transport", None), "_process", None)
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()


def claude_env(profile: dict[str, Any], config_dir: Path, api_key: str) -> dict[str, str]:
    """The CLI's environment: key, base URL, a private config dir."""
    config_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "ANTHROPIC_API_KEY": api_key,
        "CLAUDE_CONFIG_DIR": str(config_dir),
    }
    base_url = profile.get("base_url")
    if base_url:
        env["ANTHROPIC_BASE_URL"] = base_url
        if urlparse(base_url).hostname in ("127.0.0.1", "localhost", "::1"):
            env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    env.update({str(k): str(v) for k, v in (profile.get("env") or {}).items()})
    return env


def _extra_args(args: list[str]) -> dict[str, str | None]:
    """``["--flag=value", "--switch"]`` as the SDK's extra_args mapping."""
    extra: dict[str, str | None] = {}
    for arg in args:
        name, _, value = arg.lstrip("-").partition("=")
        extra[name] = value or None
    return extra


class _Session:
    """Maps one Claude Code session's messages to events; answers its PreToolUse hook."""

    def __init__(self, ctx: RunContext, sdk: Any) -> None:
        self.ctx = ctx
        self.sdk = sdk
        self.tools: dict[str, tuple[str, dict[str, Any]]] = {}
        self.in_turn = False

    async def pre_tool_use(self, data: dict[str, Any], tool_use_id: str | None, _: Any) -> dict:
        """The guard decides (asking the human through the inbox when it must)."""
        name = str(data.get("tool_name"))
        arguments = data.get("tool_input") or {}
        verdict = await self.ctx.check_tool(
            ToolRequest(kind=KIND.get(name, "other"), tool=name, arguments=arguments)
        )
        reason = verdict.reason  # an "ask" was put to the human by the engine
        if verdict.allowed:
            return self._confined(name, arguments)
        rule = f" (rule {verdict.rule})" if verdict.rule else ""
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": f"refused by Cockpit's guard{rule}: {reason}",
            }
        }

    def _confined(self, name: str, arguments: dict[str, Any]) -> dict:
        """A shell command the guard let through, run in the run's jail without network
        (Claude Code's own sandbox cannot nest in the jail); allowed as the guard said."""
        command = arguments.get("command")
        if name != "Bash" or not isinstance(command, str):
            return {}
        line = self.ctx.shell_line(command)
        if line == command:
            return {}
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "allow",
                "permissionDecisionReason": "allowed by Cockpit's guard; run in the sandbox",
                "updatedInput": {**arguments, "command": line},
            }
        }

    async def receive(self, client: Any) -> AgentOutcome | None:
        """Map messages until the reply's result; an outcome only when the run failed."""
        sdk, ctx, run_id = self.sdk, self.ctx, self.ctx.run.id
        async for message in client.receive_response():
            if isinstance(message, sdk.SystemMessage) and message.subtype == "init":
                session_id = message.data.get("session_id")
                if session_id:
                    await ctx.save_state({"session_id": session_id})
            elif isinstance(message, sdk.AssistantMessage):
                self.in_turn = True
                for block in message.content:
                    await self._assistant_block(block)
            elif isinstance(message, sdk.UserMessage) and isinstance(message.content, list):
                for block in message.content:
                    if isinstance(block, sdk.ToolResultBlock):
                        await self._tool_result(block)
                await self._end_turn()
            elif isinstance(message, sdk.ResultMessage):
                await self._end_turn()
                usage = message.usage or {}
                await ctx.emit(
                    UsageReported(
                        run_id=run_id,
                        input_tokens=int(usage.get("input_tokens") or 0),
                        output_tokens=int(usage.get("output_tokens") or 0),
                        cost_usd=message.total_cost_usd,
                    )
                )
                if message.session_id:
                    await ctx.save_state({"session_id": message.session_id})
                if message.is_error:
                    detail = message.result or message.subtype
                    return AgentOutcome(ok=False, error=f"Claude Code: {detail}")
        return None

    async def _end_turn(self) -> None:
        if self.in_turn:
            self.in_turn = False
            await self.ctx.end_turn()

    async def _assistant_block(self, block: Any) -> None:
        sdk, run_id = self.sdk, self.ctx.run.id
        if isinstance(block, sdk.TextBlock) and block.text.strip():
            await self.ctx.emit(AgentText(run_id=run_id, text=block.text))
        elif isinstance(block, sdk.ToolUseBlock):
            self.tools[block.id] = (block.name, block.input)
            await self.ctx.emit(
                ToolCallRequested(
                    run_id=run_id,
                    call_id=block.id,
                    tool=block.name,
                    kind=KIND.get(block.name, "other"),
                    arguments=block.input,
                )
            )

    async def _tool_result(self, block: Any) -> None:
        run_id = self.ctx.run.id
        name, arguments = self.tools.get(block.tool_use_id, ("tool", {}))
        content = block.content
        if isinstance(content, list):
            content = "\n".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        await self.ctx.emit(
            ToolCallFinished(
                run_id=run_id,
                call_id=block.tool_use_id,
                tool=name,
                output=str(content or ""),
                is_error=bool(block.is_error),
            )
        )
        path = arguments.get("file_path") if KIND.get(name) in ("write", "edit") else None
        if path and not block.is_error:
            relative = _inside(self.ctx.worktree, str(path))
            if relative is not None:
                change = "added" if name == "Write" and "created" in str(content) else "modified"
                await self.ctx.emit(FileChanged(run_id=run_id, path=relative, change=change))


def _inside(worktree: Path, path: str) -> str | None:
    try:
        return Path(path).resolve().relative_to(worktree.resolve()).as_posix()
    except ValueError:
        return None


def _system_prompt(skills: list[Skill]) -> Any:
    """Claude Code's own system prompt, with the skills appended when there are any."""
    if not skills:
        return {"type": "preset", "preset": "claude_code"}
    return {"type": "preset", "preset": "claude_code", "append": render_skills(skills)}
