"""The skill library on disk: Cockpit's shipped ``skills/``, the workspace's ``skills/``,
and the repo's own ``.claude/skills/`` (Claude Code's convention). A later folder's skill
of the same name wins: a repo can refine a workspace skill, a workspace a shipped one.
The repo's AGENTS.md and CLAUDE.md are implicit skills every run on it loads."""

from __future__ import annotations

import itertools
from pathlib import Path

from engine.domain.skills import (
    INSTRUCTION_FILES,
    Skill,
    SkillError,
    instruction_skill,
    parse_skill,
    select_skills,
)

#: The skills shipped with Cockpit (the repository's ``skills/`` folder).
SHIPPED_SKILLS = Path(__file__).resolve().parents[4] / "skills"
#: Files looked at when an ``applies_to`` path glob is matched (a huge repo is not walked).
GLOB_LIMIT = 20_000


class FolderSkillLibrary:
    """:class:`~engine.ports.skills.SkillLibrary` over folders of skills."""

    def __init__(self, workspace_root: Path, shipped: Path = SHIPPED_SKILLS) -> None:
        self.folders = [shipped, workspace_root / "skills"]

    def library(self, checkout: Path) -> dict[str, Skill]:
        """Every skill visible from ``checkout``, by name."""
        found: dict[str, Skill] = {}
        for folder in [*self.folders, checkout / ".claude" / "skills"]:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*/SKILL.md")):
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise SkillError(f"{path}: cannot be read ({exc})") from None
                skill = parse_skill(text, str(path))
                found[skill.name] = skill
        return found

    def select(self, repo: str, checkout: Path, wanted: list[str]) -> list[Skill]:
        def has_files(pattern: str) -> bool:
            # Only the first GLOB_LIMIT paths are looked at; .git is never a match.
            paths = itertools.islice(checkout.glob(pattern), GLOB_LIMIT)
            return any(".git" not in p.relative_to(checkout).parts for p in paths)

        return [
            *self.instructions(checkout),
            *select_skills(self.library(checkout), wanted, repo, has_files),
        ]

    def available(self, checkout: Path) -> list[Skill]:
        library = self.library(checkout)
        return [*self.instructions(checkout), *(library[name] for name in sorted(library))]

    def instructions(self, checkout: Path) -> list[Skill]:
        """The checkout's instruction files as implicit skills (a symlink is not
        followed: it could point anywhere on the machine)."""
        found = []
        for name in INSTRUCTION_FILES:
            path = checkout / name
            if path.is_file() and not path.is_symlink():
                text = path.read_text(encoding="utf-8", errors="replace")
                found.append(instruction_skill(name, text, str(path)))
        return found
