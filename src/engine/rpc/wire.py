"""The engine protocol's wire format: JSON-RPC 2.0, one message per line.

Both ends read the same table: a request's ``method`` is the name of an
:class:`engine.api.EngineApi` call (or one of the :data:`SESSION_METHODS`), its
``params`` the call's keyword arguments. Values cross as JSON and are rebuilt on the
other side from the call's own type hints, so a ``Run`` leaves as a ``Run`` and arrives
as one; nothing here knows the domain's types by name.

Errors carry the domain error's class name and exit code in ``data``, so a client raises
the same :class:`~engine.domain.errors.CockpitError` an in-process call would have.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import typing
from typing import Any

from engine.api import LATER, EngineApi
from engine.domain import codec, errors
from engine.domain.events import Event

#: The protocol's version. A client and an engine of different versions do not talk:
#: the handshake (``hello``) says so in one line.
PROTOCOL = 1

#: The longest line either end reads (a page of events, a big diff): beyond it the
#: connection is dropped rather than the memory taken.
MAX_LINE = 64 * 1024 * 1024

#: Methods about the connection and the engine process, not the engine's API.
SESSION_METHODS = (
    "hello",
    "subscribe",
    "unsubscribe",
    "engine.status",
    "engine.stop",
)

#: Notifications the engine sends (no ``id``).
EVENTS = "events"
RESYNC = "resync"
GOODBYE = "goodbye"

# JSON-RPC's own error codes, and ours (the spec leaves -32000…-32099 to servers).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
COCKPIT_ERROR = -32000
PROTOCOL_MISMATCH = -32001
NOT_ALLOWED = -32002
NO_HELLO = -32003


def api_methods() -> tuple[str, ...]:
    """Every call of :class:`EngineApi` a client may make over the socket."""
    return tuple(
        name
        for name, member in inspect.getmembers(EngineApi, inspect.isfunction)
        if not name.startswith("_") and name != "redact"
    )


class _Later(dict[str, Any]):
    """The types the API names only for type checkers (:data:`engine.api.LATER`), each
    imported when a hint first names it."""

    def __missing__(self, name: str) -> Any:
        home = LATER.get(name)
        if home is None:
            raise KeyError(name)  # not one of them: the API module's own name
        value = self[name] = getattr(importlib.import_module(home), name)
        return value


@functools.cache
def _hints(method: str) -> dict[str, Any]:
    return typing.get_type_hints(getattr(EngineApi, method), localns=_Later(), include_extras=True)


def encode(value: Any) -> Any:
    """A domain value as JSON-able data (dataclasses, paths, enums, times)."""
    return codec.encode(value)


def decode_result(method: str, value: Any) -> Any:
    """What ``method`` returned, rebuilt from its JSON with the API's return hint."""
    return codec.decode(_hints(method)["return"], value)


def decode_events(value: Any) -> list[Event]:
    """A page of events from its JSON."""
    return codec.decode(list[Event], value)


def decode_params(method: str, params: Any) -> dict[str, Any]:
    """``params`` of a request to ``method`` as keyword arguments of the API call.

    Raises ``ValueError`` naming the parameter for unknown names or values that do not
    fit their type (the server answers INVALID_PARAMS)."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValueError("params must be an object of named arguments")
    hints = _hints(method)
    decoded: dict[str, Any] = {}
    for name, value in params.items():
        if name not in hints or name == "return":
            raise ValueError(f"{method} takes no parameter {name!r}")
        try:
            decoded[name] = codec.decode(hints[name], value)
        except ValueError as exc:
            first = str(exc).splitlines()
            raise ValueError(f"{method}: bad {name!r}: {first[-1] if first else exc}") from None
    return decoded


def message(payload: dict[str, Any]) -> bytes:
    """One JSON-RPC message as a line."""
    return json.dumps({"jsonrpc": "2.0", **payload}, separators=(",", ":")).encode() + b"\n"


def request(msg_id: int | None, method: str, params: dict[str, Any] | None = None) -> bytes:
    """A request (``msg_id`` None: a notification, which gets no answer)."""
    body: dict[str, Any] = {"method": method, "params": encode(params or {})}
    if msg_id is not None:
        body["id"] = msg_id
    return message(body)


class Raw(str):
    """A result already written as JSON (one line): sent as it is."""


def result(msg_id: Any, value: Any) -> bytes:
    """A successful response."""
    if isinstance(value, Raw):
        head = message({"id": msg_id, "result": None})
        return head[: -len(b"null}\n")] + value.encode() + b"}\n"
    return message({"id": msg_id, "result": encode(value)})


def failure(msg_id: Any, code: int, text: str, data: dict[str, Any] | None = None) -> bytes:
    """An error response."""
    error: dict[str, Any] = {"code": code, "message": text}
    if data is not None:
        error["data"] = data
    return message({"id": msg_id, "error": error})


def refusal(exc: errors.CockpitError, text: str | None = None) -> dict[str, Any]:
    """The JSON-RPC error object of a domain error: its text (``text`` when given, e.g.
    masked), its class and exit code."""
    return {
        "code": COCKPIT_ERROR,
        "message": str(exc) if text is None else text,
        "data": error_data(exc),
    }


def error_data(exc: errors.CockpitError) -> dict[str, Any]:
    """What a client needs to raise ``exc`` again: its class and exit code."""
    data: dict[str, Any] = {"type": type(exc).__name__, "exit_code": exc.exit_code}
    gates = getattr(exc, "gates", None)
    if gates is not None:
        data["gates"] = list(gates)
    return data


def _error_classes() -> dict[str, type[errors.CockpitError]]:
    """Every Cockpit error class by name (the domain's, and subclasses defined elsewhere,
    such as ``SkillError``)."""
    found: dict[str, type[errors.CockpitError]] = {}
    todo: list[type[errors.CockpitError]] = [errors.CockpitError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found


def raise_error(error: dict[str, Any]) -> typing.NoReturn:
    """Raise the domain error an error response stands for."""
    text = str(error.get("message", "the engine refused the request"))
    data = error.get("data") or {}
    cls = _error_classes().get(str(data.get("type", "")))
    if isinstance(cls, type) and issubclass(cls, errors.CockpitError):
        if cls is errors.GatesRed:
            raise errors.GatesRed(text, list(data.get("gates") or []))
        try:
            exc = cls(text)
        except TypeError:  # a constructor of its own: keep the class's exit code
            exc = errors.CockpitError(text)
            exc.exit_code = int(data.get("exit_code", 1))
        raise exc
    if error.get("code") == PROTOCOL_MISMATCH:
        raise errors.BadInput(text)
    failed = errors.CockpitError(text)
    failed.exit_code = int(data.get("exit_code", 1))
    raise failed
