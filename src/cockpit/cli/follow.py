"""``--wait``: execute a run in this process, streaming its events, until it ends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading

from cockpit.cli.show import masked
from cockpit.client import InProcessClient
from cockpit.render import describe_event, steer_hint
from engine.domain.errors import CockpitError
from engine.domain.events import Event, HumanAsked, RunStateChanged
from engine.domain.models import Run
from engine.domain.state import RunState

#: Run states that count as success for `--wait`.
SUCCESS = {RunState.FINISHED}


async def follow(client: InProcessClient, run: Run, as_json: bool) -> int:
    """Execute ``run`` in this process, streaming its events, until it ends."""
    from rich.console import Console
    from rich.markup import escape

    # soft_wrap: one event per line even in a narrow terminal or a pipe.
    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    state = {"run": run}

    def show(events: list) -> None:
        for event in events:
            if event.run_id != run.id:
                continue
            stamp = event.at.astimezone().strftime("%H:%M:%S")
            text = escape(client.redact(describe_event(event)))
            console.print(f"[dim]{stamp}[/] [bold]{run.id}[/] #{event.seq} {text}")

    # On a terminal a question is answered here: each line typed while the run waits
    # is sent as the answer (elsewhere the printed `cockpit steer` line is the way).
    interactive = sys.stdin is not None and sys.stdin.isatty()
    loop = asyncio.get_running_loop()
    waiting = {"open": False, "reader": False}

    sending: set[asyncio.Task] = set()

    async def send(text: str) -> None:
        try:
            await client.steer(run.id, text)
        except CockpitError as exc:
            console.print(f"answer not sent: {escape(str(exc))}")

    def answer(line: str) -> None:
        if waiting["open"] and line.strip():
            waiting["open"] = False
            task = loop.create_task(send(line.strip()))
            sending.add(task)
            task.add_done_callback(sending.discard)

    def read_answers() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(answer, line)

    def new_event(event: Event) -> None:
        seen["seq"] = event.seq
        show([event])
        if isinstance(event, HumanAsked):
            waiting["open"] = True
            console.print(escape(client.redact(steer_hint(run.id, event))))
            if interactive:
                console.print("type the answer here and press Enter:")
                if not waiting["reader"]:
                    waiting["reader"] = True
                    # A daemon: a read still blocked when the run ends stops nothing.
                    threading.Thread(target=read_answers, daemon=True).start()
        elif isinstance(event, RunStateChanged) and event.new is not RunState.WAITING_FOR_HUMAN:
            waiting["open"] = False

    async def stream() -> None:
        async for event in client.run_events(run.id, seen["seq"]):
            new_event(event)

    def stop_on_error(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            client.stop()  # its error is raised once serve() returns

    # Events stored before the engine started (the submit itself) come first.
    show(await client.events(run.id))
    seen = {"seq": await client.last_seq(run.id)}
    streaming = loop.create_task(stream())
    streaming.add_done_callback(stop_on_error)

    async def drain() -> None:
        """End the stream (it ends with the run, or may not have yet) and show what it
        had not read (the engine's last flush)."""
        streaming.cancel()
        await asyncio.wait([streaming])
        for event in await client.events(run.id, seen["seq"]):
            new_event(event)

    with console.status(f"run {run.id} on {run.repo}…", spinner="dots"):
        try:
            await client.serve()
        except BaseException:
            # Interrupted (Ctrl-C) too: the runs' ends, stored on the way out, are shown.
            with contextlib.suppress(Exception):
                await drain()
            raise
        await drain()
    if not streaming.cancelled():
        streaming.result()  # the stream's own error, if it had one
    failure = client.failure(run.id)
    if isinstance(failure, CockpitError):
        raise failure  # its end is not stored: this line says why (the next read reaps it)
    final = masked(client, await client.resolve_run(run.id))
    state["run"] = final
    if as_json:
        print(json.dumps(final.public_dict()))
    else:
        # Escaped: an error is text, not markup ("[redacted]" would vanish as a tag).
        error = f": {escape(final.error)}" if final.error else ""
        console.print(f"run {final.id} {final.state.value}{error}")
    return 0 if final.state in SUCCESS else 1
