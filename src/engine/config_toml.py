"""``cockpit.toml`` as text: pointing at the line behind an error, and writing values.

:mod:`engine.config` holds the schema and loads the file; this module turns tomllib's and
pydantic's errors into one line naming the key and the line of the text it sits on (a
best-effort scan, never a second parser that could fail), and quotes keys and strings
for code that writes to the file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.domain.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import ValidationError

_TOML_AT = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$", re.S)
_TOML_AT_END = re.compile(r"^(?P<msg>.*?)\s*\(at end of document\)$", re.S)


def describe_toml_error(message: str, text: str) -> str:
    """tomllib's error ``message`` for ``text`` as ``line L, column C: invalid TOML: ...``.

    The file's name is left for the caller to put in front.
    """
    # tomllib only exposes the position inside its message (lineno arrived in 3.14).
    message = " ".join(message.split())
    if match := _TOML_AT.match(message):
        return f"line {match['line']}, column {match['col']}: invalid TOML: {match['msg']}"
    if match := _TOML_AT_END.match(message):
        line = max(1, len(text.splitlines()))
        return f"line {line} (end of file): invalid TOML: {match['msg']}"
    return f"invalid TOML: {message}"


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The text of the TOML file at ``path`` and its tables; a file that is missing,
    unreadable, not UTF-8 or not TOML is one :class:`ConfigError` line naming it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no cockpit.toml at {path}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not valid UTF-8") from None
    return text, parse_toml(text, path)


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """The tables of TOML ``text`` read from ``path`` (``ConfigError`` when it is not TOML)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {describe_toml_error(str(exc), text)}") from None


def config_mistake(path: Path, text: str, loc: Sequence[int | str], problem: str) -> str:
    """One line for a value of the TOML ``text`` read from ``path`` that is wrong:
    ``PATH: KEY.PATH: problem (line N)``, the line found by scanning ``text``."""
    where = _format_loc(loc) or "(top level)"
    line = _find_line(text, loc)
    suffix = f" (line {line})" if line else ""
    return f"{path}: {where}: {problem}{suffix}"


_MSG_PREFIXES = ("Value error, ", "Assertion failed, ")


def describe_validation_error(exc: ValidationError, text: str, path: Path) -> str:
    """One line for a failed validation of the TOML ``text`` read from ``path``:
    ``PATH: KEY.PATH: problem (line N)``, the line found by scanning ``text``.
    """
    errors = exc.errors(include_url=False)
    # A misspelt key also makes the real one "missing"; the unknown key is the cause,
    # so report it first.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    # Pydantic appends "[key]" to the location of a bad dict key; the key itself is enough.
    loc = [part for part in error["loc"] if part != "[key]"]
    if error["type"] == "extra_forbidden":
        problem = "unknown key"
    else:
        problem = error["msg"]
        for prefix in _MSG_PREFIXES:
            problem = problem.removeprefix(prefix)
    return config_mistake(path, text, loc, " ".join(problem.split()))


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _format_loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if _BARE_KEY.match(part) else _toml_quote(part)
            out += f".{key}" if out else key
    return out


def _toml_quote(value: str) -> str:
    """A TOML basic string holding ``value``."""
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_key(value: str) -> str:
    """``value`` as a TOML key: bare when it can be, quoted otherwise (e.g. ``"my.repo"``)."""
    return value if _BARE_KEY.match(value) else _toml_quote(value)


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string, properly escaped."""
    return _toml_quote(value)


# --- best-effort line lookup -------------------------------------------------------------

_KEY_PART = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")
_HEADER = re.compile(r"^\s*(\[\[?)(.*?)\]\]?\s*(?:#.*)?$")


def _split_key(text: str) -> list[str] | None:
    """The parts of a dotted TOML key, or None when ``text`` is not one."""
    parts: list[str] = []
    pos = 0
    while True:
        match = _KEY_PART.match(text, pos)
        if match is None:
            return None
        raw = match.group(1)
        if raw is not None:
            try:
                raw = tomllib.loads(f'k = "{raw}"')["k"]
            except tomllib.TOMLDecodeError:
                return None
        parts.append(raw if raw is not None else match.group(2) or match.group(3))
        pos = match.end()
        if pos == len(text):
            return parts
        if text[pos] != ".":
            return None
        pos += 1


def _key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Map each table or key path defined in ``text`` to the line defining it.

    A plain scan rather than a parser: good enough to point at a line, and it never fails.
    """
    lines: dict[tuple[Any, ...], int] = {}
    arrays: dict[tuple[str, ...], int] = {}
    table: tuple[Any, ...] = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if header := _HEADER.match(line):
            parts = _split_key(header.group(2))
            if parts is None:
                continue
            if header.group(1) == "[[":
                arrays[tuple(parts)] = arrays.get(tuple(parts), 0) + 1
            table = _with_indexes(parts, arrays)
            lines.setdefault(table, number)
            continue
        if "=" not in line:
            continue
        key_text, _, value = line.partition("=")
        parts = _split_key(key_text)
        if parts is None:
            continue
        for n in range(1, len(parts) + 1):
            lines.setdefault((*table, *parts[:n]), number)
        for quote in ('"""', "'''"):
            if value.count(quote) % 2 == 1:
                in_multiline = quote
                break
    return lines


def _with_indexes(parts: list[str], arrays: dict[tuple[str, ...], int]) -> tuple[Any, ...]:
    # Inside an array of tables, a path refers to its latest element.
    out: list[Any] = []
    for n, part in enumerate(parts, start=1):
        out.append(part)
        count = arrays.get(tuple(parts[:n]))
        if count:
            out.append(count - 1)
    return tuple(out)


def _find_line(text: str, loc: Sequence[int | str]) -> int | None:
    """The line defining ``loc`` or its nearest defined parent, if a text scan finds one."""
    lines = _key_lines(text)
    for n in range(len(loc), 0, -1):
        found = lines.get(tuple(loc[:n]))
        if found is not None:
            return found
    return None
