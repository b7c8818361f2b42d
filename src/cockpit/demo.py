"""``cockpit demo``: build the demo workspace and show a scripted run end to end.

Until the full-screen cockpit lands, the demo runs one scripted agent headless with
``--wait`` so the quick start works from the first commit.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from engine.demo import build_demo_workspace


def run_demo(directory: str | None) -> int:
    """Build (or reuse) the demo workspace and run the rate-limit scenario in the foreground."""
    from cockpit.cli import main

    root = (
        Path(directory).resolve() if directory else Path(tempfile.mkdtemp(prefix="cockpit-demo-"))
    )
    build_demo_workspace(root)
    print(f"demo workspace: {root}")
    scenario = str(root / "scenarios" / "rate-limit.toml")
    return main(
        [
            "--workspace",
            str(root),
            "run",
            "api",
            "add rate limiting to /login",
            "--scenario",
            scenario,
            "--wait",
        ]
    )
