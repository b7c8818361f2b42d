"""Tests for finding, creating and editing workspaces."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.config import load_config
from engine.domain.errors import BadInput, ConfigError, UnknownRepo, WorkspaceNotFound
from engine.workspace import (
    CONFIG_NAME,
    STATE_DIR,
    add_repo,
    ensure_git_excluded,
    find_workspace,
    init_workspace,
    list_repos,
    open_workspace,
)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


def make_repo(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    git(path, "config", "user.email", "t@example.invalid")
    git(path, "config", "user.name", "Test")
    (path / "README.md").write_text("hi\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "init")
    return path


def exclude_lines(repo: Path) -> list[str]:
    exclude = repo / ".git" / "info" / "exclude"
    return exclude.read_text().splitlines() if exclude.exists() else []


@pytest.fixture(autouse=True)
def _no_workspace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COCKPIT_WORKSPACE", raising=False)


@pytest.fixture
def ws_root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    init_workspace(root)
    return root.resolve()


# --- find_workspace ------------------------------------------------------------------


def test_find_walks_up(ws_root: Path) -> None:
    deep = ws_root / "a" / "b"
    deep.mkdir(parents=True)
    assert find_workspace(deep) == ws_root
    assert find_workspace(ws_root) == ws_root


def test_find_explicit_flag_wins(
    tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    init_workspace(other)
    monkeypatch.setenv("COCKPIT_WORKSPACE", str(other))
    assert find_workspace(ws_root, explicit=str(tmp_path / "other")) == other.resolve()
    # relative to cwd, and the config file itself is accepted too
    assert find_workspace(tmp_path, explicit="ws") == ws_root
    assert find_workspace(tmp_path, explicit=f"ws/{CONFIG_NAME}") == ws_root


def test_find_env_var(tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("COCKPIT_WORKSPACE", str(ws_root))
    assert find_workspace(elsewhere) == ws_root


def test_find_explicit_without_config(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        WorkspaceNotFound, match=r"no cockpit\.toml in .*empty \(given by --workspace\)"
    ):
        find_workspace(tmp_path, explicit=str(empty))


def test_find_env_without_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCKPIT_WORKSPACE", str(tmp_path))
    with pytest.raises(WorkspaceNotFound, match="COCKPIT_WORKSPACE"):
        find_workspace(tmp_path)


def test_find_not_found(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFound) as info:
        find_workspace(tmp_path)
    message = str(info.value)
    assert "or any parent" in message
    assert "cockpit init" in message
    assert "\n" not in message


# --- init / open -----------------------------------------------------------------------


def test_init_writes_loadable_starter(tmp_path: Path) -> None:
    target = tmp_path / "new" / "workspace"
    config_path = init_workspace(target)
    assert config_path == target.resolve() / CONFIG_NAME
    config = load_config(config_path)
    assert config.repos == {}
    assert config.agents["scripted"].backend == "scripted"
    text = config_path.read_text()
    assert text.startswith("#")
    for needle in ("[limits]", "max_running", "max_running_per_repo", "run_timeout"):
        assert needle in text
    for needle in ("# [repos.", "# [[repos.", "anthropic", "claude-code", "acp", "# [guard]"):
        assert needle in text
    assert not list(config_path.parent.glob("*.tmp"))


def test_init_refuses_to_overwrite(ws_root: Path) -> None:
    config_path = ws_root / CONFIG_NAME
    config_path.write_text("# mine\n")
    with pytest.raises(BadInput, match="already exists; not overwritten"):
        init_workspace(ws_root)
    assert config_path.read_text() == "# mine\n"


def test_init_inside_git_repo_excludes_state_dir(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "mono")
    init_workspace(repo / "sub" / "dir")
    assert exclude_lines(repo).count("/sub/dir/.cockpit/") == 1
    open_workspace(repo / "sub" / "dir")
    open_workspace(repo / "sub" / "dir")
    assert exclude_lines(repo).count("/sub/dir/.cockpit/") == 1
    # the state dir really is ignored now
    (repo / "sub" / "dir" / STATE_DIR / "junk").write_text("x")
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    assert ".cockpit" not in status


def test_exclude_at_repo_top(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "top")
    ensure_git_excluded(repo / STATE_DIR)
    assert "/.cockpit/" in exclude_lines(repo)


def test_exclude_outside_git_is_a_no_op(tmp_path: Path) -> None:
    ensure_git_excluded(tmp_path / STATE_DIR)  # must not raise


def test_open_workspace_paths(ws_root: Path) -> None:
    ws = open_workspace(ws_root)
    assert ws.root == ws_root
    assert ws.config_path == ws_root / CONFIG_NAME
    assert ws.state_dir == ws_root / ".cockpit"
    assert ws.state_dir.is_dir()
    assert ws.logs_dir.is_dir()
    assert ws.db_path == ws.state_dir / "cockpit.db"
    assert ws.worktrees_dir == ws.state_dir / "worktrees"
    assert ws.salvage_dir == ws.state_dir / "salvage"


def test_worktrees_dir_configured(ws_root: Path) -> None:
    config = ws_root / CONFIG_NAME
    config.write_text('[workspace]\nworktrees = "../trees"\n')
    ws = open_workspace(ws_root)
    assert ws.worktrees_dir == ws_root.parent / "trees"


def test_unknown_repo_and_agent(ws_root: Path) -> None:
    ws = open_workspace(ws_root)
    with pytest.raises(UnknownRepo, match=r"unknown repo 'nope' \(configured: none\)"):
        ws.repo("nope")
    with pytest.raises(
        BadInput, match=r"unknown agent profile 'x' in .*cockpit\.toml \(configured: scripted\)"
    ):
        ws.agent("x")
    assert ws.agent("scripted").backend == "scripted"


def test_open_broken_config(ws_root: Path) -> None:
    (ws_root / CONFIG_NAME).write_text("[limits\n")
    with pytest.raises(ConfigError):
        open_workspace(ws_root)


# --- add_repo / list_repos -------------------------------------------------------------


def test_add_repo_happy_path(
    tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "api", branch="trunk")
    monkeypatch.chdir(tmp_path)
    name, path, base = add_repo(ws_root, "api")
    assert (name, path, base) == ("api", repo.resolve(), "trunk")
    text = (ws_root / CONFIG_NAME).read_text()
    assert text.endswith('\n\n[repos.api]\npath = "../api"\nbase = "trunk"\n')
    ws = open_workspace(ws_root)
    assert ws.repo("api").base == "trunk"
    assert ws.repo_path("api") == repo.resolve()
    assert list_repos(ws) == [{"name": "api", "path": str(repo.resolve()), "base": "trunk"}]


def test_add_repo_inside_workspace_and_custom_name(
    ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(ws_root / "repos" / "web")
    monkeypatch.chdir(ws_root / "repos")
    name, _, base = add_repo(ws_root, "./web", name="my.web")
    assert (name, base) == ("my.web", "main")
    text = (ws_root / CONFIG_NAME).read_text()
    assert '[repos."my.web"]\npath = "repos/web"\n' in text
    assert list(load_config(ws_root / CONFIG_NAME).repos) == ["my.web"]


def test_add_repo_falls_back_to_main_when_detached(
    tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "det", branch="dev")
    git(repo, "checkout", "-q", "--detach")
    monkeypatch.chdir(tmp_path)
    assert add_repo(ws_root, str(repo))[2] == "main"


def test_appended_tables_keep_file_order_and_user_tables_still_load(
    tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(tmp_path / "b")
    make_repo(tmp_path / "a")
    monkeypatch.chdir(tmp_path)
    config = ws_root / CONFIG_NAME
    config.write_text(config.read_text().rstrip("\n"))  # no final newline
    add_repo(ws_root, "b")
    with config.open("a") as fh:
        fh.write('[[repos.b.gates]]\nname = "lint"\nkind = "ruff"\n\n[ui]\nbell = true\n')
    add_repo(ws_root, "a")
    ws = open_workspace(ws_root)
    assert [r["name"] for r in list_repos(ws)] == ["b", "a"]
    assert [g.name for g in ws.repo("b").gates or []] == ["lint"]
    assert ws.config.ui == {"bell": True}


@pytest.fixture
def setup_errors(
    tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, bytes]:
    make_repo(tmp_path / "api")
    (tmp_path / "plain").mkdir()
    monkeypatch.chdir(tmp_path)
    add_repo(ws_root, "api")
    return ws_root / CONFIG_NAME, (ws_root / CONFIG_NAME).read_bytes()


@pytest.mark.parametrize(
    ("path", "name", "pattern"),
    [
        ("missing", None, r"^missing: no such directory$"),
        ("plain", None, r"^plain: not a git repository$"),
        ("api", None, r"^repo 'api' already exists in .*cockpit\.toml$"),
        ("api", "api2", r"^api is already configured as repo 'api' in .*cockpit\.toml$"),
        ("./api/", "bad name", r"invalid repo name 'bad name'"),
    ],
)
def test_add_repo_errors_leave_file_unchanged(
    setup_errors: tuple[Path, bytes], path: str, name: str | None, pattern: str
) -> None:
    config_path, before = setup_errors
    with pytest.raises(BadInput, match=pattern):
        add_repo(config_path.parent, path, name)
    assert config_path.read_bytes() == before
    assert not list(config_path.parent.glob("*.tmp"))


def test_add_repo_subdirectory_of_a_repo_is_refused(
    tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "api")
    (repo / "pkg").mkdir()
    monkeypatch.chdir(repo)
    with pytest.raises(BadInput, match="not a git repository"):
        add_repo(ws_root, "pkg")


def test_add_repo_refuses_broken_config(
    tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(tmp_path / "api")
    monkeypatch.chdir(tmp_path)
    config = ws_root / CONFIG_NAME
    config.write_text('[repos.x]\npth = "y"\n')
    with pytest.raises(ConfigError, match=r"repos\.x\.pth: unknown key"):
        add_repo(ws_root, "api")
    assert config.read_text() == '[repos.x]\npth = "y"\n'


def test_add_repo_refuses_when_append_would_not_parse(
    tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(tmp_path / "api")
    monkeypatch.chdir(tmp_path)
    config = ws_root / CONFIG_NAME
    config.write_text("repos = {}\n")  # an inline table cannot be extended later
    with pytest.raises(BadInput, match=r"cannot add \[repos\.api\]"):
        add_repo(ws_root, "api")
    assert config.read_text() == "repos = {}\n"


def test_add_repo_escapes_strings(
    tmp_path: Path, ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / 'we"ird\\dir', branch="feat/x")
    monkeypatch.chdir(tmp_path)
    _, _, base = add_repo(ws_root, str(repo), name="weird")
    assert base == "feat/x"
    ws = open_workspace(ws_root)
    assert ws.repo_path("weird") == repo.resolve()
