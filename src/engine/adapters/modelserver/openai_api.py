"""The OpenAI Responses API (streaming) as the scripted server speaks it, for Codex."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from engine.adapters.modelserver.anthropic_api import estimate_tokens
from engine.adapters.modelserver.script import Turn, spoken_turns, substitute

#: Input items the assistant produced (a run of them is one assistant turn).
_ASSISTANT_ITEMS = {"function_call", "reasoning", "local_shell_call", "custom_tool_call"}


def assistant_turns(body: dict[str, Any]) -> int:
    """How many times the assistant has spoken in the request's input: each maximal run
    of assistant items (messages, function calls, reasoning) is one turn."""
    items = body.get("input")
    if not isinstance(items, list):
        return 0
    return spoken_turns(
        item.get("role") == "assistant" or item.get("type") in _ASSISTANT_ITEMS for item in items
    )


def _frame(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def stream(turn: Turn, body: dict[str, Any], cwd: str) -> Iterator[bytes]:
    """``response.created`` → items (added, deltas, done) → ``response.completed``."""
    response_id = f"resp_{uuid.uuid4().hex[:24]}"
    base = {
        "id": response_id,
        "object": "response",
        "model": body.get("model") or "scripted",
        "status": "in_progress",
        "output": [],
    }
    seq = iter(range(1_000_000))
    yield _frame({"type": "response.created", "sequence_number": next(seq), "response": base})
    output: list[dict[str, Any]] = []
    if turn.text:
        item_id = f"msg_{uuid.uuid4().hex[:24]}"
        index = len(output)
        empty = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress"}
        yield _frame(
            {
                "type": "response.output_item.added",
                "sequence_number": next(seq),
                "output_index": index,
                "item": dict(empty, content=[]),
            }
        )
        yield _frame(
            {
                "type": "response.output_text.delta",
                "sequence_number": next(seq),
                "item_id": item_id,
                "output_index": index,
                "content_index": 0,
                "delta": turn.text,
            }
        )
        part = {"type": "output_text", "text": turn.text, "annotations": []}
        yield _frame(
            {
                "type": "response.output_text.done",
                "sequence_number": next(seq),
                "item_id": item_id,
                "output_index": index,
                "content_index": 0,
                "text": turn.text,
            }
        )
        done = dict(empty, status="completed", content=[part])
        output.append(done)
        yield _frame(
            {
                "type": "response.output_item.done",
                "sequence_number": next(seq),
                "output_index": index,
                "item": done,
            }
        )
    for call in turn.tool_use:
        item_id = f"fc_{uuid.uuid4().hex[:24]}"
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        index = len(output)
        arguments = json.dumps(substitute(call.input, cwd))
        item = {
            "id": item_id,
            "type": "function_call",
            "call_id": call_id,
            "name": call.name,
            "arguments": "",
            "status": "in_progress",
        }
        yield _frame(
            {
                "type": "response.output_item.added",
                "sequence_number": next(seq),
                "output_index": index,
                "item": item,
            }
        )
        yield _frame(
            {
                "type": "response.function_call_arguments.delta",
                "sequence_number": next(seq),
                "item_id": item_id,
                "output_index": index,
                "delta": arguments,
            }
        )
        yield _frame(
            {
                "type": "response.function_call_arguments.done",
                "sequence_number": next(seq),
                "item_id": item_id,
                "output_index": index,
                "arguments": arguments,
            }
        )
        done = dict(item, arguments=arguments, status="completed")
        output.append(done)
        yield _frame(
            {
                "type": "response.output_item.done",
                "sequence_number": next(seq),
                "output_index": index,
                "item": done,
            }
        )
    input_tokens = turn.input_tokens or estimate_tokens(body.get("input"))
    output_tokens = turn.output_tokens or estimate_tokens(output)
    completed = dict(
        base,
        status="completed",
        output=output,
        usage={
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
    )
    yield _frame(
        {"type": "response.completed", "sequence_number": next(seq), "response": completed}
    )


def error_body(kind: str, text: str) -> dict[str, Any]:
    """The API's error envelope."""
    return {"error": {"type": kind, "message": text, "code": kind}}
