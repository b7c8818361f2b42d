"""Gate adapters: each runs one real tool on a tree and reads its machine output."""

from engine.adapters.gates.command import CommandGate
from engine.adapters.gates.hooks import HooksGate
from engine.adapters.gates.pytest import PytestGate
from engine.adapters.gates.ruff import RuffFormatGate, RuffGate
from engine.adapters.gates.secrets import SecretsGate
from engine.adapters.gates.tach import TachGate
from engine.adapters.gates.ty import TyGate
from engine.ports.gate import Gate


def available_gates() -> dict[str, Gate]:
    """Every gate adapter, by the ``kind`` a ``[[repos.NAME.gates]]`` table names."""
    gates: list[Gate] = [
        RuffGate(),
        RuffFormatGate(),
        TyGate(),
        TachGate(),
        SecretsGate(),
        PytestGate(),
        HooksGate(),
        CommandGate(),
    ]
    return {gate.kind: gate for gate in gates}


__all__ = [
    "CommandGate",
    "HooksGate",
    "PytestGate",
    "RuffFormatGate",
    "RuffGate",
    "SecretsGate",
    "TachGate",
    "TyGate",
    "available_gates",
]
