"""A simple command's words as every rule reads them: short-option letters, option
values, operands, the program it runs in the end (``uv run pytest`` runs ``pytest``),
and the commands piped into it or reading its output."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import TypeVar, cast

from engine.guard.command import Simple
from engine.guard.interpreters import interpreter

T = TypeVar("T")


def _memo(s: Simple, key: str, work: Callable[[Simple], T]) -> T:
    """``work(s)``, worked out once for all the rules judging ``s``."""
    if key not in s.memo:
        s.memo[key] = work(s)
    return cast(T, s.memo[key])


def _short_flags(args: Iterable[str], takes_value: str = "") -> set[str]:
    """The letters of every short-option cluster (``-fu`` → f, u). A letter in
    ``takes_value`` ends its cluster and takes the next word too (``-m "-n"`` is a
    message, not ``-n``)."""
    letters: set[str] = set()
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--":
            break
        if not arg.startswith("-") or arg.startswith("--"):
            continue
        for k, letter in enumerate(arg[1:], 1):
            letters.add(letter)
            if letter in takes_value:
                skip = k == len(arg) - 1  # nothing attached: the value is the next word
                break
    return letters


def _option_values(args: list[str], short: str, long: str) -> list[str]:
    """The values given to an option: ``-o X``, ``-sSLo X``, ``-oX``, ``--output X``
    or ``--output=X``."""
    values: list[str] = []
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg == long:
            values.append(following)
        elif arg.startswith(f"{long}="):
            values.append(arg[len(long) + 1 :])
        elif short and arg.startswith("-") and not arg.startswith("--") and short in arg[1:]:
            values.append(arg[arg.index(short, 1) + 1 :] or following)
    return values


def _words(args: list[str], values: Iterable[str] = ()) -> list[str]:
    """The words of ``args`` that are not options (nor the values of ``values``)."""
    takes = set(values)
    found: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-") and arg != "-":
            skip = arg in takes
        else:
            found.append(arg)
    return found


def _operands(args: list[str]) -> list[str]:
    """The words that are not options (all of them after ``--``)."""
    if "--" in args:
        end = args.index("--")
        return [a for a in args[:end] if not a.startswith("-")] + args[end + 1 :]
    return [a for a in args if not a.startswith("-")]


def _starts(
    words: list[str], table: Mapping[str, AbstractSet[str]], program: str, depth: int = 1
) -> str:
    """The word among the first ``depth`` of ``words`` that ``table`` lists for
    ``program`` ("" for none)."""
    names = table.get(program, ())
    return next((w for w in words[:depth] if w in names), "")


#: Runners whose words are another program's command line (``npx``, ``uv run``...).
_RUNNERS = {"npx", "bunx", "pnpx", "uvx"}
_RUN_SUBCOMMANDS = {
    "uv": {"run", "tool"},
    "pipx": {"run"},
    "poetry": {"run"},
    "pipenv": {"run"},
    "pdm": {"run"},
    "hatch": {"run"},
    "rye": {"run"},
    "pnpm": {"dlx", "exec"},
    "yarn": {"dlx", "exec"},
    "npm": {"exec", "x"},
    "bundle": {"exec"},
}
_RUNNER_VALUES = {"-p", "--package", "--with", "--python", "--from", "-c", "--call"}


def _program(s: Simple) -> tuple[str, list[str]]:
    """The program ``s`` runs in the end, and its arguments (see :func:`_final`)."""
    return _memo(s, "program", _final)


def _final(s: Simple) -> tuple[str, list[str]]:
    """The program ``s`` runs in the end and its arguments: ``python -m twine upload``
    is ``twine upload``, ``npx semantic-release`` is ``semantic-release``, ``uv run
    pytest`` is ``pytest``."""
    program, args = s.program, s.argv[1:]
    for _ in range(4):
        if interpreter(program) == "python":
            k = 0
            while k < len(args) and args[k].startswith("-") and args[k][1:2] not in ("m", "c"):
                k += 1
            if k >= len(args) or not args[k].startswith("-m"):
                break
            module = args[k][2:] or (args[k + 1] if k + 1 < len(args) else "")
            program, args = module, args[k + 1 :] if args[k][2:] else args[k + 2 :]
            continue
        runner = program in _RUNNERS
        if not runner and not (args[:1] and args[0] in _RUN_SUBCOMMANDS.get(program, ())):
            break
        rest = args if runner else args[1:]
        if program == "uv" and args[:1] == ["tool"]:
            if rest[:1] != ["run"]:
                break
            rest = rest[1:]
        k = 0
        while k < len(rest) and rest[k].startswith("-"):
            if rest[k] == "--":
                k += 1
                break
            k += 2 if rest[k] in _RUNNER_VALUES else 1
        rest = rest[k:]
        if not rest:
            break
        name = rest[0].rsplit("/", 1)[-1]  # a path, or a scoped package (@scope/name)
        program, args = name.split("@", 1)[0] if not name.startswith("@") else name, rest[1:]
    return program, args


def _consumers(commands: list[Simple], s: Simple) -> list[Simple]:
    """The commands reading ``s``'s output through pipes, nearest first."""
    found: list[Simple] = []
    current = s
    while True:
        following = next((c for c in commands if c.piped_from is current), None)
        if following is None:
            return found
        found.append(current := following)


def _upstream(s: Simple) -> Iterable[Simple]:
    source = s.piped_from
    while source is not None:
        yield source
        source = source.piped_from


_EXEC_VALUES = {
    *("-e", "--env", "-u", "--user", "-w", "--workdir", "-c", "--container", "-n"),
    *("--namespace", "--context", "--env-file", "--index"),
}
_CONTAINER_CLIS = {"docker", "podman", "nerdctl", "docker-compose", "podman-compose"}


def _exec_inside(
    program: str, args: list[str], kubectl: AbstractSet[str] = frozenset({"kubectl", "oc"})
) -> list[str] | None:
    """The command ``docker exec``, ``docker compose exec`` or ``kubectl exec`` runs in
    a container (its words), or None."""
    if program not in _CONTAINER_CLIS and program not in kubectl:
        return None
    if args[:1] == ["compose"] or program.endswith("-compose"):
        args = args[1:] if args[:1] == ["compose"] else args
        while args and args[0].startswith("-"):  # compose's own options (-f FILE, -p NAME)
            args = args[2:] if args[0] in ("-f", "--file", "-p", "--project-name") else args[1:]
    if args[:1] != ["exec"]:
        return None
    rest = args[1:]
    if "--" in rest:
        inner = rest[rest.index("--") + 1 :]
    else:
        words = _words(rest, _EXEC_VALUES)
        inner = rest[rest.index(words[0]) + 1 :] if words else []
    return inner or None
