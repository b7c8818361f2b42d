"""The skill library on disk: shipped, workspace and repo folders, the repo's winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.adapters.skills import FolderSkillLibrary
from engine.domain.skills import SkillError
from enginekit import git


def write_skill(folder: Path, name: str, body: str, extra: str = "") -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: {name} guidance\n{extra}---\n{body}\n"
    )


def test_the_repo_refines_the_workspace_which_refines_the_shipped(tmp_path: Path) -> None:
    shipped, ws, repo = tmp_path / "shipped", tmp_path / "ws", tmp_path / "repo"
    write_skill(shipped, "style", "shipped style")
    write_skill(shipped, "tests", "shipped tests")
    write_skill(ws / "skills", "style", "workspace style")
    write_skill(repo / ".claude" / "skills", "tests", "repo tests")
    write_skill(repo / ".claude" / "skills", "local", "only here", extra="applies_to: [repo]\n")
    library = FolderSkillLibrary(ws, shipped=shipped)
    chosen = {s.name: s.body for s in library.select("repo", repo, ["style", "tests"])}
    assert chosen == {"style": "workspace style", "tests": "repo tests", "local": "only here"}


def git_repo(path: Path, files: dict[str, str]) -> Path:
    """A git repo at ``path`` with ``files`` committed."""
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "--allow-empty", "-m", "initial")
    return path


def test_path_globs_match_the_tracked_files_only(tmp_path: Path) -> None:
    skills = tmp_path / "ws" / "skills"
    write_skill(skills, "py", "python", extra="applies_to: ['**/*.py']\n")
    write_skill(skills, "rust", "rust", extra="applies_to: ['**/*.rs']\n")
    write_skill(skills, "docs", "docs", extra="applies_to: ['docs/*']\n")
    library = FolderSkillLibrary(tmp_path / "ws", shipped=tmp_path / "none")
    repo = git_repo(tmp_path / "repo", {"README.md": "# repo\n"})
    # Files under .git and untracked files never count.
    (repo / ".git" / "hook.py").write_text("")
    (repo / ".git" / "objects" / "85").mkdir(exist_ok=True)
    (repo / ".git" / "objects" / "85" / "lib.rs").write_text("")
    (repo / "scratch.py").write_text("")
    (repo / "docs").mkdir()
    (repo / "docs" / "notes.md").write_text("")
    assert library.select("repo", repo, []) == []
    (repo / "pkg").mkdir()
    (repo / "pkg" / "mod.py").write_text("")
    git(repo, "add", "pkg/mod.py")  # tracked once in the index, committed or not
    assert [s.name for s in library.select("repo", repo, [])] == ["py"]
    # A tracked file gone from the disk meanwhile is no error (the checkout is not walked).
    (repo / "pkg" / "mod.py").unlink()
    assert [s.name for s in library.select("repo", repo, [])] == ["py"]


def test_a_folder_that_is_not_a_git_checkout_has_no_files_to_match(tmp_path: Path) -> None:
    write_skill(tmp_path / "ws" / "skills", "py", "python", extra="applies_to: ['**/*.py']\n")
    library = FolderSkillLibrary(tmp_path / "ws", shipped=tmp_path / "none")
    plain = tmp_path / "plain"
    (plain / "pkg").mkdir(parents=True)
    (plain / "pkg" / "mod.py").write_text("")
    assert library.select("repo", plain, []) == []


def test_a_malformed_skill_names_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "ws" / "skills" / "broken"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text("no front matter here\n")
    library = FolderSkillLibrary(tmp_path / "ws", shipped=tmp_path / "none")
    with pytest.raises(SkillError, match=str(folder / "SKILL.md")):
        library.select("repo", tmp_path, [])


def test_the_shipped_skills_parse_and_python_repos_get_the_gates_skill(tmp_path: Path) -> None:
    library = FolderSkillLibrary(tmp_path / "ws")  # the real shipped folder
    shipped = library.library(tmp_path)
    assert {"cockpit-worktree", "python-gates", "multi-repo-changes"} <= set(shipped)
    assert all(skill.description and len(skill.body) > 200 for skill in shipped.values())
    repo = git_repo(tmp_path / "repo", {"README.md": "# x\n"})
    assert library.select("repo", repo, []) == []  # not a Python repo: nothing applies
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    git(repo, "add", "pyproject.toml")
    chosen = [s.name for s in library.select("repo", repo, [])]
    assert chosen == ["cockpit-worktree", "python-gates"]  # what it requires comes first


def test_the_repos_instruction_files_are_implicit_skills_loaded_first(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_skill(tmp_path / "ws" / "skills", "style", "workspace style")
    repo.mkdir()
    (repo / "AGENTS.md").write_text("Run `make check` before you finish.\n")
    secret = tmp_path / "secret.md"
    secret.write_text("not for agents")
    (repo / "CLAUDE.md").symlink_to(secret)  # a symlink could point anywhere: not read
    library = FolderSkillLibrary(tmp_path / "ws", shipped=tmp_path / "none")
    chosen = library.select("repo", repo, ["style"])
    assert [(s.name, s.implicit) for s in chosen] == [("AGENTS.md", True), ("style", False)]
    assert chosen[0].body == "Run `make check` before you finish."
    assert [s.name for s in library.available(repo)] == ["AGENTS.md", "style"]
    with pytest.raises(SkillError, match=r"unknown skill 'AGENTS\.md'"):
        library.select("repo", repo, ["AGENTS.md"])  # loaded always, never by name
