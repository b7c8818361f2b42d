"""Running a repo's configured gates on a tree: all of them at once, each with its own
timeout, a kind with no adapter reported as ``unavailable`` rather than raised."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from engine.config import GateConfig
from engine.domain.gates import GateResult, GateStatus
from engine.ports.gate import Gate, GateSpec


def spec_of(config: GateConfig, base: str | None = None) -> GateSpec:
    """A ``[[repos.NAME.gates]]`` table as the adapters see it, judging a tree that grew
    from ``base``."""
    return GateSpec(
        name=config.name,
        kind=config.kind,
        blocking=config.blocking,
        timeout=config.timeout,
        command=config.command,
        args=list(config.args),
        pattern=config.pattern,
        base=base,
    )


async def check_tree(
    gates: Mapping[str, Gate], specs: list[GateSpec], tree: Path
) -> list[GateResult]:
    """Every spec's verdict on ``tree``, run in parallel, in the specs' order."""

    async def one(spec: GateSpec) -> GateResult:
        gate = gates.get(spec.kind)
        if gate is None:
            return GateResult(
                spec.name,
                spec.kind,
                GateStatus.UNAVAILABLE,
                spec.blocking,
                detail=f"this Cockpit has no {spec.kind!r} gate yet",
            )
        return await gate.check(spec, tree)

    return list(await asyncio.gather(*(one(spec) for spec in specs)))
