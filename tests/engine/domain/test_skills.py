"""Skills: parsing SKILL.md, selecting a run's skills (requires, cycles, applies_to)."""

from __future__ import annotations

import pytest

from engine.domain.skills import (
    Skill,
    SkillError,
    instruction_skill,
    not_read_natively,
    parse_skill,
    render_skills,
    select_skills,
)


def skill(name: str, requires: tuple[str, ...] = (), applies_to: tuple[str, ...] = ()) -> Skill:
    return Skill(name, f"about {name}", f"body of {name}", f"{name}/SKILL.md", requires, applies_to)


def library(*skills: Skill) -> dict[str, Skill]:
    return {s.name: s for s in skills}


def no_files(pattern: str) -> bool:
    return False


def test_a_skill_md_is_parsed() -> None:
    text = (
        "---\nname: python-gates\ndescription: >\n  Run ruff, ty and pytest\n  before done.\n"
        "requires: [worktree]\napplies_to:\n  - app\n  - '**/*.py'\n---\n\n# Gates\n\nRun them.\n"
    )
    parsed = parse_skill(text, "skills/python-gates/SKILL.md")
    assert parsed.name == "python-gates"
    assert parsed.description == "Run ruff, ty and pytest before done."
    assert parsed.requires == ("worktree",)
    assert parsed.applies_to == ("app", "**/*.py")
    assert parsed.body == "# Gates\n\nRun them."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# no front matter\n", "no front matter"),
        ("---\nname: x\ndescription: y\n", "closing --- is missing"),
        ("---\nname: [unclosed\ndescription: y\n---\n", "not valid YAML"),
        ("---\n- a list\n---\n", "must be a mapping"),
        ("---\ndescription: y\n---\n", "needs a `name`"),
        ("---\nname: x\n---\n", "needs a `description`"),
        ("---\nname: x\ndescription: y\nrequires: {a: 1}\n---\n", "`requires` must be"),
    ],
)
def test_a_malformed_skill_md_is_one_clear_error_naming_the_file(text: str, message: str) -> None:
    with pytest.raises(SkillError, match=message) as caught:
        parse_skill(text, "/ws/skills/bad/SKILL.md")
    assert str(caught.value).startswith("/ws/skills/bad/SKILL.md: ")


def test_requires_are_loaded_first_and_once() -> None:
    lib = library(skill("a", requires=("b", "c")), skill("b", requires=("c",)), skill("c"))
    chosen = select_skills(lib, ["a", "c"], "app", no_files)
    assert [s.name for s in chosen] == ["c", "b", "a"]


def test_a_requires_cycle_is_reported_with_its_path() -> None:
    lib = library(skill("a", requires=("b",)), skill("b", requires=("c",)), skill("c", ("a",)))
    with pytest.raises(SkillError, match="cycle: a -> b -> c -> a"):
        select_skills(lib, ["a"], "app", no_files)


def test_unknown_skills_are_named() -> None:
    with pytest.raises(SkillError, match="unknown skill 'nope'"):
        select_skills(library(skill("a")), ["nope"], "app", no_files)
    with pytest.raises(SkillError, match="requires unknown 'ghost'"):
        select_skills(library(skill("a", requires=("ghost",))), ["a"], "app", no_files)


def test_applies_to_selects_by_repo_name_and_by_files() -> None:
    lib = library(
        skill("for-app", applies_to=("app",)),
        skill("for-python", applies_to=("**/*.py",)),
        skill("for-web", applies_to=("web",)),
        skill("anywhere"),
    )
    has_python = lambda pattern: pattern == "**/*.py"  # noqa: E731
    assert [s.name for s in select_skills(lib, [], "app", no_files)] == ["for-app"]
    assert [s.name for s in select_skills(lib, [], "lib", has_python)] == ["for-python"]
    chosen = select_skills(lib, ["anywhere"], "web", no_files)
    assert [s.name for s in chosen] == ["anywhere", "for-web"]


def test_rendered_skills_carry_name_description_and_body() -> None:
    text = render_skills([skill("a"), skill("b")])
    assert "# Skill: a" in text and "about b" in text and "body of b" in text
    assert render_skills([]) == ""


def test_instruction_files_render_as_the_repos_instructions_and_backends_skip_their_own() -> None:
    agents = instruction_skill("AGENTS.md", "Use tabs.", "/repo/AGENTS.md")
    claude = instruction_skill("CLAUDE.md", "Be brief.", "/repo/CLAUDE.md")
    style = skill("style")
    text = render_skills([agents, style])
    assert text.startswith("# Repository instructions (AGENTS.md)\n\nUse tabs.")
    assert "# Skill: style" in text
    # Claude Code reads CLAUDE.md itself, Codex AGENTS.md: neither is handed to them twice.
    assert not_read_natively([agents, claude, style], ("CLAUDE.md",)) == [agents, style]
    assert not_read_natively([agents, claude, style], ("AGENTS.md",)) == [claude, style]
