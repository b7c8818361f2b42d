"""What an agent said it changed, from the structure of its events (not from its prose).

A run whose agent reports changes — a write/edit tool call that succeeded, a file it said
it changed — but whose worktree ends up with no difference from the base is flagged at
its end (issue 23): "work committed (no changes)" alone would hide that nothing it
claimed happened. A file it added and removed again is no claim.
"""

from __future__ import annotations

from engine.domain.events import Event, FileChanged, ToolCallFinished, ToolCallRequested

#: Tool kinds that change files.
CHANGING_KINDS = frozenset({"write", "edit"})
#: What the run says when the agent's changes are nowhere in its worktree.
NO_CHANGES = "the agent reported changes but the worktree has none"


class ChangeClaims:
    """Folds one execution's events into the paths its agent claims to have changed."""

    def __init__(self) -> None:
        self._pending: dict[str, str] = {}  # call id → path of a write/edit not finished
        self._paths: dict[str, bool] = {}  # path → still claimed
        self._added: set[str] = set()

    def see(self, event: Event) -> None:
        """Note one event the agent's backend emitted."""
        match event:
            case ToolCallRequested(kind=kind, call_id=call_id, arguments=args) if (
                kind in CHANGING_KINDS
            ):
                self._pending[call_id] = str(args.get("path") or "")
            case ToolCallFinished(call_id=call_id, is_error=is_error) if call_id in self._pending:
                path = self._pending.pop(call_id)
                if not is_error:
                    self._claim(path or "(a file)")
            case FileChanged(path=path, change=change):
                if change == "added":
                    self._added.add(path)
                if change == "deleted" and path in self._added:
                    self._paths[path] = False  # a scratch file, gone again: no claim
                    self._added.discard(path)
                else:
                    self._claim(path)

    def _claim(self, path: str) -> None:
        self._paths[path] = True

    @property
    def paths(self) -> list[str]:
        """The paths the agent claims to have changed, in the order it first did."""
        return [path for path, claimed in self._paths.items() if claimed]
