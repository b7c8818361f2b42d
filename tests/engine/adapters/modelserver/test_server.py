"""The scripted model server, exercised by the real anthropic SDK (and raw HTTP for the
OpenAI Responses API, which Codex speaks)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import cast

import anthropic
import pytest
from anthropic.types import ContentBlock, MessageParam, TextBlock, ToolParam, ToolUseBlock

from engine.adapters.modelserver import ModelServer, load_model_script, parse_model_script
from engine.adapters.modelserver.script import END_TEXT, SIDE_TEXT
from engine.domain.errors import ScenarioError

TOOLS: list[ToolParam] = [
    {
        "name": "read_file",
        "description": "Read a file",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
]

SCRIPT = parse_model_script(
    {
        "turn": [
            {
                "text": "Let me read the module first.",
                "tool_use": [{"name": "read_file", "input": {"path": "{cwd}/app.py"}}],
            },
            {"text": "Done: the handler validates its input.", "output_tokens": 7},
        ]
    }
)


def text_of(block: ContentBlock) -> str:
    assert isinstance(block, TextBlock), block
    return block.text


def input_of(block: ContentBlock) -> object:
    assert isinstance(block, ToolUseBlock), block
    return block.input


def client(server: ModelServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.url, api_key="test", max_retries=0)


def tool_result_conversation(first: anthropic.types.Message) -> list[MessageParam]:
    call = next(block for block in first.content if block.type == "tool_use")
    return [
        {"role": "user", "content": "tidy the module"},
        cast(
            MessageParam,
            {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        ),
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "x = 1"}],
        },
    ]


async def test_non_streaming_tool_use_then_final_text() -> None:
    async with ModelServer(SCRIPT, cwd="/work/tree") as server:
        api = client(server)
        first = await api.messages.create(
            model="claude-any-name",
            max_tokens=1000,
            tools=TOOLS,
            messages=[{"role": "user", "content": "tidy the module"}],
        )
        assert first.stop_reason == "tool_use"
        assert first.content[0].type == "text"
        assert text_of(first.content[0]) == "Let me read the module first."
        call = first.content[1]
        assert call.type == "tool_use" and call.name == "read_file"
        assert input_of(call) == {"path": "/work/tree/app.py"}  # {cwd} substituted
        assert first.usage.input_tokens > 0

        second = await api.messages.create(
            model="claude-any-name",
            max_tokens=1000,
            tools=TOOLS,
            messages=tool_result_conversation(first),
        )
        assert second.stop_reason == "end_turn"
        assert [b.type for b in second.content] == ["text"]
        assert text_of(second.content[0]) == "Done: the handler validates its input."
        assert second.usage.output_tokens == 7
        assert len(server.turn_requests) == 2


async def test_streaming_gives_the_same_message_event_by_event() -> None:
    async with ModelServer(SCRIPT, cwd="/w") as server:
        api = client(server)
        seen: list[str] = []
        async with api.messages.stream(
            model="m",
            max_tokens=100,
            tools=TOOLS,
            messages=[{"role": "user", "content": "go"}],
        ) as stream:
            async for event in stream:
                seen.append(event.type)
            final = await stream.get_final_message()
        assert final.stop_reason == "tool_use"
        assert text_of(final.content[0]) == "Let me read the module first."
        assert input_of(final.content[1]) == {"path": "/w/app.py"}
        assert seen[0] == "message_start" and "content_block_delta" in seen
        assert seen.count("content_block_stop") == 2

        # A retried request gets the same turn: replies depend on the conversation only.
        again = await api.messages.create(
            model="m", max_tokens=100, tools=TOOLS, messages=[{"role": "user", "content": "go"}]
        )
        assert text_of(again.content[0]) == text_of(final.content[0])


async def test_side_requests_and_the_end_of_the_script() -> None:
    async with ModelServer(SCRIPT) as server:
        api = client(server)
        title = await api.messages.create(
            model="m", max_tokens=20, messages=[{"role": "user", "content": "title?"}]
        )
        assert text_of(title.content[0]) == SIDE_TEXT
        assert server.turn_requests == []
        spoken: list[MessageParam] = [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
            {"role": "assistant", "content": "d"},
            {"role": "user", "content": "e"},
        ]
        beyond = await api.messages.create(model="m", max_tokens=20, tools=TOOLS, messages=spoken)
        assert text_of(beyond.content[0]) == END_TEXT
        count = await api.messages.count_tokens(
            model="m", messages=[{"role": "user", "content": "hello"}]
        )
        assert count.input_tokens > 0


async def test_scripted_errors_reach_the_client_as_api_errors() -> None:
    script = parse_model_script(
        {"turn": [{"error": {"status": 529, "type": "overloaded_error", "message": "busy"}}]}
    )
    async with ModelServer(script) as server:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client(server).messages.create(
                model="m", max_tokens=5, tools=TOOLS, messages=[{"role": "user", "content": "x"}]
            )
        assert caught.value.status_code == 529
        assert "busy" in str(caught.value)


async def test_probe_and_unknown_routes() -> None:
    async with ModelServer(SCRIPT) as server:
        assert (await http(server, "HEAD", "/"))[0] == 200
        status, _, text = await http(server, "POST", "/v2/nothing", {})
        assert status == 404
        assert json.loads(text)["type"] == "error"
        status, _, _ = await http(server, "POST", "/v1/messages?beta=true", raw=b"{not json")
        assert status == 400


async def http(
    server: ModelServer, method: str, path: str, body: object = None, raw: bytes | None = None
) -> tuple[int, dict[str, str], str]:
    """One plain HTTP request (urllib, in a thread): status, headers, body text."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(server.url + path, data=data, method=method)
    request.add_header("content-type", "application/json")

    def send() -> tuple[int, dict[str, str], str]:
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, dict(reply.headers), reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    return await asyncio.to_thread(send)


def sse_events(text: str) -> list[dict]:
    events = []
    for frame in text.strip().split("\n\n"):
        data = [line[6:] for line in frame.splitlines() if line.startswith("data: ")]
        if data:
            events.append(json.loads(data[0]))
    return events


async def test_openai_responses_stream_a_function_call_then_text() -> None:
    tools = [{"type": "function", "name": "read_file", "parameters": {"type": "object"}}]
    ask = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}
    async with ModelServer(SCRIPT, cwd="/t") as server:
        body = {"model": "gpt-any", "stream": True, "tools": tools, "input": [ask]}
        status, headers, text = await http(server, "POST", "/v1/responses", body)
        assert status == 200
        assert headers["content-type"] == "text/event-stream"
        events = sse_events(text)
        kinds = [e["type"] for e in events]
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
        assert "response.output_text.delta" in kinds
        assert "response.function_call_arguments.done" in kinds
        output = events[-1]["response"]["output"]
        call = next(item for item in output if item["type"] == "function_call")
        assert json.loads(call["arguments"]) == {"path": "/t/app.py"}
        assert events[-1]["response"]["usage"]["total_tokens"] > 0

        # The call and its output in the input: the script's next turn.
        result = {"type": "function_call_output", "call_id": call["call_id"], "output": "x = 1"}
        body["input"] = [ask, *output, result]
        _, _, text = await http(server, "POST", "/v1/responses", body)
        final = sse_events(text)[-1]["response"]["output"]
        assert final[0]["content"][0]["text"] == "Done: the handler validates its input."


def test_bad_scripts_are_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "model.toml"
    path.write_text('[[turn]]\ntext = "hi"\nbogus = 1\n')
    with pytest.raises(ScenarioError, match=r"model\.toml: turn\.0\.bogus"):
        load_model_script(path)
    path.write_text("[[turn]\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_model_script(path)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_model_script(tmp_path / "missing.toml")
    path.write_text('[[turn]]\ntext = "hi"\n[[turn.tool_use]]\nname = "ls"\n')
    assert load_model_script(path).turn[0].tool_use[0].name == "ls"


def test_a_reply_stored_as_several_messages_is_one_turn() -> None:
    from engine.adapters.modelserver import anthropic_api, openai_api

    def messages(*roles: str) -> dict:
        return {"messages": [{"role": role, "content": "x"} for role in roles]}

    assert anthropic_api.assistant_turns(messages()) == 0
    assert anthropic_api.assistant_turns(messages("user", "assistant", "user")) == 1
    # A client splitting one reply in two messages (or merging them): the same turn.
    assert anthropic_api.assistant_turns(messages("user", "assistant", "assistant", "user")) == 1
    assert anthropic_api.assistant_turns(messages("user", "assistant", "user", "assistant")) == 2
    items = [
        {"role": "user", "content": "x"},
        {"type": "reasoning"},
        {"type": "function_call"},
        {"type": "function_call_output"},
        {"role": "assistant", "content": "y"},
    ]
    assert openai_api.assistant_turns({"input": items}) == 2
