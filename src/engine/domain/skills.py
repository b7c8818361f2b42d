"""Skills: written guidance that gives an agent a project's knowledge.

A skill is a folder ``<name>/SKILL.md`` in the Agent Skills layout: YAML front matter with
``name`` and ``description`` (required), ``requires`` (other skills it needs) and
``applies_to`` (repo names, or path globs matched against the repo's files), then the
guidance itself in Markdown. Parsing and selection are pure; finding the files is
:mod:`engine.adapters.skills`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.domain.errors import BadInput


class SkillError(BadInput):
    """A SKILL.md is malformed, a skill is unknown, or ``requires`` goes round in a cycle."""


@dataclass(frozen=True)
class Skill:
    """One parsed skill."""

    name: str
    description: str
    body: str
    #: Where it was read from (shown in messages and in the cockpit).
    origin: str
    requires: tuple[str, ...] = ()
    applies_to: tuple[str, ...] = ()
    #: A repo's own instruction file (AGENTS.md, CLAUDE.md) taken as a skill: loaded by
    #: every run on the repo, named after the file.
    implicit: bool = False

    def applies(self, repo: str, has_files: Callable[[str], bool]) -> bool:
        """Whether ``applies_to`` selects this skill for ``repo``: a pattern without a
        slash or glob matches the repo's name; any other is a path glob, true when
        ``has_files(glob)`` finds a matching file in the repo."""
        for pattern in self.applies_to:
            if not any(c in pattern for c in "/*?[") and pattern == repo:
                return True
            if any(c in pattern for c in "*?[") and fnmatch.fnmatch(repo, pattern):
                return True
            if ("/" in pattern or "*" in pattern) and has_files(pattern):
                return True
        return False


#: Files at a repo's root that are skills without front matter: the repo's instructions
#: for agents (the AGENTS.md convention, and Claude Code's), at most this many characters.
INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md")
INSTRUCTION_LIMIT = 20_000


def instruction_skill(name: str, text: str, origin: str) -> Skill:
    """A repo's instruction file (one of :data:`INSTRUCTION_FILES`) as an implicit skill."""
    return Skill(
        name=name,
        description=f"the repository's own instructions ({name})",
        body=text[:INSTRUCTION_LIMIT].strip(),
        origin=origin,
        implicit=True,
    )


def parse_skill(text: str, origin: str) -> Skill:
    """A SKILL.md's text as a :class:`Skill`; :class:`SkillError` naming ``origin``."""
    if not text.startswith("---"):
        raise SkillError(f"{origin}: no front matter (a SKILL.md starts with a --- block)")
    head, sep, body = text[3:].partition("\n---")
    if not sep:
        raise SkillError(f"{origin}: the front matter's closing --- is missing")
    # Imported when a skill is first read: the YAML parser is a quarter of the
    # cockpit's own import time, and most start-ups read no skill at all.
    import yaml

    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise SkillError(f"{origin}: the front matter is not valid YAML{where}") from None
    if not isinstance(meta, dict):
        raise SkillError(f"{origin}: the front matter must be a mapping of keys")
    name, description = meta.get("name"), meta.get("description")
    if not isinstance(name, str) or not name.strip():
        raise SkillError(f"{origin}: front matter needs a `name`")
    if not isinstance(description, str) or not description.strip():
        raise SkillError(f"{origin}: front matter needs a `description`")
    return Skill(
        name=name.strip(),
        description=" ".join(description.split()),
        body=body.lstrip("-").strip(),
        origin=origin,
        requires=_names(meta.get("requires"), "requires", origin),
        applies_to=_names(meta.get("applies_to"), "applies_to", origin),
    )


def _names(value: object, key: str, origin: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SkillError(f"{origin}: `{key}` must be a name or a list of names")


def select_skills(
    library: Mapping[str, Skill],
    wanted: list[str],
    repo: str,
    has_files: Callable[[str], bool],
) -> list[Skill]:
    """The skills a run on ``repo`` loads: those named in ``wanted`` (the repo's list and
    the run's ``--skill``), those whose ``applies_to`` selects the repo, and everything
    they require, transitively; each once, a skill after the ones it requires."""
    chosen = list(dict.fromkeys(wanted))
    for name in chosen:
        if name not in library:
            known = ", ".join(sorted(library)) or "none found"
            raise SkillError(f"unknown skill {name!r} (known: {known})")
    chosen += [
        s.name for s in library.values() if s.name not in chosen and s.applies(repo, has_files)
    ]
    ordered: list[Skill] = []
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise SkillError(f"skills require each other in a cycle: {cycle}")
        if name in done:
            return
        skill = library.get(name)
        if skill is None:
            raise SkillError(
                f"skill {path[-1]!r} ({library[path[-1]].origin}) requires unknown {name!r}"
            )
        for needed in skill.requires:
            visit(needed, (*path, name))
        done.add(name)
        ordered.append(skill)

    for name in chosen:
        visit(name, ())
    return ordered


def render_skills(skills: list[Skill]) -> str:
    """The skills as one Markdown text for an agent's instructions ("" for none)."""
    return "\n\n".join(
        f"# Repository instructions ({skill.name})\n\n{skill.body}"
        if skill.implicit
        else f"# Skill: {skill.name}\n\n_{skill.description}_\n\n{skill.body}"
        for skill in skills
    )


def not_read_natively(skills: list[Skill], reads: tuple[str, ...]) -> list[Skill]:
    """The skills an agent must be handed: all but the instruction files it ``reads``
    itself (Claude Code reads CLAUDE.md, Codex AGENTS.md), which would come twice."""
    return [s for s in skills if not (s.implicit and s.name in reads)]


def with_skills(task: str, skills: list[Skill]) -> str:
    """A first prompt carrying the skills before the task, for agents whose system prompt
    Cockpit does not write (ACP agents, Codex)."""
    if not skills:
        return task
    return f"{render_skills(skills)}\n\n# Your task\n\n{task}"
