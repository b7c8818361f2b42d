"""Notifications: a command of the user's (``[notify] command``) is told when a run needs
the human — it waits for an answer (``needs_input``), is ready for review (``review``) or
failed (``failed``).

Each of these is one state change of the run (``RunStateChanged`` to
``waiting_for_human``, ``finished`` or ``failed``), so each notifies once: a question, a
guard's "ask" and red gates handed over all go through the one move to
``waiting_for_human`` (its ``reason`` is what the human is asked).

The command gets one JSON document on stdin::

    {"kind": "review", "run_id": "3f2a…", "repo": "api", "task": "…", "state": "finished",
     "reason": null, "event": {…the RunStateChanged…}, "summary": "run 3f2a… on api …"}

and ``COCKPIT_NOTIFY_KIND``, ``COCKPIT_NOTIFY_RUN`` and ``COCKPIT_NOTIFY_SUMMARY`` in its
environment. Every text is masked (the task may hold a token). Commands run in the
background, a few at a time; one that fails, is missing or outlives ``[notify] timeout``
is logged once and never retried: a notification is a courtesy, never a reason to hold
the engine or a run back.

The daemon wires it::

    notifier = Notifier(lambda: ws.config.notify, engine.get_run, engine.redact)
    engine.on_events(notifier.deliver)
    ...
    await notifier.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from engine.config import NotifyKind, NotifySettings
from engine.domain import codec
from engine.domain.events import Event, RunStateChanged
from engine.domain.models import Run
from engine.domain.redact import masked_value
from engine.domain.state import RunState
from engine.ports.sandbox import RUN_MARK

log = logging.getLogger(__name__)

#: Notify commands running at once; more wait in the queue.
MAX_RUNNING = 4
#: Notifications waiting for a free slot; beyond this they are dropped (and logged).
MAX_QUEUED = 100
#: Characters of a failed command's stderr quoted in the log line.
STDERR_CHARS = 300

_KINDS: dict[RunState, NotifyKind] = {
    RunState.WAITING_FOR_HUMAN: "needs_input",
    RunState.FINISHED: "review",
    RunState.FAILED: "failed",
}


@dataclass(frozen=True)
class Notification:
    """One transition worth telling the human about."""

    kind: NotifyKind
    event: RunStateChanged


def notification_for(event: Event) -> Notification | None:
    """The notification ``event`` calls for, if any (only state changes do)."""
    if not isinstance(event, RunStateChanged):
        return None
    kind = _KINDS.get(event.new)
    return None if kind is None else Notification(kind, event)


class Notifier:
    """Runs the ``[notify]`` command for each run that needs the human.

    ``settings`` gives the ``[notify]`` settings as they are now (asked at each
    transition); ``get_run`` finds a run's repo and task (``Engine.get_run``); ``redact`` masks a text
    (``Engine.redact``). Pass :meth:`deliver` to ``Engine.on_events``; call
    :meth:`close` when the engine stops.
    """

    def __init__(
        self,
        settings: Callable[[], NotifySettings],
        get_run: Callable[[str], Awaitable[Run | None]],
        redact: Callable[[str], str],
        *,
        max_running: int = MAX_RUNNING,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        # Asked each time: the detached engine's config follows edits of cockpit.toml,
        # and a [notify] changed while it runs is what the next transition uses.
        self._current = settings
        self._get_run = get_run
        self._redact = redact
        self._max_running = max_running
        self._queue: asyncio.Queue[Notification] = asyncio.Queue(max_queued)
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False

    @property
    def _settings(self) -> NotifySettings:
        return self._current()

    def deliver(self, batch: list[Event]) -> None:
        """Queue a notification for each transition in ``batch`` that the settings want;
        returns at once (an event sink must not block)."""
        settings = self._settings
        if self._closed or not settings.command:
            return
        kinds = frozenset(settings.kinds)
        for event in batch:
            notification = notification_for(event)
            if notification is None or notification.kind not in kinds:
                continue
            try:
                self._queue.put_nowait(notification)
            except asyncio.QueueFull:
                log.warning(
                    "notification dropped (%d already waiting): %s of run %s",
                    self._queue.qsize(),
                    notification.kind,
                    event.run_id,
                )
                continue
            self._start_workers()

    async def close(self, grace: float | None = None) -> None:
        """Stop taking notifications; wait up to ``[notify] timeout`` (or ``grace``
        seconds, when shorter) for those queued or running, then kill what still runs."""
        self._closed = True
        if not self._workers:
            return
        wait = self._settings.timeout if grace is None else min(grace, self._settings.timeout)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._queue.join()
        left = self._queue.qsize()
        if left:
            log.warning("%d notifications not sent: the engine is stopping", left)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    def _start_workers(self) -> None:
        # Started on first use: deliver runs on the engine's loop, the constructor may not.
        while len(self._workers) < self._max_running:
            name = f"notify-{len(self._workers)}"
            self._workers.append(asyncio.create_task(self._work(), name=name))

    async def _work(self) -> None:
        while True:
            notification = await self._queue.get()
            try:
                await self._send(notification)
            except asyncio.CancelledError:
                raise
            except Exception:  # one broken notification must not stop the others
                log.exception("notification of run %s failed", notification.event.run_id)
            finally:
                self._queue.task_done()

    async def _send(self, notification: Notification) -> None:
        """Run the command once for ``notification``; a failure is logged, not raised."""
        payload = await self._payload(notification)
        shown = self._redact(shlex.join(self._settings.command))
        env = {
            # The mark of a run's processes: what carries it, the reaper may end.
            **{k: v for k, v in os.environ.items() if k != RUN_MARK},
            "COCKPIT_NOTIFY_KIND": notification.kind,
            "COCKPIT_NOTIFY_RUN": notification.event.run_id,
            "COCKPIT_NOTIFY_SUMMARY": payload["summary"],
        }
        proc = await self._spawn(env, shown)
        if proc is None:
            return
        data = (json.dumps(payload) + "\n").encode()
        try:
            _, err = await asyncio.wait_for(proc.communicate(data), self._settings.timeout)
        except TimeoutError:
            await _kill(proc)
            log.warning(
                "notify command %s killed: still running after %gs", shown, self._settings.timeout
            )
            return
        except asyncio.CancelledError:
            await asyncio.shield(_kill(proc))
            log.warning("notify command %s killed: the engine is stopping", shown)
            raise
        if proc.returncode != 0:
            tail = self._redact(err.decode(errors="replace").strip()[-STDERR_CHARS:])
            log.warning(
                "notify command %s exited with %s%s",
                shown,
                proc.returncode,
                f": {tail}" if tail else "",
            )

    async def _spawn(self, env: dict[str, str], shown: str) -> asyncio.subprocess.Process | None:
        """Start the command (None, logged, when it cannot start)."""
        spawn = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *self._settings.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                # Its own process group: a timeout or shutdown kills whatever it started.
                start_new_session=True,
                env=env,
            )
        )
        try:
            return await asyncio.shield(spawn)
        except OSError as exc:
            log.warning("notify command %s could not start: %s", shown, exc.strerror or exc)
            return None
        except asyncio.CancelledError:
            # Cancelled (shutdown) while it was being started: it may run already, and
            # nothing else would ever end it.
            with contextlib.suppress(OSError):
                await _kill(await spawn)
            raise

    async def _payload(self, notification: Notification) -> dict[str, Any]:
        """The JSON document the command reads, every text masked."""
        event = notification.event
        run = await self._get_run(event.run_id)
        repo = run.repo if run is not None else None
        task = self._redact(run.task) if run is not None else None
        reason = self._redact(event.reason) if event.reason else None
        return {
            "kind": notification.kind,
            "run_id": event.run_id,
            "repo": repo,
            "task": task,
            "state": event.new.value,
            "reason": reason,
            "event": masked_value(self._redact, codec.encode(event)),
            "summary": summary(notification.kind, event.run_id, repo, task, reason),
        }


def summary(
    kind: NotifyKind, run_id: str, repo: str | None, task: str | None, reason: str | None
) -> str:
    """One line for a human: which run, where, and what it wants."""
    where = f"run {run_id}" + (f" on {repo}" if repo else "")
    if kind == "needs_input":
        return f"{where} needs you: {_line(reason or 'it waits for an answer')}"
    if kind == "review":
        return f"{where} is ready for review" + (f": {_line(task)}" if task else "")
    return f"{where} failed: {_line(reason or 'no reason given')}"


def _line(text: str, limit: int = 120) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """Kill the command's process group and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()
