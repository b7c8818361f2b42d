"""Many runs starting at once in one repo: worktree creation must not race."""

import asyncio
from pathlib import Path

from engine.adapters.git.worktrees import GitWorktrees


async def test_parallel_creates_and_removes_in_one_repo(make_repo, tmp_path: Path):
    repo = make_repo("busy")
    # Two adapters stand for two engine processes sharing the repo (the flock covers them).
    engines = [GitWorktrees(), GitWorktrees()]
    paths = [tmp_path / "wt" / f"run{i}" for i in range(16)]
    shas = await asyncio.gather(
        *(
            engines[i % 2].create(repo, path, f"cockpit/run{i}", "main")
            for i, path in enumerate(paths)
        )
    )
    assert len(set(shas)) == 1
    assert all((path / "README.md").is_file() for path in paths)
    await asyncio.gather(
        *(
            engines[i % 2].remove(repo, path, tmp_path / "salvage" / str(i), shas[0])
            for i, path in enumerate(paths)
        )
    )
    assert not any(path.exists() for path in paths)
