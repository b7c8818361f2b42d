"""What the cockpit asks its engine first: the snapshot (every run, the recent events of
the newest and the active ones) and the repos.

The ``cockpit`` command sends these requests as it starts, before the modules that draw
the screen load (:mod:`cockpit.client.early`); the session makes the same requests when
it links, and an identical request takes the early answer. So this module stays light:
no Textual, no engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cockpit.client.early import EarlyLink

#: Events read per run at start-up, and per "older" page; the store keeps them all.
PAGE = 300
#: The newest runs whose recent events come with the snapshot (every active one does
#: too); the others' are read after the first frame.
SNAPSHOT_RUNS = 50


def ask_first(link: EarlyLink) -> None:
    """Ask what the session reads first, on a connection opened as the command starts:
    the repos (answered at once: their paths are in the next questions), then the
    snapshot, every repo's status and gates (answered while this process imports)."""
    repos = link.call("repos", {})
    link.send("snapshot", {"tail": PAGE, "runs": SNAPSHOT_RUNS})
    for name, path in dict(repos or {}).items():
        link.send("repo_status", {"path": path})
        link.send("gate_names", {"repo": name})
