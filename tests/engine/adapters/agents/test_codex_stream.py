"""How ``codex exec --json`` lines become events, without the CLI: a warning Codex sends
as an ``error`` item (the run goes on) is a note, not an error."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from engine.adapters.agents.codex import _Stream
from engine.domain.events import AgentText, ErrorOccurred, Event


class Ctx:
    def __init__(self, worktree: Path) -> None:
        self.run = SimpleNamespace(id="r1")
        self.worktree = worktree
        self.events: list[Event] = []

    async def emit(self, event: Event) -> None:
        self.events.append(event)


async def test_a_warning_item_is_a_note_not_an_error(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    stream = _Stream(ctx)  # ty: ignore[invalid-argument-type]
    warning = "Model metadata for `mystery-1` not found. Defaulting to fallback metadata."
    await stream.handle(
        {"type": "item.completed", "item": {"id": "i0", "type": "error", "message": warning}}
    )
    assert not [e for e in ctx.events if isinstance(e, ErrorOccurred)]
    assert [e.text for e in ctx.events if isinstance(e, AgentText)] == [f"codex warning: {warning}"]
    assert stream.failure is None


async def test_a_fatal_error_still_fails_the_turn(tmp_path: Path) -> None:
    stream = _Stream(Ctx(tmp_path))  # ty: ignore[invalid-argument-type]
    await stream.handle({"type": "error", "message": "stream disconnected"})
    assert stream.failure == "stream disconnected"
