"""The Anthropic Messages API as the scripted server speaks it: reading a request's
conversation, and writing a reply as one JSON message or as server-sent events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from engine.adapters.modelserver.script import Turn, spoken_turns, substitute


def assistant_turns(body: dict[str, Any]) -> int:
    """How many times the assistant has spoken in the request's conversation."""
    return spoken_turns(m.get("role") == "assistant" for m in body.get("messages") or [])


def estimate_tokens(payload: Any) -> int:
    """A stable rough count (4 characters a token) for usage figures."""
    return max(1, len(json.dumps(payload, default=str)) // 4)


def content_blocks(turn: Turn, cwd: str) -> list[dict[str, Any]]:
    """The reply's content: its text (if any), then its tool calls."""
    blocks: list[dict[str, Any]] = []
    if turn.text:
        blocks.append({"type": "text", "text": turn.text})
    for call in turn.tool_use:
        blocks.append(
            {
                "type": "tool_use",
                "id": f"toolu_{uuid.uuid4().hex[:24]}",
                "name": call.name,
                "input": substitute(call.input, cwd),
            }
        )
    return blocks


def usage(turn: Turn, body: dict[str, Any]) -> dict[str, int]:
    """Token counts: the turn's own, else estimates from the request and the reply."""
    return {
        "input_tokens": turn.input_tokens or estimate_tokens(body.get("messages")),
        "output_tokens": turn.output_tokens or estimate_tokens(turn.text) + 8 * len(turn.tool_use),
    }


def message(turn: Turn, body: dict[str, Any], cwd: str) -> dict[str, Any]:
    """The whole reply (non-streaming)."""
    blocks = content_blocks(turn, cwd)
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "scripted",
        "content": blocks,
        "stop_reason": "tool_use" if turn.tool_use else "end_turn",
        "stop_sequence": None,
        "usage": usage(turn, body),
    }


def _frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _chunks(text: str, size: int = 24) -> Iterator[str]:
    """Text in small pieces, as a model streams it."""
    for start in range(0, len(text), size):
        yield text[start : start + size]


def stream(turn: Turn, body: dict[str, Any], cwd: str) -> Iterator[bytes]:
    """The reply as server-sent events, in the order the API sends them."""
    whole = message(turn, body, cwd)
    counts = whole["usage"]
    start = dict(whole, content=[], stop_reason=None)
    start["usage"] = {"input_tokens": counts["input_tokens"], "output_tokens": 1}
    yield _frame("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(whole["content"]):
        if block["type"] == "text":
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in _chunks(block["text"])]
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            arguments = json.dumps(block["input"])
            deltas = [
                {"type": "input_json_delta", "partial_json": piece} for piece in _chunks(arguments)
            ]
        yield _frame(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": opening},
        )
        for delta in deltas:
            yield _frame(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        yield _frame("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _frame(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": whole["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": counts["output_tokens"]},
        },
    )
    yield _frame("message_stop", {"type": "message_stop"})


def error_body(kind: str, text: str) -> dict[str, Any]:
    """The API's error envelope."""
    return {"type": "error", "error": {"type": kind, "message": text}}
