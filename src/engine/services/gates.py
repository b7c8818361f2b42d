"""Running a repo's configured gates on a tree: all of them at once, each with its own
timeout, a kind with no adapter reported as ``unavailable`` rather than raised."""

from __future__ import annotations

import asyncio
import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import GateConfig, RepoConfig
from engine.domain.events import GateDecided
from engine.domain.gates import GateResult, GateStatus
from engine.ports.gate import Gate, GateSpec

log = logging.getLogger(__name__)

#: Findings per gate sent back to the agent in one fix request.
MAX_FINDINGS_SENT = 20


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
        changed_only=config.changed_only,
    )


async def check_tree(
    gates: Mapping[str, Gate], specs: list[GateSpec], tree: Path
) -> list[GateResult]:
    """Every spec's verdict on ``tree``, run in parallel, in the specs' order."""

    async def one(spec: GateSpec) -> GateResult:
        def verdict(status: GateStatus, detail: str) -> GateResult:
            return GateResult(spec.name, spec.kind, status, spec.blocking, detail=detail)

        gate = gates.get(spec.kind)
        if gate is None:
            return verdict(GateStatus.UNAVAILABLE, f"this Cockpit has no {spec.kind!r} gate yet")
        try:
            return await gate.check(spec, tree)
        except Exception as exc:  # an adapter's bug is that gate's error, not the run's end
            log.exception("gate %s (%s) crashed", spec.name, spec.kind)
            error = f"{type(exc).__name__}: {exc}"
            return verdict(GateStatus.ERROR, f"internal error in the {spec.kind} gate: {error}")

    return list(await asyncio.gather(*(one(spec) for spec in specs)))


@dataclass(frozen=True)
class GatePlan:
    """A run's gates: those judging every turn, those judging the finished work, the
    adapters that run them, and how many fix rounds the repo allows."""

    adapters: Mapping[str, Gate]
    on_turn: list[GateSpec] = field(default_factory=list)
    on_finish: list[GateSpec] = field(default_factory=list)
    fix_rounds: int = 0


def repo_gates(config: RepoConfig, checkout: Path) -> list[GateConfig]:
    """The repo's gates: those configured, else the defaults its ``pyproject.toml`` calls
    for — ruff lint and format when it configures ruff, ty when it configures ty (every
    turn), pytest when it configures pytest (at finish: a suite is slow for every turn).
    Blocking reads a file: call it in a thread."""
    if config.gates is not None:
        return list(config.gates)
    try:
        tool = tomllib.loads((checkout / "pyproject.toml").read_text()).get("tool") or {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    gates: list[GateConfig] = []
    if "ruff" in tool:
        gates += [
            GateConfig(name="lint", kind="ruff"),
            GateConfig(name="format", kind="ruff-format"),
        ]
    if "ty" in tool:
        gates.append(GateConfig(name="types", kind="ty"))
    if "pytest" in tool:
        gates.append(GateConfig(name="tests", kind="pytest", when="finish"))
    return gates


def plan_for(config: RepoConfig, adapters: Mapping[str, Gate], checkout: Path) -> GatePlan:
    """The gate plan of a run on a repo configured by ``config`` whose files are at
    ``checkout`` (``manual`` gates only run when asked: ``cockpit gates``). Blocking."""
    gates = repo_gates(config, checkout)
    return GatePlan(
        adapters,
        on_turn=[spec_of(g) for g in gates if g.when == "turn"],
        on_finish=[spec_of(g) for g in gates if g.when == "finish"],
        fix_rounds=config.fix_rounds,
    )


def verdict_event(
    run_id: str, result: GateResult, tree: str | None, turn: int | None
) -> GateDecided:
    """A verdict as the event that records it, bound to the tree it judged."""
    return GateDecided(
        run_id=run_id,
        name=result.name,
        kind=result.kind,
        status=result.status.value,
        blocking=result.blocking,
        findings=[f.as_json() for f in result.findings],
        detail=result.detail,
        tree=tree,
        turn=turn,
    )


def fix_request(failing: list[GateResult], round_: int, rounds: int) -> str:
    """The steering message that sends failing gates' findings back to the agent."""
    lines = [
        f"Cockpit's checks failed on your last turn (fix round {round_} of {rounds}). "
        "Fix these, then carry on:"
    ]
    for result in failing:
        if not result.findings:
            lines.append(
                f"- {result.name} ({result.kind}): {result.status.value} {result.detail}".rstrip()
            )
        for f in result.findings[:MAX_FINDINGS_SENT]:
            where = f.path + (f":{f.line}" if f.line else "")
            lines.append(f"- {result.name}: {where}: {f.code} {f.message}")
        extra = len(result.findings) - MAX_FINDINGS_SENT
        if extra > 0:
            lines.append(f"- {result.name}: … and {extra} more")
    return "\n".join(lines)
