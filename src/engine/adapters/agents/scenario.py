"""Scenario files for the scripted backend: a list of ``[[step]]`` tables, one turn each.

A step holds one or more actions, performed in the order they are written:
``say``, ``write``, ``edit``, ``delete``, ``run``, ``wait``, ``ask``, ``fail``.

A profile with ``improvise = true`` needs no file: :mod:`.improvise` makes one up.
"""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.domain.errors import ScenarioError

ACTIONS = ("say", "stream", "write", "edit", "delete", "run", "wait", "ask", "fail")


class WriteAction(BaseModel):
    """Write ``content`` to ``path`` (created with its parent folders)."""

    model_config = ConfigDict(extra="forbid")
    path: str
    content: str


class EditAction(BaseModel):
    """Replace the exact text ``old`` with ``new`` in ``path`` (first occurrence)."""

    model_config = ConfigDict(extra="forbid")
    path: str
    old: str
    new: str


class StreamAction(BaseModel):
    """Say ``count`` chunks of ``text`` (numbered), ``interval`` seconds apart, in one turn."""

    model_config = ConfigDict(extra="forbid")
    text: str = "streaming output"
    count: int = Field(default=10, ge=1, le=1_000_000)
    interval: float = Field(default=0.1, ge=0)


class RunAction(BaseModel):
    """Run a shell command in the worktree."""

    model_config = ConfigDict(extra="forbid")
    command: str
    timeout: float | None = None


class Step(BaseModel):
    """One agent turn: its actions in the order the scenario file lists them."""

    model_config = ConfigDict(extra="forbid")
    say: str | None = None
    stream: StreamAction | None = None
    write: WriteAction | None = None
    edit: EditAction | None = None
    delete: str | None = None
    run: RunAction | None = None
    wait: float | None = Field(default=None, ge=0)
    ask: str | None = None
    fail: str | None = None
    #: Order of the keys as written in the file (filled by the loader).
    order: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("run"), str):
                data["run"] = {"command": data["run"]}
            data.setdefault("order", [k for k in data if k in ACTIONS])
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> Step:
        if not self.order:
            raise ValueError(f"a step needs one of: {', '.join(ACTIONS)}")
        paths = [
            self.write.path if self.write else None,
            self.edit.path if self.edit else None,
            self.delete,
        ]
        for path in paths:
            if path is not None:
                check_relative(path)
        return self


class Scenario(BaseModel):
    """A whole scenario file."""

    model_config = ConfigDict(extra="forbid")
    step: list[Step] = Field(min_length=1)


def check_relative(path: str) -> None:
    """Scenario paths are relative to the worktree and may not climb out of it."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise ValueError(f"path {path!r} must be relative to the worktree, without '..'")


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario; errors become one :class:`ScenarioError` line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: invalid TOML: {exc}") from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"] if p not in ("function-after",))
        raise ScenarioError(f"{path}: {where or 'scenario'}: {err['msg']}") from None
