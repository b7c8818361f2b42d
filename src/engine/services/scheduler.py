"""The engine's scheduler: claims queued runs and supervises their executions.

It claims runs from the store atomically (so limits hold across every engine of the
workspace), executes each in a task, renews their leases, reacts to wake-ups from other
processes, and stops them all on shutdown (runs in flight become interrupted). The
engine's commands ask it about the runs it is executing; :class:`Engine` wires it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta

from engine.domain.errors import CockpitError
from engine.domain.models import EngineId, Run, utcnow
from engine.domain.state import RunState
from engine.ports.store import RunStore
from engine.services.bus import EventBus
from engine.services.runner import CANCEL, SHUTDOWN, RunExecution
from engine.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class EngineOptions:
    """Tunables; the defaults are what a workspace gets."""

    lease_ttl: float = 10.0
    lease_renew: float = 3.0
    #: Fallback poll for work and wake-ups lost between processes.
    poll_interval: float = 1.0
    #: Restrict execution to these run ids (``--wait``); None takes any queued run.
    only: frozenset[str] | None = None
    #: Stop once nothing is running and nothing is queued (background engines).
    exit_when_idle: bool = False


class Scheduler:
    """Claims, starts and supervises the runs one engine executes."""

    def __init__(
        self,
        workspace: Workspace,
        store: RunStore,
        bus: EventBus,
        owner: EngineId,
        options: EngineOptions,
        *,
        launch: Callable[[Run], RunExecution],
        prepare: Callable[[], Awaitable[None]],
        watch_processes: Callable[[str], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._bus = bus
        self._owner = owner
        self._options = options
        #: Builds the execution of a claimed run (the engine knows its setup).
        self._launch = launch
        #: Recovery before the first claim (orphaned runs, cut-short decisions).
        self._prepare = prepare
        #: While inside, a run's processes die with this engine however it ends.
        self._watch_processes = watch_processes
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._executions: dict[str, RunExecution] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._only = set(options.only) if options.only is not None else None
        #: Why a run's execution ended without recording its end, by run id.
        self.unrecorded: dict[str, BaseException] = {}

    # --- what the engine's commands ask ------------------------------------------------
    @property
    def running_ids(self) -> list[str]:
        """Runs this engine is executing now."""
        return list(self._tasks)

    def is_executing(self, run_id: str) -> bool:
        """Whether this engine is executing ``run_id`` now."""
        return run_id in self._tasks

    def expect(self, run_id: str) -> None:
        """With ``only`` set (``--wait``), execute ``run_id`` too: one this engine's
        client just submitted or queued again."""
        if self._only is not None:
            self._only.add(run_id)

    def steering_arrived(self, run_id: str) -> bool:
        """Tell ``run_id``'s execution that steering arrived; False when this engine is
        not executing it (another engine must be told)."""
        execution = self._executions.get(run_id)
        if execution is None:
            return False
        execution.steering_arrived.set()
        return True

    async def cancel(self, run_id: str) -> bool:
        """Cancel ``run_id``'s execution and wait until its end is recorded; False when
        this engine is not executing it."""
        if run_id not in self._tasks:
            return False
        self._stop_task(run_id, CANCEL)
        with contextlib.suppress(asyncio.CancelledError):
            # Shielded: the caller being cancelled must not cancel the run's ending.
            await asyncio.shield(self._tasks[run_id])
        return True

    def wake(self) -> None:
        """Look for work now (called by the control socket and by commands)."""
        for execution in self._executions.values():
            execution.steering_arrived.set()
        self._wake.set()

    def request_stop(self) -> None:
        """Ask :meth:`run` to shut down (runs in flight become interrupted)."""
        self._stopping.set()
        self._wake.set()

    # --- the loop ---------------------------------------------------------------------
    async def run(self) -> None:
        """Schedule until stopped (or idle, with ``exit_when_idle``), then shut down."""
        await self._bus.start()
        renewer = asyncio.create_task(self._renew_leases(), name="lease-renewer")
        try:
            await self._prepare()
            while not self._stopping.is_set():
                self._wake.clear()
                await self._check_cancels()
                await self._claim()
                if await self._idle():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._options.poll_interval)
        finally:
            renewer.cancel()
            await self._shutdown()

    async def _claim(self) -> None:
        """Claim and start queued runs while the workspace's limits allow."""
        limits = self._workspace.config.limits
        while not self._stopping.is_set():
            if self._only is not None and not (self._only - set(self._tasks)):
                return
            run = await self._store.claim_next(
                self._owner.token,
                utcnow() + timedelta(seconds=self._options.lease_ttl),
                limits.max_running,
                limits.max_running_per_repo,
                sorted(self._only) if self._only is not None else None,
            )
            if run is None:
                return
            self._start(run)

    def _start(self, run: Run) -> None:
        """Execute a claimed run in a task of its own, forgotten once it ends."""
        execution = self._launch(run)
        self._executions[run.id] = execution
        task = asyncio.create_task(self._execute(execution), name=f"run-{run.id}")
        self._tasks[run.id] = task

        def done(finished: asyncio.Task[None], run_id: str = run.id) -> None:
            error = None if finished.cancelled() else finished.exception()
            if error is not None:
                # The run's end could not be recorded (the store refused it: a full
                # disk); kept for `run --wait` to report, and the run is reaped later.
                self.unrecorded[run_id] = error
            self._tasks.pop(run_id, None)
            self._executions.pop(run_id, None)
            if self._only is not None:
                self._only.discard(run_id)  # resume() adds it back
            self._wake.set()

        task.add_done_callback(done)

    async def _execute(self, execution: RunExecution) -> None:
        if self._watch_processes is None:
            await execution.execute()
            return
        async with self._watch_processes(execution.run.id):
            await execution.execute()

    async def _idle(self) -> bool:
        """Whether there is nothing left for this engine to do (it then exits)."""
        if self._tasks:
            return False
        if self._only is not None:
            return not self._only
        if not self._options.exit_when_idle:
            return False
        runs = await self._store.list_runs()
        return not any(r.state is RunState.QUEUED for r in runs)

    async def _check_cancels(self) -> None:
        """Stop the runs whose cancel was requested through another process."""
        for run_id in list(self._tasks):
            run = await self._store.get_run(run_id)
            if run is not None and run.cancel_requested:
                self._stop_task(run_id, CANCEL)

    def _stop_task(self, run_id: str, reason: str) -> None:
        execution = self._executions.get(run_id)
        task = self._tasks.get(run_id)
        if execution is None or task is None:
            return
        # The reason is set before the cancel: the execution reads it to record its end
        # (and a second stop must not change why the first one ended it).
        if execution.stop_reason is None:
            execution.stop_reason = reason
            task.cancel()

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self._options.lease_renew)
            lease = utcnow() + timedelta(seconds=self._options.lease_ttl)
            try:
                await self._store.renew_leases(self._owner.token, lease)
            except CockpitError as exc:  # a full disk: the next tick tries again
                log.info("leases not renewed: %s", exc)

    async def _shutdown(self) -> None:
        for run_id in list(self._tasks):
            self._stop_task(run_id, SHUTDOWN)
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await self._bus.stop()
