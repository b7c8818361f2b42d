"""The demo's exit line names a command that works from the shell the user is in:
``make demo`` does not put the venv's ``cockpit`` on the PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SHOW = "from cockpit.tui.demo import _command; print(_command())"


def test_without_cockpit_on_the_path_the_full_path_is_named(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    named = subprocess.run(
        [sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert named != "cockpit"
    done = subprocess.run([*named.split(), "--help"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "usage: cockpit" in done.stdout


def test_with_this_cockpit_on_the_path_it_is_just_cockpit() -> None:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    named = subprocess.run(
        [sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert named == "cockpit"
