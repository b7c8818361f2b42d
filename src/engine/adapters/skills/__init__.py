"""Skills read from folders of ``<name>/SKILL.md`` files."""

from engine.adapters.skills.files import SHIPPED_SKILLS, FolderSkillLibrary

__all__ = ["SHIPPED_SKILLS", "FolderSkillLibrary"]
