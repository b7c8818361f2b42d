"""The review's terms the engine's API names: what a review looks at (:class:`Span`) and
what an approval did (:class:`Approval`). The review itself is :mod:`engine.domain.review`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Approval:
    """What an approval did."""

    run_id: str
    base: str
    sha: str
    squash: bool
    gates_overridden: list[str]
    #: False when the base already had every change (no commit was made; ``sha`` is the
    #: base's).
    merged: bool = True


@dataclass(frozen=True)
class Span:
    """What a review looks at: the whole run against its base (``turns`` None), or what
    turns ``a`` to ``b`` changed (``(a, b)``; ``(n, n)``: one turn)."""

    turns: tuple[int, int] | None = None

    def label(self) -> str:
        if self.turns is None:
            return "the whole run"
        first, last = self.turns
        return f"turn {last}" if first == last else f"turns {first}–{last}"


#: A review of the whole run against its base.
WHOLE_RUN = Span()
