"""The skill library on disk: Cockpit's shipped ``skills/``, the workspace's ``skills/``,
and the repo's own ``.claude/skills/`` (Claude Code's convention). A later folder's skill
of the same name wins: a repo can refine a workspace skill, a workspace a shipped one.
The repo's AGENTS.md and CLAUDE.md are implicit skills every run on it loads."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from engine.domain.globs import RepoFiles
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
#: Inherited variables that would point git at another repo (e.g. from a git hook).
_LOCATING_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")


def tracked_files(checkout: Path) -> list[str]:
    """The files git tracks in ``checkout`` (``git ls-files``: relative, ``/``-separated);
    none when it is not a git checkout. Blocking: called in a worker thread, as the
    whole library is. The checkout itself is never walked: a huge one would take long,
    and its ``.git`` changes under a walk (``git gc --auto`` removes folders)."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATING_VARS}
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotepath=off", "ls-files", "-z"],
            cwd=checkout,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except OSError:  # no git, or the checkout is gone
        return []
    if done.returncode != 0:
        return []
    return done.stdout.decode("utf-8", "surrogateescape").split("\0")


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
        files: RepoFiles | None = None

        def has_files(pattern: str) -> bool:
            # Path globs are matched on the files git tracks (untracked ones do not
            # count), listed once, and only when some skill has a path glob.
            nonlocal files
            if files is None:
                files = RepoFiles(tracked_files(checkout))
            return files.match(pattern)

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
