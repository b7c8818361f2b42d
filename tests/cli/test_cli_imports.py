"""The headless command line starts without Textual (beside the import-linter contract,
the proof harlequin gives: run it in a fresh interpreter and look at ``sys.modules``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = (
    "import sys\n"
    "from cockpit.main import main\n"
    "code = main(sys.argv[1:])\n"
    "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'textual'))\n"
    "sys.exit(code)\n"
)


def test_a_headless_command_loads_no_textual(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--workspace", str(missing), "runs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout.strip() == "[]"
    assert len(done.stderr.splitlines()) == 1, done.stderr
