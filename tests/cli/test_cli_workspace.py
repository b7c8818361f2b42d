"""`cockpit init`, `repo add`, `repo list` and their bad input, through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from clikit import assert_one_line_error, cockpit


def test_init_add_list(tmp_path: Path, make_repo):
    api = make_repo("api")
    ws = tmp_path / "ws"
    done = cockpit("init", str(ws), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (ws / "cockpit.toml").is_file()
    assert cockpit("repo", "list", cwd=ws).stdout == ""  # init adds no repos

    done = cockpit("repo", "add", str(api), cwd=ws)
    assert done.returncode == 0, done.stderr
    done = cockpit("repo", "add", str(api), "--name", "api2", cwd=ws)
    assert done.returncode == 2  # the same path twice

    lines = cockpit("repo", "list", cwd=ws).stdout.splitlines()
    assert len(lines) == 1 and lines[0].split()[0] == "api"
    listed = json.loads(cockpit("repo", "list", "--json", cwd=ws).stdout)
    assert listed == [{"name": "api", "path": str(api), "base": "main"}]

    # Commands find the workspace from a sub-directory, or via --workspace / env.
    sub = ws / "deep" / "er"
    sub.mkdir(parents=True)
    assert cockpit("repo", "list", cwd=sub).stdout.startswith("api")
    assert cockpit("--workspace", str(ws), "repo", "list", cwd=tmp_path).stdout.startswith("api")
    env = {"COCKPIT_WORKSPACE": str(ws)}
    assert cockpit("repo", "list", cwd=tmp_path, env=env).stdout.startswith("api")


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, make_repo):
    ws = tmp_path / "ws"
    cockpit("init", str(ws), cwd=tmp_path)
    toml = ws / "cockpit.toml"
    before = toml.read_bytes()

    assert_one_line_error(cockpit("repo", "add", str(tmp_path / "missing"), cwd=ws), "missing")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert_one_line_error(cockpit("repo", "add", str(plain), cwd=ws), "not a git repository")
    assert toml.read_bytes() == before

    assert_one_line_error(cockpit("init", str(ws), cwd=tmp_path), "already exists")
    assert toml.read_bytes() == before

    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    assert_one_line_error(cockpit("runs", cwd=nowhere), "cockpit.toml")

    toml.write_text(before.decode() + "\n[limits\nmax_running = 1\n")
    assert_one_line_error(cockpit("runs", cwd=ws), "cockpit.toml", "line")
    toml.write_text(before.decode() + '\n[repos.x]\npath = "."\nbogus = 1\n')
    assert_one_line_error(cockpit("repo", "list", cwd=ws), "cockpit.toml", "bogus")
    toml.write_text(before.decode().replace("max_running = 4", 'max_running = "lots"'))
    assert_one_line_error(cockpit("runs", cwd=ws), "cockpit.toml", "max_running")


def test_usage_errors_exit_2(tmp_path: Path):
    assert_one_line_error(cockpit("frobnicate", cwd=tmp_path), "invalid choice")


def test_repo_list_and_runs_warn_of_a_repo_that_is_no_git_repo(tmp_path: Path, make_repo):
    ws = tmp_path / "ws"
    cockpit("init", str(ws), cwd=tmp_path)
    cockpit("repo", "add", str(make_repo("api")), cwd=ws)
    cockpit("repo", "add", str(make_repo("web")), cwd=ws)
    good = cockpit("repo", "list", cwd=ws)
    assert (good.returncode, good.stderr) == (0, "")

    api, web = tmp_path / "repos" / "api", tmp_path / "repos" / "web"
    shutil.rmtree(api / ".git")
    shutil.rmtree(web)
    warnings = [
        f"cockpit: repo 'api': {api} is not a git repository",
        f"cockpit: repo 'web': {web} does not exist",
    ]
    done = cockpit("repo", "list", cwd=ws)
    assert done.returncode == 0
    assert done.stderr.splitlines() == warnings
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["api", "web"]
    listed = json.loads(cockpit("repo", "list", "--json", cwd=ws).stdout)
    assert [r.get("problem") for r in listed] == [w.split(": ", 2)[2] for w in warnings]

    done = cockpit("runs", cwd=ws)
    assert done.returncode == 0
    assert done.stderr.splitlines() == warnings
    done = cockpit("runs", "--json", cwd=ws)
    assert done.stderr.splitlines() == warnings and json.loads(done.stdout) == []


def test_help_lists_the_commands_a_user_has_and_nothing_internal(tmp_path: Path):
    done = cockpit("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "SUPPRESS" not in done.stdout
    for command in ("run", "runs", "approve", "doctor", "guard", "engine"):
        assert f"\n    {command} " in done.stdout, command
    # The pipe a background engine reports on is internal: not in the engine's help.
    start = cockpit("engine", "start", "--help", cwd=tmp_path)
    assert start.returncode == 0 and "--foreground" in start.stdout
    assert "report" not in start.stdout
