"""``--wait``: follow a run the engine executes, printing its events, until it ends.

The run is the engine's: Ctrl-C stops following it, not the run. A run whose end the
engine could not record (a full disk) ends the stream with that error, said in one line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading

from cockpit.cli.show import masked
from cockpit.client import EngineClient
from cockpit.render import describe_event, steer_hint
from engine.domain.errors import CockpitError, EngineUnavailable
from engine.domain.events import Event, HumanAsked, RunStateChanged
from engine.domain.models import Run
from engine.domain.state import RunState

#: Run states that count as success for `--wait`.
SUCCESS = {RunState.FINISHED}


async def follow(client: EngineClient, run: Run, as_json: bool) -> int:
    """Print ``run``'s events as the engine stores them until it ends; exit code 0 when
    it finished."""
    from rich.console import Console
    from rich.markup import escape

    # soft_wrap: one event per line even in a narrow terminal or a pipe.
    console = Console(stderr=as_json, highlight=False, soft_wrap=True)

    def show(event: Event) -> None:
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
        show(event)
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

    with console.status(f"run {run.id} on {run.repo}…", spinner="dots"):
        try:
            async for event in client.run_events(run.id):
                new_event(event)
        except EngineUnavailable:
            raise EngineUnavailable(
                f"the engine stopped while run {run.id} was going: it is interrupted "
                f"(cockpit resume {run.id} continues it)"
            ) from None
        except asyncio.CancelledError:
            # Ctrl-C: this command stops following; the engine goes on with the run.
            console.print(
                f"run {run.id} keeps going in the engine: cockpit show {run.id} "
                f"(or cockpit cancel {run.id})"
            )
            raise
    final = masked(client, await client.resolve_run(run.id))
    if as_json:
        print(json.dumps(final.public_dict()))
    else:
        # Escaped: an error is text, not markup ("[redacted]" would vanish as a tag).
        error = f": {escape(final.error)}" if final.error else ""
        console.print(f"run {final.id} {final.state.value}{error}")
    return 0 if final.state in SUCCESS else 1
