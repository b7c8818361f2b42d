"""The contract of a client's run commands and queries: submit, steer, cancel, resume,
send back, and finding runs (list, resolve by id or prefix, get)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from clientkit import (
    ASK,
    KEY_VALUE,
    WRITE_HELLO,
    asked,
    finished,
    read_run,
    refused,
    run_to_end,
    settle,
)

from builders import eventful_run, store_runs
from cockpit.client import EngineClient
from cockpit.client.local import open_workspace
from cockpit.tui.opening import PAGE
from engine.adapters.store.sqlite import SqliteRunStore
from engine.domain.errors import BadInput, UnknownRepo, UnknownRun
from engine.domain.events import AgentText, Event, RunStateChanged, SteeringDelivered
from engine.domain.facts import RunFacts
from engine.domain.redact import MASK
from engine.domain.state import RunState

Scenario = Callable[[str], str]


async def test_submit_queues_a_run_the_engine_then_executes(
    client: EngineClient, scenario: Scenario
) -> None:
    path = scenario(WRITE_HELLO)
    run = await client.submit(
        "app", "say hello", "scripted", path, skills=["contract-notes"], priority=3
    )
    assert run.state is RunState.QUEUED
    assert (run.repo, run.task, run.agent, run.scenario) == ("app", "say hello", "scripted", path)
    assert (run.skills, run.priority, run.base) == (["contract-notes"], 3, "main")
    assert run.branch == f"cockpit/{run.id}"
    done = await finished(client, run.id)
    assert done.id == run.id and done.turns_completed == 1
    assert done.worktree is not None and (Path(done.worktree) / "hello.txt").is_file()


async def test_submit_refuses_bad_input_with_exit_code_2(
    client: EngineClient, scenario: Scenario
) -> None:
    path = scenario(WRITE_HELLO)
    with refused(UnknownRepo, 2, "nope"):
        await client.submit("nope", "task", "scripted", path)
    with refused(BadInput, 2, "empty"):
        await client.submit("app", "   ", "scripted", path)
    with refused(BadInput, 2, "ghost"):
        await client.submit("app", "task", "ghost", path)
    with refused(BadInput, 2):
        await client.submit("app", "task", "scripted", str(Path(path).with_name("none.toml")))
    with refused(BadInput, 2, "out of range"):
        await client.submit("app", "task", "scripted", path, priority=2**63)
    with refused(BadInput, 2, "no-such-skill"):
        await client.submit("app", "task", "scripted", path, skills=["no-such-skill"])
    assert await client.list_runs() == []  # nothing was queued


async def test_submit_stores_the_task_with_keys_masked(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await client.submit("app", f"use the key {KEY_VALUE}", "scripted", scenario(ASK))
    assert KEY_VALUE not in run.task and MASK in run.task
    stored = await client.get_run(run.id)
    assert stored is not None and KEY_VALUE not in stored.task and MASK in stored.task


async def test_list_runs_get_run_and_resolve_run(client: EngineClient, scenario: Scenario) -> None:
    assert await client.list_runs() == []
    first = await client.submit("app", "first", "scripted", scenario(ASK))
    second = await client.submit("lib", "second", "scripted", scenario(ASK))
    listed = await client.list_runs()
    assert [(r.id, r.repo, r.task) for r in listed] == [
        (first.id, "app", "first"),
        (second.id, "lib", "second"),
    ]
    # By exact id: get_run and resolve_run agree; a prefix or an unknown id is no run.
    got = await client.get_run(first.id)
    assert got is not None and got.id == first.id and got.task == "first"
    assert (await client.resolve_run(first.id)).id == first.id
    assert await client.get_run(first.id[:4]) is None
    assert await client.get_run("ffffffffff") is None
    # By the shortest prefix only it has.
    for run in (first, second):
        length = next(
            n
            for n in range(1, len(run.id) + 1)
            if all(not o.id.startswith(run.id[:n]) for o in listed if o.id != run.id)
        )
        assert (await client.resolve_run(run.id[:length])).id == run.id
    with refused(UnknownRun, 2, "no run 'zzzz'"):
        await client.resolve_run("zzzz")


async def test_an_ambiguous_prefix_is_an_unknown_run(
    client: EngineClient, scenario: Scenario
) -> None:
    # Run ids are 8 random hex digits: among 17 runs two share a first digit.
    path = scenario(ASK)
    by_first: dict[str, list[str]] = {}
    for n in range(17):
        run = await client.submit("app" if n % 2 else "lib", f"run {n}", "scripted", path)
        by_first.setdefault(run.id[0], []).append(run.id)
        if len(by_first[run.id[0]]) == 2:
            break
    prefix, ids = next((p, ids) for p, ids in by_first.items() if len(ids) == 2)
    with refused(UnknownRun, 2, "ambiguous"):
        await client.resolve_run(prefix)
    for run_id in ids:
        assert (await client.resolve_run(run_id)).id == run_id
    for run in await client.list_runs():
        if not run.state.is_terminal:
            await client.cancel(run.id)


async def test_steer_answers_a_question_and_the_agent_gets_each_message(
    client: EngineClient, scenario: Scenario
) -> None:
    path = scenario('[[step]]\nask = "first?"\n[[step]]\nask = "second?"\n[[step]]\nsay = "ok"\n')
    run = await client.submit("app", "two questions", "scripted", path)
    assert (await asked(client, run.id)).question == "first?"
    with refused(BadInput, 2, "empty"):
        await client.steer(run.id, "  ")
    first = await client.steer(run.id[:6], "yes")  # a prefix names the run too
    assert (await asked(client, run.id, 2)).question == "second?"
    second = await client.steer(run.id, "yes again")
    assert isinstance(first, int) and second > first
    await finished(client, run.id)
    delivered = [
        (e.steering_id, e.text)
        for e in await client.events(run.id)
        if isinstance(e, SteeringDelivered)
    ]
    assert delivered == [(first, "yes"), (second, "yes again")]
    with refused(BadInput, 2, "cannot be steered"):
        await client.steer(run.id, "too late")
    with refused(UnknownRun, 2):
        await client.steer("zzzzzzzz", "anyone?")


async def test_cancel_ends_a_waiting_run_and_its_event_stream(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await client.submit("app", "wait for me", "scripted", scenario(ASK))
    await asked(client, run.id)
    cancelled = await client.cancel(run.id)
    assert cancelled.id == run.id and cancelled.state is RunState.CANCELLED
    events = await read_run(client, run.id)  # ends: the run moves no more
    last = events[-1]
    assert isinstance(last, RunStateChanged) and last.new is RunState.CANCELLED
    with refused(BadInput, 2, "already cancelled"):
        await client.cancel(run.id)
    with refused(BadInput, 2, "cancelled"):
        await client.send_back(run.id, "do more")
    with refused(UnknownRun, 2):
        await client.cancel("zzzzzzzz")


async def test_resume_carries_a_failed_run_on_after_its_last_turn(
    client: EngineClient, scenario: Scenario
) -> None:
    path = scenario('[[step]]\nsay = "one"\n[[step]]\nfail = "simulated crash"\n')
    run = await client.submit("app", "crash, then carry on", "scripted", path)
    failed = await settle(client, run.id)
    assert failed.state is RunState.FAILED and failed.error == "simulated crash"
    assert failed.turns_completed == 1
    # The scenario mended: the resumed run performs its second step, not its first again.
    Path(path).write_text('[[step]]\nsay = "one"\n' + WRITE_HELLO)
    resumed = await client.resume(run.id[:6])
    assert resumed.id == run.id and resumed.state is RunState.QUEUED and resumed.error is None
    done = await finished(client, run.id)
    assert done.turns_completed == 2
    assert Path(done.worktree or "", "hello.txt").is_file()
    texts = [e.text for e in await client.events(run.id) if isinstance(e, AgentText)]
    assert texts.count("one") == 1
    with refused(BadInput, 2, "only interrupted or failed runs resume"):
        await client.resume(run.id)
    with refused(UnknownRun, 2):
        await client.resume("zzzzzzzz")


async def test_send_back_gives_a_finished_run_more_to_do(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await run_to_end(client, scenario(WRITE_HELLO))
    with refused(BadInput, 2, "empty"):
        await client.send_back(run.id, " ")
    sent = await client.send_back(run.id, "please add a test too")
    assert sent.id == run.id and sent.state is RunState.QUEUED
    done = await finished(client, run.id)
    assert done.turns_completed == run.turns_completed + 1
    texts = [e.text for e in await client.events(run.id) if isinstance(e, AgentText)]
    assert texts[-1] == "Noted: please add a test too"
    with refused(UnknownRun, 2):
        await client.send_back("zzzzzzzz", "anyone?")


async def test_snapshot_is_every_run_with_the_tails_of_the_newest_and_the_active_ones(
    client: EngineClient, scenario: Scenario
) -> None:
    empty = await client.snapshot(300, 5)
    assert (empty.runs, empty.tails) == ([], {})
    # The oldest run waits for the human: active, so its tail comes though it is old.
    waiting = await client.submit("app", "waiting", "scripted", scenario(ASK))
    await asked(client, waiting.id)
    done = [await run_to_end(client, scenario(WRITE_HELLO), task=f"done {i}") for i in range(3)]
    snapshot = await client.snapshot(2, 2)
    listed = await client.list_runs()
    assert [r.id for r in snapshot.runs] == [r.id for r in listed]
    assert [r.state for r in snapshot.runs] == [r.state for r in listed]
    # The two newest and the active one; the oldest finished one is left out.
    assert set(snapshot.tails) == {waiting.id, done[1].id, done[2].id}
    for run_id, tail in snapshot.tails.items():
        assert len(tail) == 2
        # Over the socket the events go as stored: the same values as events_tail's.
        assert tail == await client.events_tail(run_id, 2)
    # Nothing moved since: a follower starting at last_event_id misses nothing.
    assert snapshot.last_event_id == await client.last_event_id()
    assert set((await client.snapshot(1, 0)).tails) == {waiting.id}
    # No events asked for: the runs and their facts, and no run's events at all.
    bare = await client.snapshot(0, 5)
    assert (bare.tails, set(bare.facts)) == ({}, {r.id for r in listed})
    with refused(BadInput, 2, "0 or more"):
        await client.snapshot(-1, 2)


async def test_run_facts_are_folded_from_every_stored_event(
    client: EngineClient, contract_root: Path, scenario: Scenario
) -> None:
    """A run's facts are its whole history's, however many events it has, whichever
    process stored them, and they move on with what is stored after; the snapshot
    carries every run's."""
    run, events = eventful_run("e0000001", "app", 700)
    assert await client.run_facts([run.id]) == {run.id: RunFacts()}  # none stored yet
    db = open_workspace(contract_root).db_path
    await store_runs(db, [(run, events[:400])])
    assert (await client.run_facts([run.id]))[run.id] == fold(events[:400])
    store = SqliteRunStore(db)
    await store.open()
    try:
        await store.append_events(events[400:])
    finally:
        await store.close()
    whole = fold(events)
    assert whole.input_tokens > 10 * PAGE // 5  # more than a client's page holds
    assert (await client.run_facts([run.id]))[run.id] == whole
    done = await run_to_end(client, scenario(WRITE_HELLO))
    snapshot = await client.snapshot(5, 1)
    assert set(snapshot.facts) == {r.id for r in snapshot.runs} == {run.id, done.id}
    assert snapshot.facts[run.id] == whole
    executed = snapshot.facts[done.id]
    assert executed == fold(await client.events(done.id))
    assert executed.state is RunState.FINISHED and executed.files_touched == 1


def fold(events: list[Event]) -> RunFacts:
    """The facts of ``events``, folded here."""
    facts = RunFacts()
    for event in events:
        facts.apply(event)
    return facts
