"""Shell command lines taken apart for the guard, so quoting, ``&&``, ``;``, ``|``, new
lines, subshells, ``{ ...; }``, ``$(...)``, backticks, ``sh -c "..."``, wrappers
(``env``, ``xargs``, ``nohup``...), heredocs fed to a shell and ``find -exec`` do not
hide a command. Inline code (``python -c``, ``node -e``, ``perl -e``, a heredoc fed to an
interpreter) is read too: the command lines it runs become commands, and the paths it
plainly deletes or writes are noted (:class:`Code`).

This is not a shell: it reads what a command line would run well enough to judge it,
erring towards seeing more commands (a string that merely looks like a command inside
``sh -c`` is judged as one).

The words come from :mod:`engine.guard.lexer`; inline code is read by
:mod:`engine.guard.interpreters`.
"""

from __future__ import annotations

import re
import shlex

from engine.guard.command import SUBST, Simple, Unreadable, fed_text, find_roots
from engine.guard.interpreters import interpreter, read_code
from engine.guard.lexer import _HEREDOC_WORD, OPERATORS, REDIRECTS, _prepare, _tokens

#: Programs that run their ``-c`` argument (or their standard input) as a command line.
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
#: Programs that run the rest of their words as a command.
WRAPPERS = {
    *("env", "nohup", "time", "nice", "timeout", "xargs", "exec", "command", "sudo", "doas"),
    *("stdbuf", "ionice", "setsid", "watch", "busybox", "flock", "chronic", "unbuffer"),
    *("caffeinate", "taskset", "chrt", "faketime", "strace", "ltrace", "xvfb-run", "gtimeout"),
    *("dbus-run-session", "fakeroot", "torsocks", "proxychains", "proxychains4", "catchsegv"),
    *("corepack", "cross-env", "script", "firejail", "unshare"),
}
#: Wrappers whose first operand is theirs (a lock file, a CPU mask, a priority, a time).
WRAPPER_OPERAND = {"flock", "taskset", "chrt", "faketime", "timeout", "gtimeout"}
#: Wrappers given the command as one string (``watch 'git status'``, ``script -c CMD``).
WRAPPER_LINE = {"watch", "script", "flock"}
#: Tools running the command after their ``--`` (with secrets in its environment).
DASHDASH_RUNNERS = {"op", "doppler", "infisical", "aws-vault", "dotenv", "dotenvx", "sops"}
#: A wrapper's options that take the next word as their value (``nice -n 10 CMD``).
WRAPPER_VALUES = {
    "env": {"-u", "--unset", "-C", "--chdir"},
    "nice": {"-n", "--adjustment"},
    "timeout": {"-s", "--signal", "-k", "--kill-after"},
    "xargs": {"-I", "-n", "-P", "-L", "-d", "-E", "-s", "-a", "--max-args", "--max-procs"},
    "sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "--user", "--group"},
    "doas": {"-u", "-C"},
    "time": {"-f", "-o", "--format", "--output"},
    "exec": {"-a"},
    "ionice": {"-c", "-n", "-p", "--class", "--classdata"},
    "watch": {"-n", "--interval"},
    "stdbuf": {"-i", "-o", "-e"},
    "flock": {"-w", "--wait", "--timeout", "-E", "--conflict-exit-code"},
    "strace": {"-o", "-e", "-p", "-s", "-u", "-E", "-P", "-I", "-a", "-b", "-O", "-S", "-X"},
    "ltrace": {"-o", "-e", "-p", "-s", "-u", "-n", "-a"},
    "xvfb-run": {"-n", "-s", "-e", "-f", "-p", "--server-args", "--server-num"},
    "caffeinate": {"-w", "-t"},
    "unbuffer": {"-p"},
    "gtimeout": {"-s", "--signal", "-k", "--kill-after"},
}
#: Words that open or close a compound command where a program's name would be.
RESERVED = {"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until"}
RESERVED |= {"esac", "function"}  # `function NAME {`: the name goes too
#: Builtins whose ``NAME=value`` arguments set shell variables.
DECLARERS = {"export", "local", "readonly", "declare", "typeset"}
#: A leading ``NAME=value`` word.
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
#: ``$NAME`` or ``${NAME}`` in a word.
VARIABLE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")
#: Depth of ``sh -c`` / ``$(...)`` nesting read (deeper is judged as unreadable).
MAX_DEPTH = 8
#: Words one word may expand to through ``for`` variables (``$a$a$a`` multiplies).
MAX_EXPANSION = 256


class _Reader:
    """Groups tokens into simple commands, following ``cd`` (and ``pushd``/``popd``),
    restoring the directory when a ``( ... )`` subshell ends, and expanding the variables
    the command line itself assigned (``d=/srv; rm -rf $d``, ``for d in ../*; do``)."""

    def __init__(self, bodies: list[str]) -> None:
        self.bodies = bodies
        self.found: list[Simple] = []
        self.current = Simple([])
        self.previous: Simple | None = None
        self.pipe_next = False
        self.cwd: str | None = None
        self.subshells: list[str | None] = []  # the directory at each open `(`
        self.pushed: list[str | None] = []  # pushd's stack
        self.pending: str | None = None  # a redirection waiting for its word
        self.variables: dict[str, list[str]] = {}  # a `for` variable takes each word

    def read(self, tokens: list[str]) -> list[Simple]:
        for token in tokens:
            if self.pending is not None:
                for word in self._expand(token):
                    self._redirect(self.pending, word)
                self.pending = None
            elif token in REDIRECTS or token in ("<<", "<<<"):
                self.pending = token
            elif token in OPERATORS:
                self._separator(token)
            else:
                # Expanded as read: in `d=/x rm $d`, `$d` is still the old value.
                self.current.argv += self._expand(token)
        self._close()
        return self.found

    def _expand(self, word: str) -> list[str]:
        """``word`` with the known variables replaced: a word per value of a ``for``
        variable (unknown variables stay as written)."""
        if "$" not in word or not self.variables:
            return [word]
        known = (m for m in VARIABLE.finditer(word) if (m[1] or m[2]) in self.variables)
        found = next(known, None)
        if found is None:
            return [word]
        head, values = word[: found.start()], self.variables[found[1] or found[2]]
        # Only the rest is expanded again: a value naming a variable is not a loop.
        rests = self._expand(word[found.end() :])
        return [head + value + rest for value in values for rest in rests][:MAX_EXPANSION]

    def _redirect(self, operator: str, word: str) -> None:
        current = self.current
        if operator == "<<":
            body = _HEREDOC_WORD.fullmatch(word)
            current.stdin = self.bodies[int(body[1])] if body else None
        elif operator == "<<<":
            current.stdin = word
        elif operator in ("<", "<>"):
            current.reads.append(word)
        # `2>&1` and `>&2` duplicate descriptors: no file is written.
        elif not word.isdigit() and word != "-":
            current.writes.append(word)

    def _separator(self, token: str) -> None:
        self._close()
        self.pipe_next = token in ("|", "|&")
        if token == "(":
            self.subshells.append(self.cwd)
        elif token == ")" and self.subshells:
            self.cwd = self.subshells.pop()  # a subshell's `cd` ends with it

    def _close(self) -> None:
        current = self.current
        argv = current.argv
        # `FOO=1 cmd`, `{ cmd; }`, `then cmd`: only what follows is the program.
        while argv and (argv[0] in RESERVED or ASSIGNMENT.match(argv[0])):
            word = argv.pop(0)
            if word == "function" and argv:
                argv.pop(0)
            elif word not in RESERVED:
                current.env.append(word)
        self._assign(current)
        if current.argv or current.writes or current.reads:
            current.cwd = self.cwd  # a `cd`'s own folder is relative to where it runs
            self._follow_cd(current.argv)
            if self.pipe_next:
                current.piped_from = self.previous
            self.found.append(current)
            self.previous = current
        self.pipe_next = False
        self.current = Simple([])

    def _assign(self, current: Simple) -> None:
        """``d=/x`` alone or ``export d=/x`` sets a variable for the commands after it;
        ``for d in A B`` sets it to each of its words."""
        argv = current.argv
        if not argv or argv[0] in DECLARERS:
            assigned = current.env if not argv else [a for a in argv if ASSIGNMENT.match(a)]
            for word in assigned:
                name, value = word.split("=", 1)
                self.variables[name] = [value]
        elif argv[0] == "for" and argv[2:3] == ["in"] and len(argv) > 3:
            self.variables[argv[1]] = argv[3:]

    def _follow_cd(self, argv: list[str]) -> None:
        if not argv or argv[0] not in ("cd", "pushd", "popd"):
            return
        if argv[0] == "popd":
            self.cwd = self.pushed.pop() if self.pushed else self.cwd
            return
        folders = [a for a in argv[1:] if not a.startswith("-") or a == "-"]
        if argv[0] == "pushd":
            self.pushed.append(self.cwd)
        if folders or argv[0] == "cd":
            self.cwd = _join(self.cwd, folders[0] if folders else "~")


def parse(
    command: str,
    depth: int = 0,
    feed: Simple | None = None,
    originals: dict[str, str] | None = None,
) -> list[Simple]:
    """Every simple command ``command`` would run, in order, nested ones included.
    ``feed``: the command running this one (a wrapper, ``sh -c``), whose standard input
    the first command here reads."""
    if depth > MAX_DEPTH:
        raise Unreadable("commands nested too deep to read")
    originals = {} if originals is None else originals
    flat, inner, bodies = _prepare(command, originals)
    found = _Reader(bodies).read(_tokens(flat))
    if feed is not None and found:
        first = found[0]
        first.piped_from = first.piped_from or feed.piped_from
        first.stdin = feed.stdin if first.stdin is None else first.stdin
    for simple in found:
        simple.substitutions = originals
        if interpreter(simple.program):
            simple.code = read_code(simple)
    nested: list[Simple] = []
    for text in inner:
        for simple in parse(text, depth + 1, None, originals):
            simple.substituted = True
            nested.append(simple)
    for simple in list(found):
        script, fed = _script(simple)
        if script is None:
            continue
        for inner_simple in parse(script, depth + 1, simple if fed else None, originals):
            inner_simple.cwd = (
                _join(simple.cwd, inner_simple.cwd) if inner_simple.cwd else simple.cwd
            )
            nested.append(inner_simple)
    return found + nested


def _script(simple: Simple) -> tuple[str | None, bool]:
    """The command line ``simple`` runs in turn (``sh -c SCRIPT``, ``eval WORDS``,
    ``xargs CMD``, ``find -exec CMD``, a script fed to a shell), and whether that
    command line reads ``simple``'s standard input."""
    program = simple.program
    if program == "eval":
        return " ".join(simple.argv[1:]), True
    if program in WRAPPERS:
        return _wrapped(simple), True
    if program in DASHDASH_RUNNERS and "--" in simple.argv:
        return shlex.join(simple.argv[simple.argv.index("--") + 1 :]), True
    if program == "direnv" and simple.argv[1:2] == ["exec"]:
        return shlex.join(simple.argv[3:]), True
    if program in SHELLS:
        return _shell_script(simple)
    if program == "find":
        return _find_exec(simple.argv), False
    if simple.code is not None and simple.code.commands:
        return "\n".join(simple.code.commands), False
    return None, False


def _wrapped(simple: Simple) -> str | None:
    """The command a wrapper (``env``, ``nice -n 5``, ``timeout 30``...) runs."""
    program, rest = simple.program, simple.argv[1:]
    values = WRAPPER_VALUES.get(program, set())
    if program in WRAPPER_LINE and program != "watch":
        # `flock FILE -c CMD`, `script -q /dev/null -c CMD`: a command line, wherever it is.
        given = next((i for i, a in enumerate(rest[:-1]) if a in ("-c", "--command")), None)
        if given is not None:
            return rest[given + 1]
    # The wrapper's own options come first; `env`'s assignments stay for the command.
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option == "--":
            break
        if option in values and rest:
            rest.pop(0)
    if program in WRAPPER_OPERAND and rest:
        rest = rest[1:]  # the duration, the lock file, the mask
    if program == "xargs" and rest:
        rest += _xargs_words(simple)  # xargs adds its input's words to the command
    if program == "script":
        return None  # no -c: a shell recorded to the file named
    if program == "watch":
        return " ".join(rest) or None  # watch runs its words through `sh -c`
    return shlex.join(rest) if rest else None


def _xargs_words(simple: Simple) -> list[str]:
    """The words ``xargs`` adds to its command: those piped in when they can be known;
    a placeholder standing for a list file's words (``xargs -a list``, ``< list``,
    ``cat list |``), which cannot."""
    source = simple.piped_from
    listed = [a[len("--arg-file=") :] for a in simple.argv if a.startswith("--arg-file=")]
    for i, arg in enumerate(simple.argv[:-1]):
        if arg in ("-a", "--arg-file"):
            listed.append(simple.argv[i + 1])
    listed += simple.reads
    if source is not None and source.program == "cat" and len(source.argv) > 1:
        listed += source.argv[1:]
    elif source is not None:
        return _fed_words(source)
    if not listed:
        return []
    word = SUBST.format(len(simple.substitutions))
    simple.substitutions[word] = f"$(cat {shlex.join(listed)})"
    return [word]


def _fed_words(source: Simple) -> list[str]:
    """The words ``source`` pipes into ``xargs``: what ``echo``/``printf`` print, or the
    folders ``find`` searches (what it finds is under them)."""
    if source.program == "find":
        return find_roots(source.argv)
    text = fed_text(source)
    if text is None:
        return []
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: judge the plain words
        return text.split()


def _shell_script(simple: Simple) -> tuple[str | None, bool]:
    """What a shell runs: its ``-c`` argument, or the script on its standard input
    (``bash <<EOF``, ``echo CMD | sh``) when it is given no script file."""
    argv = simple.argv
    for i, arg in enumerate(argv[1:], 1):
        if arg.startswith("-") and "c" in arg[1:] and not arg.startswith("--"):
            return (argv[i + 1] if i + 1 < len(argv) else None), True
    if "-s" not in argv and any(not a.startswith(("-", "+")) for a in argv[1:]):
        return None, False  # `bash script.sh`: the script is a file, stdin is its data
    if simple.stdin is not None:
        return simple.stdin, False
    return (fed_text(simple.piped_from) if simple.piped_from else None), False


def _find_exec(argv: list[str]) -> str | None:
    """The commands ``find ... -exec CMD {} \\;`` runs (one line each)."""
    commands: list[str] = []
    for i, word in enumerate(argv):
        if word in ("-exec", "-execdir", "-ok", "-okdir"):
            rest = argv[i + 1 :]
            end = next((j for j, w in enumerate(rest) if w in ("+", ";")), len(rest))
            commands.append(shlex.join(rest[:end]))
    return "\n".join(commands) or None


def _join(cwd: str | None, path: str) -> str:
    if path.startswith(("/", "~", "$")) or cwd is None:
        return path
    return f"{cwd.rstrip('/')}/{path}"
