"""Shell command lines taken apart for the guard, so quoting, ``&&``, ``;``, ``|``,
subshells, ``$(...)``, backticks and ``sh -c "..."`` do not hide a command.

This is not a shell: it reads what a command line would run well enough to judge it,
erring towards seeing more commands (a string that merely looks like a command inside
``sh -c`` is judged as one).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

#: Tokens that end one simple command.
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "\n", ";;", "|&"}
#: Redirection operators whose next token is a file.
REDIRECTS = {">", ">>", "<", ">|", "&>", "&>>", "<>"}
#: Programs that run their ``-c`` argument as a command line.
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
#: Programs that run the rest of their words as a command.
WRAPPERS = {"env", "nohup", "time", "nice", "timeout", "xargs", "exec", "command", "sudo", "doas"}
#: A leading ``NAME=value`` word.
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
#: Depth of ``sh -c`` / ``$(...)`` nesting read (deeper is judged as unreadable).
MAX_DEPTH = 8


@dataclass
class Simple:
    """One simple command: its words, where its output goes, and how it was reached."""

    argv: list[str]
    #: Files written by ``>``/``>>`` (and read by ``<``), as written.
    writes: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    #: The working directory it runs in, as tracked through ``cd`` (None: the start).
    cwd: str | None = None
    #: The command whose output is piped into this one.
    piped_from: Simple | None = None
    #: It runs inside ``$(...)``, backticks or ``<(...)`` (its output becomes words).
    substituted: bool = False

    @property
    def program(self) -> str:
        """The program's name, without its folder ("" for none)."""
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""


class Unreadable(ValueError):
    """A command line the guard cannot take apart (unbalanced quotes, too deep)."""


#: What a substitution is replaced by before the words are read (the word stays).
SUBST = "__COCKPIT_SUBST_{}__"


def lift_substitutions(command: str) -> tuple[str, list[str]]:
    """``command`` with each ``$(...)``, ``<(...)``, ``>(...)`` and backtick replaced by a
    placeholder word, and their insides (single quotes stop them; double quotes do not)."""
    inner: list[str] = []
    out: list[str] = []
    i, n = 0, len(command)
    while i < n:
        c = command[i]
        if c == "'":
            end = command.find("'", i + 1)
            end = n if end == -1 else end + 1
            out.append(command[i:end])
            i = end
            continue
        if c in "$<>" and command.startswith("(", i + 1):
            depth, j = 1, i + 2
            while j < n and depth:
                depth += {"(": 1, ")": -1}.get(command[j], 0)
                j += 1
            inner.append(command[i + 2 : j - 1])
            out.append(SUBST.format(len(inner) - 1))
            i = j
            continue
        if c == "`":
            end = command.find("`", i + 1)
            end = n if end == -1 else end
            inner.append(command[i + 1 : end])
            out.append(SUBST.format(len(inner) - 1))
            i = end + 1
            continue
        out.append(c)
        i += 1
    return "".join(out), inner


def parse(command: str, depth: int = 0) -> list[Simple]:
    """Every simple command ``command`` would run, in order, nested ones included."""
    if depth > MAX_DEPTH:
        raise Unreadable("commands nested too deep to read")
    flat, inner = lift_substitutions(command)
    lexer = shlex.shlex(flat, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError as exc:  # no closing quotation
        raise Unreadable(str(exc)) from None
    found: list[Simple] = []
    current = Simple([])
    previous: Simple | None = None
    pipe_next = False
    cwd: str | None = None
    pending: str | None = None  # a redirection waiting for its file

    def close() -> None:
        nonlocal current, previous, pipe_next
        # `FOO=1 cmd`: the assignments are not the program.
        while current.argv and ASSIGNMENT.match(current.argv[0]):
            current.argv.pop(0)
        if current.argv or current.writes or current.reads:
            current.cwd = cwd
            if pipe_next:
                current.piped_from = previous
            found.append(current)
            previous = current
        pipe_next = False
        current = Simple([])

    for token in tokens:
        if pending is not None:
            (current.reads if pending in ("<", "<>") else current.writes).append(token)
            pending = None
        elif token in REDIRECTS or token in (">&", "<&"):
            pending = token
        elif set(token) <= set(";&|()\n"):
            close()
            pipe_next = token in ("|", "|&")
        else:
            current.argv.append(token)
            if current.argv[0] == "cd" and len(current.argv) == 2:
                cwd = _join(cwd, token)
    close()
    for simple in found:
        # `2>&1` and `>&2` duplicate descriptors: no file is written.
        simple.writes = [w for w in simple.writes if not w.isdigit() and w != "-"]
        simple.argv = _drop_fd_words(simple.argv)
    nested: list[Simple] = []
    for text in inner:
        for simple in parse(text, depth + 1):
            simple.substituted = True
            nested.append(simple)
    for simple in list(found):
        script = _shell_script(simple)
        if script is not None:
            for inner_simple in parse(script, depth + 1):
                inner_simple.cwd = (
                    _join(simple.cwd, inner_simple.cwd) if inner_simple.cwd else simple.cwd
                )
                nested.append(inner_simple)
    return found + nested


def substituted_words(simple: Simple) -> list[int]:
    """Positions in ``simple.argv`` of words that are a substitution's output."""
    return [i for i, word in enumerate(simple.argv) if "__COCKPIT_SUBST_" in word]


def _drop_fd_words(argv: list[str]) -> list[str]:
    """``cmd 2`` left over from ``cmd 2>&1`` (the descriptor before a redirection)."""
    return argv[:-1] if len(argv) > 1 and argv[-1].isdigit() and len(argv[-1]) == 1 else argv


def _shell_script(simple: Simple) -> str | None:
    """The command line ``sh -c SCRIPT`` / ``eval WORDS`` / ``xargs sh -c`` would run."""
    argv = simple.argv
    if not argv:
        return None
    program = simple.program
    if program in ("eval",):
        return " ".join(argv[1:])
    if program in WRAPPERS:
        rest = argv[1:]
        # The wrapper's own options and assignments come first; the command after them.
        while rest and (rest[0].startswith("-") or ASSIGNMENT.match(rest[0])):
            rest = rest[1:]
        if program == "timeout" and rest:
            rest = rest[1:]  # the duration
        return shlex.join(rest) if rest else None
    if program in SHELLS:
        for i, arg in enumerate(argv[1:], 1):
            if arg.startswith("-") and "c" in arg[1:] and not arg.startswith("--"):
                return argv[i + 1] if i + 1 < len(argv) else None
    return None


def _join(cwd: str | None, path: str) -> str:
    if path.startswith(("/", "~", "$")) or cwd is None:
        return path
    return f"{cwd.rstrip('/')}/{path}"
