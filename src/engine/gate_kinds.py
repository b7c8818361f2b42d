"""The gate kinds, by the ``kind`` a ``[[repos.NAME.gates]]`` table names: the one list of
them. The config's schema takes its names from here and the composition root its
adapters (``engine.adapters.gates.available_gates``); adding a gate is adding a line
here and its adapter.

Plain data, no imports of the adapters.
"""

from __future__ import annotations

#: kind → (module, class) of the adapter.
GATES: dict[str, tuple[str, str]] = {
    "ruff": ("engine.adapters.gates.ruff", "RuffGate"),
    "ruff-format": ("engine.adapters.gates.ruff", "RuffFormatGate"),
    "ty": ("engine.adapters.gates.ty", "TyGate"),
    "tach": ("engine.adapters.gates.tach", "TachGate"),
    "secrets": ("engine.adapters.gates.secrets", "SecretsGate"),
    "pytest": ("engine.adapters.gates.pytest", "PytestGate"),
    "hooks": ("engine.adapters.gates.hooks", "HooksGate"),
    "command": ("engine.adapters.gates.command", "CommandGate"),
}
