"""The model script: what the scripted model server answers, turn by turn.

A script is a TOML file of ``[[turn]]`` tables. The reply to a request is chosen from the
conversation it carries: the n-th turn answers a conversation in which the assistant has
already spoken n times. So a client that sends back a tool result gets the next turn,
and a client that retries a request gets the same turn again (replies are deterministic).

    [[turn]]
    text = "Let me read the module first."
    [[turn.tool_use]]
    name = "read_file"
    input = { path = "app.py" }

    [[turn]]
    text = "Done: the handler now validates its input."

A turn may also carry ``error = { status = 529, type = "overloaded_error" }`` (the reply
is that HTTP error) and ``delay`` (seconds to wait before answering, for hang tests).
Strings in tool inputs may use ``{cwd}``: the working directory the server was told
(Claude Code's Write and Edit want absolute paths).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.domain.errors import ScenarioError

#: The reply once the script has no turn left (the client keeps asking).
END_TEXT = "(the script has no more turns)"
#: The reply to a side request (no tools offered: a session title, a summary…).
SIDE_TEXT = "Scripted session"


class ToolUse(BaseModel):
    """One tool call the assistant makes."""

    model_config = ConfigDict(extra="forbid")
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class ApiError(BaseModel):
    """An HTTP error the server answers with instead of a reply."""

    model_config = ConfigDict(extra="forbid")
    status: int = 500
    type: str = "api_error"
    message: str = "scripted error"


class Turn(BaseModel):
    """What the assistant says (and calls) in one reply."""

    model_config = ConfigDict(extra="forbid")
    text: str = ""
    tool_use: list[ToolUse] = Field(default_factory=list)
    error: ApiError | None = None
    delay: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None


class ModelScript(BaseModel):
    """The whole script; see the module docstring."""

    model_config = ConfigDict(extra="forbid")
    turn: list[Turn] = Field(default_factory=list)

    def reply_for(self, assistant_turns: int) -> Turn:
        """The turn answering a conversation where the assistant spoke that many times."""
        if 0 <= assistant_turns < len(self.turn):
            return self.turn[assistant_turns]
        return Turn(text=END_TEXT)


def load_model_script(path: Path) -> ModelScript:
    """Parse a script file; a bad one raises :class:`ScenarioError` naming the file."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ScenarioError(f"cannot read model script {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"model script {path} is not valid TOML: {exc}") from None
    return parse_model_script(data, str(path))


def parse_model_script(data: dict[str, Any], where: str = "model script") -> ModelScript:
    """Validate an already-parsed script (tests build them as dicts)."""
    try:
        return ModelScript.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(part) for part in first["loc"])
        raise ScenarioError(f"{where}: {place}: {first['msg']}") from None


def spoken_turns(by_assistant: Iterable[bool]) -> int:
    """Turns the assistant took in a conversation, given for each of its items whether
    the assistant produced it: each maximal run of such items is one turn (a client may
    store one reply as several messages, as Claude Code does in a resumed session)."""
    turns, in_turn = 0, False
    for mine in by_assistant:
        turns += mine and not in_turn
        in_turn = mine
    return turns


def substitute(value: Any, cwd: str) -> Any:
    """``{cwd}`` replaced in every string of a (nested) tool input."""
    if isinstance(value, str):
        return value.replace("{cwd}", cwd)
    if isinstance(value, list):
        return [substitute(item, cwd) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, cwd) for key, item in value.items()}
    return value
