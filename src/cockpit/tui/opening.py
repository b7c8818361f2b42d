"""What the cockpit asks its engine first: the snapshot (every run and its facts) and the
repos.

The ``cockpit`` command sends these requests as it starts, before the modules that draw
the screen load (:mod:`cockpit.client.early`); the session makes the same requests when
it links, and an identical request takes the early answer. So this module stays light:
no Textual, no engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cockpit.client.early import EarlyLink

#: Events read per run: a transcript's newest page, and each "older" page after it.
PAGE = 300
#: The first snapshot: every run with its facts (what the first frame shows of the
#: runs), and no events: the transcripts are read right after the first frame.
FIRST_SNAPSHOT = {"tail": 0, "runs": 0}


def ask_first(link: EarlyLink) -> None:
    """Ask what the session reads first, on a connection opened as the command starts:
    the repos (answered at once: their paths are in the next questions), then the
    snapshot, every repo's status and gates (answered while this process imports)."""
    repos = link.call("repos", {})
    link.send("snapshot", FIRST_SNAPSHOT)
    for name, path in dict(repos or {}).items():
        link.send("repo_status", {"path": path})
        link.send("gate_names", {"repo": name})
