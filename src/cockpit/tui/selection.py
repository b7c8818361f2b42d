"""What the run list's highlighted row is: a run or a repo.

The list is a Textual ``OptionList``, whose options are identified by strings. Those
strings are made and read here and nowhere else (:func:`row_id`, :func:`parse_row`): the
rest of the cockpit passes :class:`RunRow` and :class:`RepoRow` around, so no one cuts
``"run:"`` off an id by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RepoRow", "Row", "RunRow", "parse_row", "row_id"]

_RUN = "run:"
_REPO = "repo:"


@dataclass(frozen=True)
class RunRow:
    """The row of one run, by its id."""

    id: str


@dataclass(frozen=True)
class RepoRow:
    """The row of one repo, by its name in the workspace's configuration."""

    name: str


#: A row the human can highlight (the list's headings and notes are not rows).
Row = RunRow | RepoRow


def row_id(row: Row) -> str:
    """The option id of ``row`` in the run list."""
    if isinstance(row, RunRow):
        return f"{_RUN}{row.id}"
    return f"{_REPO}{row.name}"


def parse_row(option_id: str | None) -> Row | None:
    """The row an option id stands for; None for anything else (a heading, a note, no
    option at all)."""
    if option_id is None:
        return None
    if option_id.startswith(_RUN):
        return RunRow(option_id.removeprefix(_RUN))
    if option_id.startswith(_REPO):
        return RepoRow(option_id.removeprefix(_REPO))
    return None
