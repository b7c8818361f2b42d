"""The composition root: builds an :class:`Engine` for a workspace from its adapters."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import asynccontextmanager

from engine.adapters.control import ControlServer, poke_engines
from engine.adapters.gates import available_gates
from engine.adapters.git.merges import GitMerges
from engine.adapters.git.worktrees import GitWorktrees
from engine.adapters.process import end_run_processes, run_shell
from engine.adapters.reaper import Reaper
from engine.adapters.sandbox import BubblewrapSandbox
from engine.adapters.skills import FolderSkillLibrary
from engine.adapters.store.sqlite import SqliteRunStore
from engine.backends import BACKENDS
from engine.domain.models import EngineId
from engine.ports.agent import AgentBackend
from engine.services.engine import Engine, EngineOptions
from engine.services.recovery import HOST
from engine.workspace import Workspace


class LazyBackends(Mapping[str, AgentBackend]):
    """The backends, each imported and built when a run first needs it: a cockpit that
    only shows runs (or runs one kind of agent) does not load the others' modules."""

    def __init__(self) -> None:
        self._built: dict[str, AgentBackend] = {}

    def __getitem__(self, name: str) -> AgentBackend:
        if name not in self._built:
            entry = BACKENDS[name]
            self._built[name] = getattr(importlib.import_module(entry.module), entry.cls)()
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(BACKENDS)

    def __len__(self) -> int:
        return len(BACKENDS)


def available_backends() -> Mapping[str, AgentBackend]:
    """Backends by the name profiles use in ``backend = "..."`` (built on first use)."""
    return LazyBackends()


def this_engine() -> EngineId:
    """The identity leases are taken under."""
    return EngineId(host=HOST, pid=os.getpid(), started=time.time())


@asynccontextmanager
async def open_engine(
    workspace: Workspace,
    options: EngineOptions | None = None,
    listen: bool = True,
) -> AsyncGenerator[Engine]:
    """Open the store and wire an engine; ``listen`` opens its wake-up socket.

    Leaving the context closes the socket and the store; call ``engine.run()`` inside it
    to execute runs.
    """
    options = options or EngineOptions()
    store = SqliteRunStore(workspace.db_path)
    await store.open()
    control: ControlServer | None = None
    reaper = Reaper()
    try:
        engine = Engine(
            workspace,
            store,
            GitWorktrees(),
            available_backends(),
            this_engine(),
            run_shell=run_shell,
            notify=lambda: poke_engines(workspace.state_dir),
            options=options,
            skills=FolderSkillLibrary(workspace.root),
            gates=available_gates(),
            merges=GitMerges(),
            sandbox=BubblewrapSandbox(),
            end_processes=end_run_processes,
            watch_processes=reaper.watching,
        )
        if listen:
            kind = "only" if options.only is not None else "general"
            control = ControlServer(workspace.state_dir, kind, engine.wake)
            await control.start()
        yield engine
    finally:
        # The store is closed however this ends (a failed start, a cancellation).
        try:
            if control is not None:
                await control.close()
        finally:
            await reaper.close()
            await store.close()
