"""Gate adapters: each runs one real tool on a tree and reads its machine output."""

import importlib

from engine.gate_kinds import GATES
from engine.ports.gate import Gate


def available_gates() -> dict[str, Gate]:
    """Every gate adapter, by the ``kind`` a ``[[repos.NAME.gates]]`` table names (the
    kinds of ``engine.gate_kinds.GATES``)."""
    gates: dict[str, Gate] = {}
    for kind, (module, cls) in GATES.items():
        gate = getattr(importlib.import_module(module), cls)()
        assert gate.kind == kind, f"{module}.{cls} is kind {gate.kind!r}, listed as {kind!r}"
        gates[kind] = gate
    return gates
