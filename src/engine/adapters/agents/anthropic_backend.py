"""The ``anthropic`` backend: Cockpit's own agent harness on the ``anthropic`` SDK.

A loop of streamed model calls. Each reply's tool calls pass the guard's hook point, run
in the worktree (file tools confined to it, commands in their own process group), and go
back as tool results; each reply with its tool results is one turn (the engine snapshots
the worktree). The conversation is saved after every turn, so an interrupted run resumes
where it stopped. Steering messages join the conversation at the start of a turn.

Profile (``[agents.NAME]``): ``model``, ``base_url`` (any Anthropic-compatible server),
``api_key_env`` (default ``ANTHROPIC_API_KEY``; the key is read from the environment and
never stored), ``max_turns``, ``max_tokens``. A run given a model script (``--scenario``)
talks to its own scripted model server instead (no key needed).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.adapters.agents import fs_tools
from engine.adapters.agents.scripted_model import check_model_access, with_model
from engine.domain.events import (
    AgentText,
    FileChanged,
    ToolCallFinished,
    ToolCallRequested,
    UsageReported,
)
from engine.domain.guard import ToolRequest
from engine.domain.skills import Skill, render_skills
from engine.ports.agent import AgentOutcome, RunContext

if TYPE_CHECKING:
    import anthropic

DEFAULT_MODEL = "claude-sonnet-5"
DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_MAX_TURNS = 50
DEFAULT_MAX_TOKENS = 8192
#: Characters of a tool result sent back to the model (and shown in the transcript).
RESULT_LIMIT = 30_000

TOOLS: list[dict[str, Any]] = [
    {
        "name": "read_file",
        "description": "Read a text file of the repository.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "relative path"}},
            "required": ["path"],
        },
    },
    {
        "name": "write_file",
        "description": "Create or overwrite a file with the given content.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["path", "content"],
        },
    },
    {
        "name": "edit_file",
        "description": "Replace the one occurrence of `old` in a file by `new` (exact text).",
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "old": {"type": "string"},
                "new": {"type": "string"},
            },
            "required": ["path", "old", "new"],
        },
    },
    {
        "name": "list_dir",
        "description": "List a directory of the repository.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "default": "."}},
        },
    },
    {
        "name": "grep",
        "description": "Search files for a regular expression; prints path:line: text.",
        "input_schema": {
            "type": "object",
            "properties": {"pattern": {"type": "string"}, "path": {"type": "string"}},
            "required": ["pattern"],
        },
    },
    {
        "name": "run_command",
        "description": "Run a shell command in the repository; prints its output.",
        "input_schema": {
            "type": "object",
            "properties": {
                "command": {"type": "string"},
                "timeout": {"type": "number", "description": "seconds", "default": 120},
            },
            "required": ["command"],
        },
    },
]

#: The guard's tool kind of each tool.
KIND = {
    "read_file": "read",
    "list_dir": "read",
    "grep": "read",
    "write_file": "write",
    "edit_file": "edit",
    "run_command": "shell",
}


class AnthropicBackend:
    """See the module docstring."""

    name = "anthropic"

    def preflight(self, profile: dict[str, Any], scenario: str | None) -> None:
        """A valid model script, or the API key's variable set."""
        check_model_access("anthropic", profile, scenario, DEFAULT_KEY_ENV)

    async def run(self, ctx: RunContext) -> AgentOutcome:
        """Converse until the model stops calling tools (or max_turns)."""

        async def converse(profile: dict[str, Any], api_key: str) -> AgentOutcome:
            import anthropic  # imported on use: processes without such runs skip its cost

            client = anthropic.AsyncAnthropic(
                api_key=api_key,
                base_url=profile.get("base_url") or None,
                max_retries=2,
                http_client=anthropic.DefaultAsyncHttpxClient(verify=_tls_context()),
            )
            try:
                return await _Conversation(ctx, client, anthropic).run()
            finally:
                await client.close()

        return await with_model(ctx, DEFAULT_KEY_ENV, converse)


@functools.cache
def _tls_context() -> ssl.SSLContext | bool:
    """One verifying TLS context for every run of this process: loading the system's CA
    certificates, which each new client otherwise does, takes ~50 ms a run. It is the
    context the SDK's HTTP stack would build itself; ``True`` (its own default, built per
    client) if that stack is not the one expected."""
    try:
        import httpcore2
    except ImportError:
        return True
    return httpcore2.default_ssl_context()


class _Conversation:
    def __init__(self, ctx: RunContext, client: anthropic.AsyncAnthropic, sdk: Any) -> None:
        self.ctx = ctx
        self.client = client
        self.sdk = sdk
        self.model = ctx.profile.get("model") or DEFAULT_MODEL
        self.max_turns = int(ctx.profile.get("max_turns") or DEFAULT_MAX_TURNS)
        self.max_tokens = int(ctx.profile.get("max_tokens") or DEFAULT_MAX_TOKENS)
        self.messages: list[dict[str, Any]] = []

    async def run(self) -> AgentOutcome:
        ctx = self.ctx
        saved = await ctx.load_state()
        if saved and saved.get("messages"):
            self.messages = saved["messages"]
        else:
            self.messages = [{"role": "user", "content": [_text(ctx.run.task)]}]
        system = system_prompt(ctx.skills)
        for _ in range(self.max_turns):
            await self._deliver_steering()
            try:
                reply = await self._ask(system)
            except self.sdk.APIStatusError as exc:
                return AgentOutcome(
                    ok=False, error=f"model API error {exc.status_code}: {_message(exc)}"
                )
            except self.sdk.APIConnectionError:
                return AgentOutcome(
                    ok=False, error=f"cannot reach the model API at {self.client.base_url}"
                )
            except self.sdk.APIError as exc:
                return AgentOutcome(ok=False, error=f"model API error: {_message(exc)}")
            content = [block.model_dump(exclude_none=True) for block in reply.content]
            self.messages.append({"role": "assistant", "content": content})
            calls = [block for block in content if block.get("type") == "tool_use"]
            results = [await self._call(block) for block in calls]
            if results:
                self.messages.append({"role": "user", "content": results})
            await ctx.save_state({"messages": self.messages})
            await ctx.end_turn()
            if not calls:
                # Steering that came during the last reply is answered, not dropped.
                if await self._deliver_steering():
                    continue
                return AgentOutcome(ok=True)
        return AgentOutcome(ok=False, error=f"stopped after {self.max_turns} turns (max_turns)")

    async def _deliver_steering(self) -> bool:
        """Steering joins the conversation as the human's words, at a turn's start;
        True when there was some."""
        steering = await self.ctx.take_steering()
        if not steering:
            return False
        blocks = [_text(f"Message from the human steering you: {m.text}") for m in steering]
        last = self.messages[-1]
        if last["role"] == "user":
            last["content"] = [*_as_blocks(last["content"]), *blocks]
        else:
            self.messages.append({"role": "user", "content": blocks})
        return True

    async def _ask(self, system: str) -> Any:
        async with self.client.messages.stream(
            model=self.model,
            max_tokens=self.max_tokens,
            system=system,
            tools=TOOLS,  # ty: ignore[invalid-argument-type]
            messages=self.messages,  # ty: ignore[invalid-argument-type]
        ) as stream:
            reply = await stream.get_final_message()
        run_id = self.ctx.run.id
        for block in reply.content:
            if block.type == "text" and block.text.strip():
                await self.ctx.emit(AgentText(run_id=run_id, text=block.text))
        usage = reply.usage
        await self.ctx.emit(
            UsageReported(
                run_id=run_id,
                input_tokens=usage.input_tokens or 0,
                output_tokens=usage.output_tokens or 0,
            )
        )
        return reply

    async def _call(self, block: dict[str, Any]) -> dict[str, Any]:
        """Run one tool call (after the guard) and return its tool_result block."""
        ctx = self.ctx
        name = str(block.get("name"))
        arguments = block.get("input") or {}
        call_id = str(block.get("id") or uuid.uuid4().hex)
        kind = KIND.get(name, "other")
        await ctx.emit(
            ToolCallRequested(
                run_id=ctx.run.id, call_id=call_id, tool=name, kind=kind, arguments=arguments
            )
        )
        verdict = await ctx.check_tool(ToolRequest(kind=kind, tool=name, arguments=arguments))
        exit_code: int | None = None
        if not verdict.allowed:
            rule = f" (rule {verdict.rule})" if verdict.rule else ""
            result = fs_tools.ToolResult(
                f"refused by the guard{rule}: {verdict.reason or verdict.decision}", is_error=True
            )
        elif name == "run_command":
            timeout = float(arguments.get("timeout") or 120)
            exit_code, output = await ctx.run_command(str(arguments.get("command", "")), timeout)
            result = fs_tools.ToolResult(output, is_error=exit_code != 0)
        else:
            result = await asyncio.to_thread(run_file_tool, ctx.worktree, name, arguments)
        output = result.output
        if len(output) > RESULT_LIMIT:
            output = output[:RESULT_LIMIT] + f"\n… cut at {RESULT_LIMIT} characters"
        await ctx.emit(
            ToolCallFinished(
                run_id=ctx.run.id,
                call_id=call_id,
                tool=name,
                output=output,
                is_error=result.is_error,
                exit_code=exit_code,
            )
        )
        for path, change in result.changes:
            await ctx.emit(FileChanged(run_id=ctx.run.id, path=path, change=change))  # ty: ignore[invalid-argument-type]
        if exit_code is not None:
            # The event carries the exit code in its own field; the model reads it here.
            output = f"exit code {exit_code}\n{output}"
        return {
            "type": "tool_result",
            "tool_use_id": call_id,
            "content": output,
            "is_error": result.is_error,
        }


def run_file_tool(worktree: Path, name: str, arguments: dict[str, Any]) -> fs_tools.ToolResult:
    """Dispatch a file tool by name; bad arguments are an error result, not an exception."""
    try:
        match name:
            case "read_file":
                return fs_tools.read_file(worktree, str(arguments["path"]))
            case "write_file":
                return fs_tools.write_file(
                    worktree, str(arguments["path"]), str(arguments["content"])
                )
            case "edit_file":
                return fs_tools.edit_file(
                    worktree, str(arguments["path"]), str(arguments["old"]), str(arguments["new"])
                )
            case "list_dir":
                return fs_tools.list_dir(worktree, str(arguments.get("path") or "."))
            case "grep":
                return fs_tools.grep(
                    worktree, str(arguments["pattern"]), str(arguments.get("path") or ".")
                )
    except KeyError as exc:
        return fs_tools.ToolResult(f"{name}: missing argument {exc}", is_error=True)
    return fs_tools.ToolResult(f"unknown tool {name!r}", is_error=True)


def system_prompt(skills: list[Skill] | None = None) -> str:
    """The harness's instructions, then the run's skills (the repo's own AGENTS.md and
    CLAUDE.md among them, first)."""
    parts = [
        "You are a coding agent working in a git worktree of the user's repository. Use "
        "the tools to read, change and check the code; paths are relative to the "
        "repository root. Work in small verified steps and say briefly what you did.",
    ]
    if skills:
        parts.append(render_skills(skills))
    return "\n\n".join(parts)


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _as_blocks(content: Any) -> list[dict[str, Any]]:
    return [_text(content)] if isinstance(content, str) else list(content)


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
