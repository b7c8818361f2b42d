"""A tiny real ACP agent for the tests, run as its own process over stdio.

On a prompt it: says what it works on; asks permission to write ``notes.txt`` and, if
allowed, writes it through the client; asks permission to run ``rm -rf /`` (a guard
should refuse); tries to write outside its cwd (the client must refuse); reads the
README through the client and quotes its first line. A later prompt is answered with
"Noted: …"; a prompt containing "hang" is never answered (it says so on stderr), one
with "slowly" waits 2 s, one with "crash" exits at once with a reason on stderr, one with "burst" reads the README
through the client BURST times, each a reported tool call (for the throughput bench). It
supports loadSession.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from typing import Any, cast

import acp
from acp.schema import (
    AgentCapabilities,
    InitializeResponse,
    LoadSessionResponse,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    ToolCallUpdate,
    ToolKind,
)


def said(word: str, text: str) -> bool:
    """Whether ``word`` is in the prompt as a word ("changelog" is no "hang")."""
    return re.search(rf"\b{word}\b", text) is not None


#: Tool calls a "burst" prompt makes.
BURST = 100


class ScriptedAgent:
    def __init__(self) -> None:
        self.client: Any = None
        self.cwd = "."
        self.prompts = 0

    def on_connect(self, conn: Any) -> None:
        self.client = conn

    async def initialize(self, protocol_version: int, **_: Any) -> InitializeResponse:
        return InitializeResponse(
            protocol_version=protocol_version,
            agent_capabilities=AgentCapabilities(load_session=True),
        )

    async def new_session(self, cwd: str, **_: Any) -> NewSessionResponse:
        self.cwd = cwd
        return NewSessionResponse(session_id="scripted-session-1")

    async def load_session(self, cwd: str, session_id: str, **_: Any) -> LoadSessionResponse:
        self.cwd = cwd
        self.prompts = 1  # a loaded session has had its first prompt
        return LoadSessionResponse()

    async def say(self, session_id: str, text: str) -> None:
        for word in text.split(" "):  # chunks, as a model streams them
            await self.client.session_update(session_id, acp.update_agent_message_text(word + " "))

    async def permitted(
        self, session_id: str, call_id: str, title: str, kind: ToolKind, raw: dict
    ) -> bool:
        await self.client.session_update(
            session_id,
            acp.start_tool_call(call_id, title, kind=kind, status="pending", raw_input=raw),
        )
        reply = await self.client.request_permission(
            session_id=session_id,
            tool_call=ToolCallUpdate(tool_call_id=call_id, title=title, kind=kind, raw_input=raw),
            options=[
                PermissionOption(option_id="yes", name="Allow", kind="allow_once"),
                PermissionOption(option_id="no", name="Reject", kind="reject_once"),
            ],
        )
        return getattr(reply.outcome, "option_id", None) == "yes"

    async def finish(self, session_id: str, call_id: str, ok: bool, output: str) -> None:
        await self.client.session_update(
            session_id,
            acp.update_tool_call(
                call_id, status="completed" if ok else "failed", raw_output=output
            ),
        )

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> PromptResponse:
        text = " ".join(getattr(block, "text", "") for block in prompt)
        self.prompts += 1
        if said("slowly", text):  # time for a test to steer it
            await asyncio.sleep(2.0)
        if said("crash", text):  # for the failure tests: dies, saying why on stderr
            print("scripted agent: fatal: the disk is on fire", file=sys.stderr, flush=True)
            os._exit(3)
        if said("hang", text):  # for cancel and contract tests: never answers
            print("scripted agent: waiting for a model that never answers", file=sys.stderr)
            sys.stderr.flush()
            await self.say(session_id, "thinking for a long time")
            await asyncio.sleep(3600)
        if said("burst", text):  # for the throughput bench: many tool calls, then a line
            for i in range(BURST):
                call_id = f"b{self.prompts}-{i}"
                await self.client.session_update(
                    session_id, acp.start_tool_call(call_id, "Read README.md", kind="read")
                )
                readme = await self.client.read_text_file(
                    session_id=session_id, path=f"{self.cwd}/README.md", limit=1
                )
                await self.finish(session_id, call_id, True, readme.content)
            await self.say(session_id, "Done.")
            return PromptResponse(stop_reason="end_turn")
        if self.prompts > 1:
            await self.say(session_id, f"Noted: {text}")
            return PromptResponse(stop_reason="end_turn")
        await self.say(session_id, f"Working on: {text}")
        path = f"{self.cwd}/notes.txt"
        if await self.permitted(session_id, "w1", "Write notes.txt", "edit", {"path": path}):
            await self.client.write_text_file(
                session_id=session_id, path=path, content="from acp\n"
            )
            await self.finish(session_id, "w1", True, "wrote notes.txt")
        else:
            await self.finish(session_id, "w1", False, "not allowed")
        allowed = await self.permitted(
            session_id, "x1", "rm -rf /", "execute", {"command": "rm -rf /"}
        )
        await self.finish(session_id, "x1", False, "ran it?!" if allowed else "refused")
        try:
            await self.client.write_text_file(
                session_id=session_id, path=f"{self.cwd}/../escape.txt", content="x"
            )
            await self.say(session_id, "escape written")
        except Exception as exc:  # the client refused: say so
            await self.say(session_id, f"escape refused: {type(exc).__name__}")
        readme = await self.client.read_text_file(
            session_id=session_id, path=f"{self.cwd}/README.md", limit=1
        )
        await self.say(session_id, f"README starts: {readme.content.strip()}")
        return PromptResponse(stop_reason="end_turn")

    async def cancel(self, session_id: str, **_: Any) -> None:
        return None


if __name__ == "__main__":
    # Only the methods this agent needs are defined (the protocol has many more).
    asyncio.run(acp.run_agent(cast(Any, ScriptedAgent())))
