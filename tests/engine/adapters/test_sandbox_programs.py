"""A program that lives under /tmp (a checkout, a venv, node_modules: CI may clone the
project there) still starts in a jail, whose own /tmp is private: what a command line
names under /tmp is shown read-only, the rest of /tmp stays hidden."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from engine.adapters.sandbox import BubblewrapSandbox, _programs_in_tmp, probe
from engine.ports.sandbox import RunBounds
from enginekit import git


def test_what_a_command_names_under_tmp_is_shown(tmp_path: Path) -> None:
    assert str(tmp_path).startswith("/tmp/")
    package = tmp_path / "node_modules" / "@scope" / "cli" / "bin"
    package.mkdir(parents=True)
    (package / "cli.js").write_text("console.log('hi')\n")
    links = tmp_path / "node_modules" / ".bin"
    links.mkdir()
    (links / "cli").symlink_to(package / "cli.js")
    scripts = tmp_path / "agents"
    scripts.mkdir()
    (scripts / "agent.py").write_text("print('agent')\n")
    shown = _programs_in_tmp([str(links / "cli"), str(scripts / "agent.py"), "--flag"])
    assert tmp_path / "node_modules" in shown  # the whole package tree, not the link
    assert scripts in shown
    assert not any(tmp_path / "node_modules" in p.parents for p in shown)  # each once


def test_a_script_under_tmp_runs_in_the_jail_and_its_neighbours_stay_hidden(
    tmp_path: Path,
) -> None:
    assert probe().enforced, probe().detail
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "initial")
    # Where the engine puts worktrees: their folder is shown, not what lies beside it.
    worktree = tmp_path / "ws" / ".cockpit" / "worktrees" / "app" / "r1"
    worktree.parent.mkdir(parents=True)
    git(repo, "worktree", "add", "-q", "-b", "cockpit/r1", str(worktree))
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "hello.sh").write_text("#!/bin/sh\necho hello from the tool\n")
    (tools / "hello.sh").chmod(0o755)
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "note.txt").write_text("not for the agent\n")
    jail = BubblewrapSandbox().jail(
        RunBounds(worktree=worktree, branch="cockpit/r1", scratch=tmp_path / "scratch")
    )

    async def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        await jail.enter()
        done = subprocess.run(
            jail.wrap(argv, cwd=worktree), capture_output=True, text=True, check=False
        )
        await jail.leave()
        return done

    ran = asyncio.run(run([str(tools / "hello.sh")]))
    assert ran.returncode == 0 and "hello from the tool" in ran.stdout, ran.stderr
    hidden = asyncio.run(run(["/bin/cat", str(secret / "note.txt")]))
    # Named on the command line, a plain file's folder is shown (read-only) too; a
    # folder the command does not name is not.
    peek = asyncio.run(run(["/bin/sh", "-c", f"ls {secret}"]))
    assert peek.returncode != 0 and "No such file" in peek.stderr
    assert hidden.returncode == 0  # named: shown read-only
    # What is shown is shown read-only.
    write = asyncio.run(run(["/bin/cp", "/etc/hostname", str(tools / "hello.sh")]))
    assert write.returncode != 0 and "Read-only file system" in write.stderr
