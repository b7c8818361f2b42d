"""The ``acp`` backend: any Agent Client Protocol agent (Gemini CLI, claude-agent-acp,
codex-acp…), started from its profile's ``command`` and ``args`` — data, not code.

Cockpit is the ACP client. Session updates become events (message chunks are gathered
into agent text; tool calls into requested/finished pairs). ``request_permission`` goes
to the guard, and a call the guard wants asked about becomes an inbox question. The
agent's file reads and writes go through Cockpit, confined to the worktree. The session
id is saved, and a resumed run loads it when the agent can (``loadSession``). Steering
messages are sent as the next prompt when one ends.

Profile: ``command``, ``args``, ``env`` (variables for the agent; ACP spawning passes only
HOME, PATH, SHELL, TERM, USER, LOGNAME otherwise), ``api_key_env`` (that variable is
passed through), ``base_url`` (passed as ``ANTHROPIC_BASE_URL``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
from typing import Any, cast

from engine.adapters.agents import fs_tools
from engine.adapters.process import read_lines
from engine.domain.errors import BadInput
from engine.domain.events import (
    AgentText,
    FileChanged,
    ToolCallFinished,
    ToolCallRequested,
)
from engine.domain.guard import ToolRequest
from engine.domain.models import steering_prompt
from engine.domain.skills import with_skills
from engine.ports.agent import AgentOutcome, RunContext

#: The guard's kind of each ACP tool kind.
KIND = {
    "read": "read",
    "search": "read",
    "fetch": "read",
    "edit": "edit",
    "delete": "write",
    "move": "write",
    "execute": "shell",
}
#: Output of the agent's process kept for the error line when it dies.
_STDERR_LIMIT = 2000


class AcpBackend:
    """See the module docstring."""

    name = "acp"

    def preflight(self, profile: dict[str, Any], scenario: str | None) -> None:
        """The ACP package and the agent's command must be there."""
        if importlib.util.find_spec("acp") is None:
            raise BadInput("the acp backend needs agent-client-protocol: pip install cockpit")
        command = profile.get("command")
        if not command:
            raise BadInput("an acp agent needs `command` (and `args`) in its [agents.NAME] profile")
        if shutil.which(command) is None:
            raise BadInput(
                f"the acp agent's command {command!r} was not found: install it or fix `command`"
            )
        key_env = profile.get("api_key_env")
        if key_env and not os.environ.get(key_env):
            raise BadInput(f"the acp agent needs an API key: set {key_env} in the environment")

    async def run(self, ctx: RunContext) -> AgentOutcome:
        import acp
        from acp.schema import ClientCapabilities, FileSystemCapabilities

        profile = ctx.profile
        command = str(profile.get("command") or "")
        client = _Client(ctx)
        saved = await ctx.load_state() or {}
        argv, env = await ctx.confine(
            [command, *[str(a) for a in profile.get("args") or []]], agent_env(profile)
        )
        try:
            async with acp.spawn_agent_process(
                # Only the methods an agent may call are here (no terminals offered).
                cast(Any, client),
                argv[0],
                *argv[1:],
                env=env,
                cwd=str(ctx.worktree),
            ) as (conn, process):
                client.process = process
                # Its stderr is a pipe: read it (kept for a failure's event), or a chatty
                # agent would block once the pipe fills.
                client.stderr = asyncio.create_task(read_lines(process.stderr, ctx.agent_stderr))
                init = await conn.initialize(
                    protocol_version=acp.PROTOCOL_VERSION,
                    client_capabilities=ClientCapabilities(
                        fs=FileSystemCapabilities(read_text_file=True, write_text_file=True),
                        terminal=False,
                    ),
                )
                can_load = bool(init.agent_capabilities and init.agent_capabilities.load_session)
                session_id = saved.get("session_id") if can_load else None
                if session_id:
                    await conn.load_session(
                        cwd=str(ctx.worktree), session_id=session_id, mcp_servers=[]
                    )
                    prompt = "Continue the task where you left off."
                else:
                    session_id = (
                        await conn.new_session(cwd=str(ctx.worktree), mcp_servers=[])
                    ).session_id
                    prompt = with_skills(ctx.run.task, ctx.skills)
                await ctx.save_state({"session_id": session_id})
                while True:
                    reply = await conn.prompt(
                        session_id=session_id, prompt=[acp.text_block(prompt)]
                    )
                    await client.flush_text()
                    await ctx.end_turn()
                    if reply.stop_reason not in ("end_turn", None):
                        return AgentOutcome(
                            ok=False, error=f"the agent stopped: {reply.stop_reason}"
                        )
                    steering = await ctx.take_steering()
                    if not steering:
                        return AgentOutcome(ok=True)
                    prompt = steering_prompt(steering)
        except FileNotFoundError:
            return AgentOutcome(
                ok=False, error=f"the acp agent's command {command!r} was not found"
            )
        except (acp.RequestError, ConnectionError, EOFError, asyncio.IncompleteReadError) as exc:
            return AgentOutcome(
                ok=False, error=f"the acp agent failed: {str(exc) or type(exc).__name__}"
            )
        finally:
            if client.stderr is not None:
                client.stderr.cancel()


def agent_env(profile: dict[str, Any]) -> dict[str, str]:
    """What the agent's process gets beyond ACP's minimal environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("HOME", "PATH", "SHELL", "TERM", "USER", "LOGNAME", "LANG")
    }
    key_env = profile.get("api_key_env")
    if key_env and os.environ.get(key_env):
        env[key_env] = os.environ[key_env]
    if profile.get("base_url"):
        env["ANTHROPIC_BASE_URL"] = str(profile["base_url"])
    env.update({str(k): str(v) for k, v in (profile.get("env") or {}).items()})
    return env


class _Client:
    """Cockpit's side of the connection for one run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.process: Any = None
        #: Reads the agent's stderr into the run's kept lines.
        self.stderr: asyncio.Task[None] | None = None
        self._text: list[str] = []
        self._tools: dict[str, tuple[str, str]] = {}  # id -> (title, guard kind)
        self._finished: set[str] = set()

    def on_connect(self, conn: Any) -> None:
        return None

    async def flush_text(self) -> None:
        """Message chunks become one agent text (a chunk can be a single token)."""
        text = "".join(self._text).strip()
        self._text.clear()
        if text:
            await self.ctx.emit(AgentText(run_id=self.ctx.run.id, text=text))

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        kind = getattr(update, "session_update", None)
        run_id = self.ctx.run.id
        if kind == "agent_message_chunk":
            self._text.append(str(getattr(update.content, "text", "") or ""))
        elif kind == "tool_call":
            await self.flush_text()
            guard_kind = KIND.get(update.kind or "", "other")
            self._tools[update.tool_call_id] = (update.title, guard_kind)
            arguments = (
                update.raw_input if isinstance(update.raw_input, dict) else {"title": update.title}
            )
            await self.ctx.emit(
                ToolCallRequested(
                    run_id=run_id,
                    call_id=update.tool_call_id,
                    tool=update.title,
                    kind=guard_kind,
                    arguments=arguments,
                )
            )
        elif kind == "tool_call_update" and update.status in ("completed", "failed"):
            if update.tool_call_id in self._finished:
                return
            self._finished.add(update.tool_call_id)
            title, _ = self._tools.get(update.tool_call_id, (update.title or "tool", "other"))
            output = (
                update.raw_output
                if isinstance(update.raw_output, str)
                else _content_text(update.content)
            )
            await self.ctx.emit(
                ToolCallFinished(
                    run_id=run_id,
                    call_id=update.tool_call_id,
                    tool=title,
                    output=output,
                    is_error=update.status == "failed",
                )
            )

    async def request_permission(
        self, session_id: str, tool_call: Any, options: list[Any], **_: Any
    ) -> Any:
        """The guard decides (asking the human through the inbox when it must)."""
        from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

        await self.flush_text()
        title, kind = self._tools.get(tool_call.tool_call_id, (tool_call.title or "tool", "other"))
        if tool_call.kind:
            kind = KIND.get(tool_call.kind, kind)
        arguments = (
            tool_call.raw_input if isinstance(tool_call.raw_input, dict) else {"title": title}
        )
        verdict = await self.ctx.check_tool(ToolRequest(kind=kind, tool=title, arguments=arguments))
        allowed = verdict.allowed  # an "ask" was put to the human by the engine
        wanted = ("allow_once", "allow_always") if allowed else ("reject_once", "reject_always")
        for option in options:
            if option.kind in wanted:
                return RequestPermissionResponse(
                    outcome=AllowedOutcome(option_id=option.option_id, outcome="selected")
                )
        return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **_: Any,
    ) -> Any:
        import acp
        from acp.schema import ReadTextFileResponse

        result = await asyncio.to_thread(fs_tools.read_file, self.ctx.worktree, path)
        if result.is_error:
            raise acp.RequestError.invalid_params({"path": path, "reason": result.output})
        lines = result.output.splitlines(keepends=True)
        start = max(0, (line or 1) - 1)
        end = start + limit if limit else None
        return ReadTextFileResponse(content="".join(lines[start:end]))

    async def write_text_file(self, session_id: str, path: str, content: str, **_: Any) -> Any:
        import acp

        result = await asyncio.to_thread(fs_tools.write_file, self.ctx.worktree, path, content)
        if result.is_error:
            raise acp.RequestError.invalid_params({"path": path, "reason": result.output})
        for rel, change in result.changes:
            await self.ctx.emit(FileChanged(run_id=self.ctx.run.id, path=rel, change=change))  # ty: ignore[invalid-argument-type]
        return None

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None


def _content_text(content: Any) -> str:
    parts: list[str] = []
    for item in content or []:
        inner = getattr(item, "content", None)
        text = getattr(inner, "text", None) if inner is not None else getattr(item, "text", None)
        if text:
            parts.append(str(text))
    return "\n".join(parts)
