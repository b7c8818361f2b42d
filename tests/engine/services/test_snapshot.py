"""The engine's snapshot over the socket (``snapshot_json``): its events as stored, in
one line a client reads whole."""

from __future__ import annotations

import json

import pytest

from builders import seed_finished_runs
from engine.rpc import wire
from engine.services import commands
from engine.workspace import Workspace
from enginekit import running_engine


async def test_the_socket_snapshot_is_the_snapshot_and_leaves_out_older_tails_past_its_size(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.state_dir.mkdir(parents=True, exist_ok=True)
    ids = await seed_finished_runs(workspace.db_path, ["app", "lib"], 5, 6)
    async with running_engine(workspace) as engine:
        whole = await engine.snapshot(4, 5)
        text = await engine.snapshot_json(4, 5)
        assert "\n" not in text
        sent = wire.decode_result("snapshot", json.loads(text))
        # The same values as the domain's snapshot: runs, tails, the id to follow from.
        assert sent == whole
        assert list(sent.tails) == ids and all(len(t) == 4 for t in sent.tails.values())
        # Room for the events of two runs only: the two newest keep theirs.
        page = sum(len(e) + 1 for e in await engine._store.events_tail_json(ids[-1], 4))
        monkeypatch.setattr(commands, "SNAPSHOT_CHARS", 2 * page + page // 2)
        cut = wire.decode_result("snapshot", json.loads(await engine.snapshot_json(4, 5)))
        assert [r.id for r in cut.runs] == ids
        assert list(cut.tails) == ids[-2:]
        assert cut.tails == {i: whole.tails[i] for i in ids[-2:]}
