"""gate_latency: milliseconds from an agent turn ending to all its gate verdicts stored.

The repo: 2,000 generated Python modules in 40 packages (plus a README), one commit. The
run: a scripted agent whose one turn changes 20 of the modules (a shell command appends a
line to each). Its gates, every turn: ruff (lint), ruff-format, ty and secrets. The clock
runs from the turn's ``turn_finished`` event to the last of that turn's verdicts
(``gate_decided``, stored timestamps): the snapshot is taken by then, so this is the
gates' own time — in parallel, ruff on the changed files only, secrets on the new lines.

The baseline: the same four tools run one after another from a shell on the whole
worktree, as a developer would (``ruff check .``, ``ruff format --check .``,
``ty check``, ``detect-secrets scan`` of every tracked file), timed in the same process.
Goal: ratio <= 0.5. Medians of REPEATS runs, after one untimed warm-up of both.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from common import emit, git, log, make_repo, median, run_to_end, temp_dir, write_workspace
from engine.adapters.gates.tool import find_tool
from engine.domain.events import GateDecided, TurnFinished

REPEATS = 3
FILES = 2000
DIRS = 40
CHANGED = 20
GATES = "".join(
    f'\n[[repos.big.gates]]\nname = "{kind}"\nkind = "{kind}"\ntimeout = "5m"\n'
    for kind in ("ruff", "ruff-format", "ty", "secrets")
)


def turn_scenario(folder: Path) -> Path:
    """One turn: append a line to the first module of CHANGED packages."""
    command = (
        f"for d in $(ls src | head -{CHANGED}); do f=$(ls src/$d/*.py | head -1); "
        "printf '\\n\\nEXTRA = 1\\n' >> $f; done"
    )
    path = folder / "turn.toml"
    folder.mkdir(parents=True, exist_ok=True)
    escaped = command.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(f'[[step]]\nrun = {{ command = "{escaped}" }}\n')
    return path


async def through_cockpit(root: Path, scenario: Path) -> tuple[float, Path, int]:
    """(ms from the turn's end to its last verdict, the worktree, the changed files)."""
    stored, events = await run_to_end(
        root, "big", "change 20 modules", "scripted", str(scenario), 600
    )
    turn = next(e for e in events if isinstance(e, TurnFinished))
    verdicts = [
        e for e in events if isinstance(e, GateDecided) and e.turn == 1 and e.status != "running"
    ]
    if len(verdicts) != 4 or any(v.status != "passed" for v in verdicts):
        raise RuntimeError(
            f"unexpected verdicts: {[(v.name, v.status, v.detail) for v in verdicts]}"
        )
    last = max(v.at for v in verdicts)
    worktree = stored.worktree_path
    assert worktree is not None
    changed = git(worktree, "diff", "--name-only", f"{stored.base_sha}").split()
    return (last - turn.at).total_seconds() * 1000, worktree, len(changed)


def sequential_shell(tree: Path) -> float:
    """Milliseconds for the four tools one after another on the whole tree."""
    ruff, ty, secrets = (find_tool(name) for name in ("ruff", "ty", "detect-secrets"))
    if not (ruff and ty and secrets):
        raise RuntimeError("ruff, ty and detect-secrets are needed (make installs them)")
    files = git(tree, "ls-files").split()
    commands = [
        [ruff, "check", "--output-format", "json", "--no-cache", "."],
        [ruff, "format", "--check", "--output-format", "json", "--no-cache", "."],
        [ty, "check", "--output-format", "gitlab", "--no-progress"],
        [secrets, "scan", *files],
    ]
    t0 = time.perf_counter()
    for command in commands:
        subprocess.run(command, cwd=tree, capture_output=True, check=False)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    with temp_dir("gate-latency") as tmp:
        repo = make_repo(tmp / "repos" / "big", files=FILES, dirs=DIRS)
        (repo / "pyproject.toml").write_text('[project]\nname = "big"\nversion = "0"\n')
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "pyproject")
        root = write_workspace(tmp / "ws", {"big": repo}, run_timeout="20m")
        with (root / "cockpit.toml").open("a") as config:
            config.write(GATES)
        scenario = turn_scenario(tmp / "scenarios")
        ours: list[float] = []
        theirs: list[float] = []
        changed = 0
        for rep in range(REPEATS + 1):
            latency, worktree, changed = asyncio.run(through_cockpit(root, scenario))
            shell = sequential_shell(worktree)
            log(f"gate_latency rep {rep}: {latency:.0f} ms; tools in sequence {shell:.0f} ms")
            if rep:
                ours.append(latency)
                theirs.append(shell)
    emit(
        "gate_latency",
        median(ours),
        "ms",
        "the same tools one after another on the whole repo",
        median(theirs),
        goal="<= 0.5",
        digits=1,
        files=FILES,
        changed=changed,
        gates=4,
        repeats=REPEATS,
    )


if __name__ == "__main__":
    main()
