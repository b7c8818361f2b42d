"""Domain values to JSON data and back, from their type hints alone.

The domain's values are plain dataclasses: the engine's store, its socket and the
cockpit all turn them into JSON and back. Decoding is strict (a value that does not fit
its hint is a ``ValueError`` naming where), so what arrives over the socket or from a
file is checked as a validating model would check it, without loading one: the cockpit,
a client, starts without pydantic (the only exception: a hint that *is* a pydantic model,
such as a repo's settings, is handed to pydantic when met).

What is understood: ``None``, ``bool``, ``int``, ``float``, ``str``, ``Path``,
``datetime`` (ISO 8601), enums, ``Literal``, unions (``X | None``; a union of dataclasses
that each pin a ``type`` literal is told apart by that field), ``list``/``Sequence``/
``Collection``, ``tuple`` (fixed or ``...``), ``dict``, ``Any``, ``Annotated`` (its
metadata ignored) and dataclasses (keys they do not have are ignored, so data written by
a newer version still reads).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from datetime import datetime
from pathlib import PurePath
from typing import Any

__all__ = ["decode", "encode"]

#: A decoder of one hint: JSON data in, the value out (``ValueError`` when it does not fit).
Decoder = Callable[[Any], Any]


#: Types that are JSON as they are (exactly these: an enum deriving from str is not).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def encode(value: Any) -> Any:
    """``value`` as JSON data: dataclasses as objects of their fields, enums as their
    value, times in ISO 8601, paths as text, tuples and sets as arrays."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _ENCODERS[kind] = _encoder(kind)
    return encoder(value)


#: An encoder per type met (a page of events is thousands of the same few types).
_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def _encoder(kind: type) -> Callable[[Any], Any]:
    if issubclass(kind, enum.Enum):
        return lambda value: encode(value.value)
    if issubclass(kind, datetime):
        return _time
    if issubclass(kind, PurePath):
        return str
    if dataclasses.is_dataclass(kind):
        names = tuple(f.name for f in _fields(kind))
        plain = _PLAIN

        def fields(value: Any) -> dict[str, Any]:
            out = {}
            for name in names:
                item = getattr(value, name)
                out[name] = item if type(item) in plain else encode(item)
            return out

        return fields
    if issubclass(kind, dict):
        return lambda value: {str(encode(k)): encode(v) for k, v in value.items()}
    if issubclass(kind, (list, tuple, set, frozenset)):
        return lambda value: [encode(v) for v in value]
    if callable(getattr(kind, "model_dump", None)):  # a pydantic model (repo settings)
        return lambda value: value.model_dump(mode="json")
    raise TypeError(f"cannot encode a {kind.__name__} as JSON")


def _time(value: datetime) -> str:
    # UTC as "Z", as JSON written by earlier versions (and most tools) has it.
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def decode(hint: Any, data: Any) -> Any:
    """The value of type ``hint`` that ``data`` (JSON data) stands for."""
    return decoder(hint)(data)


@functools.cache
def decoder(hint: Any) -> Decoder:
    """The (cached) decoder of ``hint``."""
    return _build(hint)


class _Unfit(ValueError):
    """A value that does not fit its hint; ``where`` is its path in the data."""

    def __init__(self, what: str, where: str = "") -> None:
        self.what, self.where = what, where
        super().__init__(f"{where}: {what}" if where else what)

    def inside(self, step: str) -> _Unfit:
        where = (
            f"{step}.{self.where}"
            if self.where and not self.where.startswith("[")
            else (step + self.where)
        )
        return _Unfit(self.what, where)


def _describe(data: Any) -> str:
    text = repr(data)
    return f"{type(data).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _exact(*kinds: type, name: str) -> Decoder:
    def check(data: Any) -> Any:
        # bool is an int to Python, never to a schema.
        if isinstance(data, kinds) and not (isinstance(data, bool) and bool not in kinds):
            return data
        raise _Unfit(f"expected {name}, got {_describe(data)}")

    return check


def _float(data: Any) -> float:
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    raise _Unfit(f"expected a number, got {_describe(data)}")


def _datetime(data: Any) -> datetime:
    if isinstance(data, datetime):
        return data
    if isinstance(data, str):
        try:
            return datetime.fromisoformat(data)
        except ValueError:
            pass
    raise _Unfit(f"expected a time (ISO 8601), got {_describe(data)}")


def _none(data: Any) -> None:
    if data is None:
        return None
    raise _Unfit(f"expected null, got {_describe(data)}")


def _build(hint: Any) -> Decoder:
    if hint is Any or hint is object:
        return lambda data: data
    if hint is None or hint is type(None):
        return _none
    if hint is bool:
        return _exact(bool, name="true or false")
    if hint is int:
        return _exact(int, name="an integer")
    if hint is float:
        return _float
    if hint is str:
        return _exact(str, name="text")
    if isinstance(hint, type) and issubclass(hint, PurePath):
        text = _exact(str, name="a path")
        return lambda data: data if isinstance(data, hint) else hint(text(data))
    if hint is datetime:
        return _datetime
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint)
    if isinstance(hint, type) and callable(getattr(hint, "model_validate", None)):
        return _pydantic(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return decoder(args[0])
    if origin is typing.Literal:
        return _literal(args)
    if origin in (typing.Union, types.UnionType):
        return _union(args)
    if origin in (list, collections.abc.Sequence, collections.abc.Collection, set, frozenset):
        return _list(args[0] if args else Any, origin)
    if origin is tuple:
        return _tuple(args)
    if origin in (dict, collections.abc.Mapping):
        return _dict(*(args or (Any, Any)))
    if hint in (list, tuple, dict):
        return _exact(hint, name=f"a {hint.__name__}")
    raise TypeError(f"no decoder for {hint!r}")


def _enum(cls: type[enum.Enum]) -> Decoder:
    def check(data: Any) -> Any:
        if isinstance(data, cls):
            return data
        try:
            return cls(data)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in cls)
            raise _Unfit(f"expected one of {allowed}, got {_describe(data)}") from None

    return check


def _literal(values: tuple[Any, ...]) -> Decoder:
    def check(data: Any) -> Any:
        for value in values:
            if data == value and type(data) is type(value):
                return value
        allowed = ", ".join(repr(v) for v in values)
        raise _Unfit(f"expected one of {allowed}, got {_describe(data)}")

    return check


def _tag(cls: Any) -> str | None:
    """The ``type`` literal a dataclass pins (a member of a tagged union), if any."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        return None
    hint = _hints(cls).get("type")
    values = typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else ()
    return values[0] if len(values) == 1 and isinstance(values[0], str) else None


def _union(members: tuple[Any, ...]) -> Decoder:
    optional = type(None) in members
    rest = [m for m in members if m is not type(None)]
    tags = {_tag(m): m for m in rest}
    if len(rest) > 1 and None not in tags and len(tags) == len(rest):
        # A tagged union: the ``type`` field says which member to build.
        by_tag = {tag: decoder(member) for tag, member in tags.items()}

        def tagged(data: Any) -> Any:
            if data is None and optional:
                return None
            if not isinstance(data, dict):
                raise _Unfit(f"expected an object, got {_describe(data)}")
            build = by_tag.get(data.get("type"))
            if build is None:
                raise _Unfit(f"unknown type {data.get('type')!r}").inside("type")
            return build(data)

        return tagged
    options = [decoder(m) for m in rest]

    def first_fit(data: Any) -> Any:
        if data is None and optional:
            return None
        errors: list[_Unfit] = []
        for build in options:
            try:
                return build(data)
            except _Unfit as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise _Unfit(f"fits none of its types ({'; '.join(e.what for e in errors)})")

    return first_fit


def _list(item: Any, origin: Any) -> Decoder:
    build = decoder(item)
    into = set if origin is set else frozenset if origin is frozenset else list

    def check(data: Any) -> Any:
        if not isinstance(data, (list, tuple)):
            raise _Unfit(f"expected an array, got {_describe(data)}")
        out = []
        for index, value in enumerate(data):
            try:
                out.append(build(value))
            except _Unfit as exc:
                raise exc.inside(f"[{index}]") from None
        return out if into is list else into(out)

    return check


def _tuple(args: tuple[Any, ...]) -> Decoder:
    if len(args) == 2 and args[1] is Ellipsis:
        items = _list(args[0], list)
        return lambda data: tuple(items(data))
    builds = [decoder(a) for a in args]

    def check(data: Any) -> Any:
        if not isinstance(data, (list, tuple)) or len(data) != len(builds):
            raise _Unfit(f"expected an array of {len(builds)}, got {_describe(data)}")
        out = []
        for index, (build, value) in enumerate(zip(builds, data, strict=True)):
            try:
                out.append(build(value))
            except _Unfit as exc:
                raise exc.inside(f"[{index}]") from None
        return tuple(out)

    return check


def _dict(key: Any, value: Any) -> Decoder:
    keys, values = decoder(key), decoder(value)

    def check(data: Any) -> Any:
        if not isinstance(data, dict):
            raise _Unfit(f"expected an object, got {_describe(data)}")
        out = {}
        for k, v in data.items():
            try:
                out[keys(k)] = values(v)
            except _Unfit as exc:
                raise exc.inside(str(k)) from None
        return out

    return check


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


@functools.cache
def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cls)  # ty: ignore[invalid-argument-type]


def _taken_as_is(hint: Any) -> frozenset[type]:
    """The types of value a field of ``hint`` takes unchanged (checked by exact type,
    so ``True`` is no ``int``): the fast path of most fields of most values."""
    members = (
        typing.get_args(hint)
        if typing.get_origin(hint) in (typing.Union, types.UnionType)
        else (hint,)
    )
    exact = {str, int, bool, type(None)}
    if all(m in exact or m is None for m in members):
        return frozenset(type(None) if m is None else m for m in members)
    return frozenset()


def _dataclass(cls: type) -> Decoder:
    hints = _hints(cls)
    missing = dataclasses.MISSING
    fields = [
        (
            f.name,
            _taken_as_is(hints[f.name]),
            decoder(hints[f.name]),
            f.default is missing and f.default_factory is missing,
        )
        for f in _fields(cls)
        if f.init
    ]

    def check(data: Any) -> Any:
        if type(data) is not dict:
            if isinstance(data, cls):
                return data
            raise _Unfit(f"expected an object, got {_describe(data)}")
        values: dict[str, Any] = {}
        for name, as_is, build, required in fields:
            value = data.get(name, missing)
            if value is missing:
                if required:
                    raise _Unfit("missing").inside(name)
            elif type(value) in as_is:
                values[name] = value
            else:
                try:
                    values[name] = build(value)
                except _Unfit as exc:
                    raise exc.inside(name) from None
        return cls(**values)

    return check


def _pydantic(cls: type) -> Decoder:
    def check(data: Any) -> Any:
        if isinstance(data, cls):
            return data
        try:
            return cls.model_validate(data)  # ty: ignore[missing-attribute]
        except ValueError as exc:
            raise _Unfit(str(exc).splitlines()[-1]) from None

    return check
