"""Drive a real program in a detached tmux session, the way a person at a terminal would.

Every test gets its own tmux server (``-L SOCKET``), so tests never see each other's
sessions nor the developer's. The screen is read with ``capture-pane`` and polled: no
sleeps for synchronisation.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable

#: What the holding shell prints when the program ends, followed by its exit status.
EXITED = "[tmuxkit] program exited with status"

#: Seconds between two reads of the screen while waiting.
POLL = 0.2

TMUX = shutil.which("tmux")

#: Never handed to tmux nor the program: a stale size (pytest's process has COLUMNS=80
#: LINES=24 set below os.environ) would make Textual draw 80x24 in a 160x48 pane, and a
#: TMUX variable (tests run inside tmux) would point at the developer's server.
SCRUBBED = ("COLUMNS", "LINES", "TMUX", "TMUX_PANE")


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SCRUBBED}


class Tmux:
    """One tmux server with one session running one command."""

    def __init__(self, session: str = "demo", width: int = 160, height: int = 48) -> None:
        self.socket = f"cockpit-e2e-{uuid.uuid4().hex[:12]}"
        self.session = session
        self.width = width
        self.height = height

    # --- low level ------------------------------------------------------------------
    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert TMUX is not None, "tmux is not installed"
        # -f /dev/null: the developer's ~/.tmux.conf never changes what the test sees.
        return subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
            env=clean_env(),
        )

    def start(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        """Start ``argv`` in a new detached session.

        A small shell waits for the program, then prints ``EXITED <status>`` and keeps the
        pane open: everything the program printed on its way out stays readable (a pane
        left by tmux's remain-on-exit can lose the last output of a dying program).
        """
        unset = [arg for name in SCRUBBED for arg in ("-u", name)]
        program = ["env", *unset, *(f"{k}={v}" for k, v in (env or {}).items()), *argv]
        hold = f'"$@"; echo "{EXITED} $?"; exec sleep 86400'
        self.tmux(
            "new-session",
            "-d",
            "-s",
            self.session,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            shlex.join(["sh", "-c", hold, "sh", *program]),
        )

    def kill(self) -> None:
        """Stop the whole tmux server (and with it the program); never fails."""
        if TMUX is not None:
            subprocess.run(
                [TMUX, "-L", self.socket, "kill-server"],
                capture_output=True,
                timeout=30,
                env=clean_env(),
            )

    # --- reading --------------------------------------------------------------------
    def screen(self) -> str:
        """The visible text of the pane ('' once the session is gone)."""
        done = self.tmux("capture-pane", "-p", "-t", self.session, check=False)
        return done.stdout if done.returncode == 0 else ""

    def pane(self, fmt: str) -> str | None:
        """A tmux format of the pane (e.g. ``#{pane_dead}``); None if the session is gone."""
        done = self.tmux("display-message", "-p", "-t", self.session, fmt, check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def exit_status(self) -> int | None:
        """The program's exit status once it has ended (None while it runs)."""
        match = re.search(rf"^{re.escape(EXITED)} (\d+)\s*$", self.screen(), re.MULTILINE)
        if match:
            return int(match.group(1))
        if self.pane("#{pane_dead}") in (None, "1"):  # the holding shell itself is gone
            return -1
        return None

    def exited(self) -> bool:
        """Whether the program in the pane has ended."""
        return self.exit_status() is not None

    def wait_until(self, check: Callable[[str], bool], what: str, timeout: float = 20) -> str:
        """Poll the screen until ``check(screen)``; returns that screen, or fails with it."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {what}; last screen:\n{screen}"
                )
            time.sleep(POLL)

    def wait_for(self, *texts: str, timeout: float = 20) -> str:
        """Wait until every one of ``texts`` is on the screen at the same time."""
        return self.wait_until(
            lambda s: all(t in s for t in texts), " and ".join(map(repr, texts)), timeout
        )

    def wait_for_re(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """Wait until ``pattern`` (multi-line regex) matches the screen; returns the match."""
        regex = re.compile(pattern, re.MULTILINE)
        screen = self.wait_until(lambda s: regex.search(s) is not None, repr(pattern), timeout)
        match = regex.search(screen)
        assert match is not None
        return match

    def wait_gone(self, text: str, timeout: float = 20) -> str:
        """Wait until ``text`` is no longer on the screen."""
        return self.wait_until(lambda s: text not in s, f"{text!r} to go away", timeout)

    # --- writing --------------------------------------------------------------------
    def press(self, *keys: str) -> None:
        """Send tmux key names (``Enter``, ``Escape``, ``]``…), one key each."""
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)

    def type(self, text: str) -> None:
        """Send ``text`` literally, as typed."""
        self.tmux("send-keys", "-t", self.session, "-l", text)


def poll(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    """Poll ``check()`` (not the screen) until it is true, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL)
