"""The prompt bar's ``/`` commands: parsing and completion (no widgets here)."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from engine.domain.errors import BadInput

#: name → (usage, what it does). The order is the order of the help and the completion.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ('/run REPO "TASK" [--agent P] [--scenario F] [--skill S]', "start an agent run"),
    "steer": ("/steer RUN MESSAGE", "send a steering message to a run"),
    "cancel": ("/cancel [RUN]", "cancel a run (default: the focused one)"),
    "resume": ("/resume [RUN]", "resume an interrupted or failed run"),
    "review": ("/review [RUN]", "review a run's diff: accept, reject, comment, approve"),
    "inbox": ("/inbox", "open the inbox of what needs you"),
    "guard": ("/guard [RUN]", "the guard's ledger of a run; o overrides a refusal"),
    "skills": ("/skills [RUN|REPO]", "the skills a run loaded and those it could load"),
    "theme": ("/theme NAME", "switch the colour theme (remembered)"),
    "help": ("/help", "show every key binding"),
    "quit": ("/quit", "leave the cockpit (runs keep going in the engine)"),
}

_NO_ARGS = {"inbox", "help", "quit"}
_RUN_OPTIONS = {"--agent": "agent", "--scenario": "scenario", "--skill": "skill"}


@dataclass
class SlashCommand:
    """A parsed ``/`` command."""

    name: str
    args: list[str] = field(default_factory=list)
    agent: str | None = None
    scenario: str | None = None
    skills: list[str] = field(default_factory=list)


def parse(text: str) -> SlashCommand:
    """Parse ``/name args…`` (shell-style quoting); raises BadInput with the usage."""
    body = text.strip().removeprefix("/")
    try:
        words = shlex.split(body)
    except ValueError as exc:
        if body.count('"') % 2:
            raise BadInput(f"cannot parse the command: {exc}") from None
        # An unquoted apostrophe ("fix the user's bug") is prose, not shell quoting.
        words = body.split()
    if not words:
        raise BadInput("type a command after '/', e.g. /help")
    name, rest = words[0].lower(), words[1:]
    if name not in COMMANDS:
        known = ", ".join(f"/{n}" for n in COMMANDS)
        raise BadInput(f"unknown command /{name} (known: {known})")
    command = SlashCommand(name)
    if name == "run":
        _parse_run(command, rest)
    elif name == "steer":
        # The message is the text after the run id as typed; one quoted string is unquoted.
        parts = body.split(None, 2)
        if len(parts) < 3:
            raise BadInput(f"usage: {COMMANDS['steer'][0]}")
        message = parts[2]
        with contextlib.suppress(ValueError):
            tokens = shlex.split(message)
            if len(tokens) == 1:
                message = tokens[0]
        command.args = [parts[1], message]
    elif name == "theme":
        if len(rest) != 1:
            raise BadInput(f"usage: {COMMANDS['theme'][0]}")
        command.args = rest
    elif name in _NO_ARGS:
        if rest:
            raise BadInput(f"usage: {COMMANDS[name][0]}")
    else:
        if len(rest) > 1:
            raise BadInput(f"usage: {COMMANDS[name][0]}")
        command.args = rest
    return command


def _parse_run(command: SlashCommand, words: list[str]) -> None:
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in _RUN_OPTIONS:
            if i + 1 >= len(words):
                raise BadInput(f"{word} needs a value")
            value = words[i + 1]
            if word == "--agent":
                command.agent = value
            elif word == "--scenario":
                command.scenario = value
            else:
                command.skills.append(value)
            i += 2
            continue
        positional.append(word)
        i += 1
    if len(positional) < 2:
        raise BadInput(f"usage: {COMMANDS['run'][0]}")
    command.args = [positional[0], " ".join(positional[1:])]


def complete(text: str, candidates: Callable[[str], Iterable[str]]) -> str | None:
    """The completed prompt for ``text``, or None.

    ``candidates(kind)`` lists names of a kind: ``repo``, ``run``, ``target`` (a run or
    a repo), ``theme``, ``agent``, the first one offered first (the app puts the selection
    first: ``/skills`` + tab completes the highlighted run). Completes the command name,
    then its first argument.
    """
    if not text.startswith("/"):
        return None
    head, sep, tail = text[1:].partition(" ")
    if not sep:
        for name in COMMANDS:
            if name.startswith(head.lower()) and name != head:
                return f"/{name}"
        return None
    kind = {
        "run": "repo",
        "steer": "run",
        "cancel": "run",
        "resume": "run",
        "review": "run",
        "guard": "run",
        "skills": "target",
        "theme": "theme",
    }.get(head)
    if kind is None or " " in tail:
        if head == "run" and tail.endswith("--agent "):
            first = next(iter(candidates("agent")), None)
            return text + first if first else None
        return None
    for name in candidates(kind):
        if name.startswith(tail) and name != tail:
            return f"/{head} {name}"
    return None
