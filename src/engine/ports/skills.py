"""Where a run's skills come from."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from engine.domain.skills import Skill


class SkillLibrary(Protocol):
    """Finds and selects skills. Blocking (it reads files): call it in a thread."""

    def select(self, repo: str, checkout: Path, wanted: list[str]) -> list[Skill]:
        """The skills a run on ``repo`` loads, ``checkout`` being the repo's files (its
        worktree, or the repo itself before one exists): ``wanted`` by name, those that
        apply to the repo, and what they require. Raises
        :class:`~engine.domain.skills.SkillError` with one clear line."""
        ...

    def available(self, checkout: Path) -> list[Skill]:
        """Every skill a run on the checkout could load: its instruction files (loaded
        always), then the library's skills by name. Raises
        :class:`~engine.domain.skills.SkillError` for a malformed one."""
        ...
