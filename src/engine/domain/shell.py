"""Shell command lines taken apart for the guard, so quoting, ``&&``, ``;``, ``|``, new
lines, subshells, ``{ ...; }``, ``$(...)``, backticks, ``sh -c "..."``, wrappers
(``env``, ``xargs``, ``nohup``...), heredocs fed to a shell and ``find -exec`` do not
hide a command.

This is not a shell: it reads what a command line would run well enough to judge it,
erring towards seeing more commands (a string that merely looks like a command inside
``sh -c`` is judged as one).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

#: Shell operators, longest first (a run of punctuation is split into these).
OPERATORS = (
    *("<<<", "&>>"),
    *(";;", "&&", "||", "|&", ">>", ">|", "&>", "<>", ">&", "<&", "<<"),
    *(";", "&", "|", "(", ")", "<", ">", "\n"),
)
#: Redirection operators whose next token is a file.
REDIRECTS = {">", ">>", "<", ">|", "&>", "&>>", "<>", ">&", "<&"}
#: Programs that run their ``-c`` argument (or their standard input) as a command line.
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
#: Programs that run the rest of their words as a command.
WRAPPERS = {
    *("env", "nohup", "time", "nice", "timeout", "xargs", "exec", "command", "sudo", "doas"),
    *("stdbuf", "ionice", "setsid", "watch", "busybox"),
}
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
    #: The ``NAME=value`` words before the program (its environment).
    env: list[str] = field(default_factory=list)
    #: Text fed to its standard input by a heredoc or a here-string.
    stdin: str | None = None

    @property
    def program(self) -> str:
        """The program's name, without its folder ("" for none)."""
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""


class Unreadable(ValueError):
    """A command line the guard cannot take apart (unbalanced quotes, too deep)."""


#: What a substitution is replaced by before the words are read (the word stays).
SUBST = "__COCKPIT_SUBST_{}__"
#: What a heredoc's body is replaced by (after its ``<<``).
HEREDOC = "__COCKPIT_HEREDOC_{}__"
_HEREDOC_WORD = re.compile(r"__COCKPIT_HEREDOC_(\d+)__")


@dataclass
class _Heredoc:
    delimiter: str
    strip_tabs: bool  # `<<-`
    quoted: bool  # `<<'EOF'`: no substitutions run in the body
    body: str = ""


def _prepare(command: str) -> tuple[str, list[str], list[str]]:
    """``command`` made ready for the lexer, with what was taken out of it: line
    continuations joined, comments dropped, each substitution replaced by a placeholder
    word (its inside kept, to be read in turn) and each heredoc's body by a placeholder
    after its ``<<`` (the bodies kept)."""
    out: list[str] = []
    inner: list[str] = []
    bodies: list[str] = []
    waiting: list[_Heredoc] = []  # heredocs whose body starts at the next new line
    double = False  # inside double quotes
    i, n = 0, len(command)
    while i < n:
        c = command[i]
        if c == "\\":
            # `\` + new line continues the line; any other escaped character is kept.
            out.append("" if command.startswith("\n", i + 1) else command[i : i + 2])
            i += 2
        elif c == "'" and not double:
            end = command.find("'", i + 1)
            end = n if end == -1 else end + 1  # unbalanced: the lexer says so
            out.append(command[i:end])
            i = end
        elif c == '"':
            double = not double
            out.append(c)
            i += 1
        elif (c == "$" or (c in "<>" and not double)) and command.startswith("(", i + 1):
            end = _closing(command, i + 2)
            inner.append(command[i + 2 : end])
            out.append(SUBST.format(len(inner) - 1))
            i = end + 1
        elif c == "`":
            end = command.find("`", i + 1)
            end = n if end == -1 else end
            inner.append(command[i + 1 : end])
            out.append(SUBST.format(len(inner) - 1))
            i = end + 1
        elif double:
            out.append(c)
            i += 1
        elif c == "#" and (i == 0 or command[i - 1] in " \t\n;&|()"):
            # A comment runs to the end of the line (its new line still ends the command).
            end = command.find("\n", i)
            i = n if end == -1 else end
        elif command.startswith("<<<", i):
            out.append("<<<")
            i += 3
        elif command.startswith("<<", i):
            doc, i = _heredoc_start(command, i + 2)
            out.append(f"<< {HEREDOC.format(len(bodies) + len(waiting))} ")
            waiting.append(doc)
        elif c == "\n" and waiting:
            out.append(c)
            i += 1
            for doc in waiting:
                i = _heredoc_body(command, i, doc)
                bodies.append(doc.body)
                if not doc.quoted:
                    inner += _substitutions_in(doc.body)
            waiting = []
        else:
            out.append(c)
            i += 1
    bodies += [doc.body for doc in waiting]  # a heredoc with no body
    return "".join(out), inner, bodies


def _closing(text: str, i: int) -> int:
    """Where the ``)`` closing a ``$(`` whose inside starts at ``i`` is (quotes inside
    it are followed, so ``$(echo ")")`` ends at the right one)."""
    depth, quote, n = 1, "", len(text)
    while i < n:
        c = text[i]
        if c == "\\" and quote != "'":
            i += 2
            continue
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n


def _heredoc_start(text: str, i: int) -> tuple[_Heredoc, int]:
    """The heredoc whose ``<<`` ends at ``i`` (its delimiter word), and where it ends."""
    strip_tabs = text.startswith("-", i)
    i += strip_tabs
    while i < len(text) and text[i] in " \t":
        i += 1
    start = i
    while i < len(text) and text[i] not in " \t\n;&|()<>":
        if text[i] in "'\"":  # a quoted delimiter may hold anything up to its quote
            end = text.find(text[i], i + 1)
            i = len(text) if end == -1 else end + 1
        else:
            i += 1
    word = text[start:i]
    delimiter = word.replace("'", "").replace('"', "").replace("\\", "")
    return _Heredoc(delimiter, strip_tabs, quoted=word != delimiter), i


def _heredoc_body(text: str, i: int, doc: _Heredoc) -> int:
    """Read ``doc``'s body from ``i`` up to its delimiter line; where the text resumes."""
    lines: list[str] = []
    while i < len(text):
        end = text.find("\n", i)
        end = len(text) if end == -1 else end
        line = text[i:end]
        i = end + 1
        if (line.lstrip("\t") if doc.strip_tabs else line) == doc.delimiter:
            break
        lines.append(line)
    doc.body = "\n".join(lines)
    return min(i, len(text))


def _substitutions_in(body: str) -> list[str]:
    """The ``$(...)`` and backticks an unquoted heredoc's body runs (quotes in a body are
    plain characters, so only these are looked for)."""
    found: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("$(", i):
            end = _closing(body, i + 2)
            found.append(body[i + 2 : end])
            i = end + 1
        elif body[i] == "`":
            end = body.find("`", i + 1)
            end = len(body) if end == -1 else end
            found.append(body[i + 1 : end])
            i = end + 1
        else:
            i += 1
    return found


def _tokens(flat: str) -> list[str]:
    """The words and operators of a prepared command line."""
    lexer = shlex.shlex(flat, posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"  # a new line separates commands, like `;`
    lexer.whitespace_split = True
    lexer.commenters = ""  # comments are gone already (`#` inside a word is no comment)
    try:
        raw = list(lexer)
    except ValueError as exc:  # no closing quotation
        raise Unreadable(str(exc)) from None
    tokens: list[str] = []
    for token in raw:
        tokens += _operators(token) if token and set(token) <= _PUNCTUATION else [token]
    return tokens


_PUNCTUATION = set(";&|()<>\n")


def _operators(run: str) -> list[str]:
    """A run of punctuation (``&&(``, ``2>&1``'s ``>&``) split into operators."""
    found: list[str] = []
    while run:
        op = next((o for o in OPERATORS if run.startswith(o)), run[0])
        found.append(op)
        run = run[len(op) :]
    return found


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
        current.argv = argv = _drop_fd_words(argv)
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


def parse(command: str, depth: int = 0, feed: Simple | None = None) -> list[Simple]:
    """Every simple command ``command`` would run, in order, nested ones included.
    ``feed``: the command running this one (a wrapper, ``sh -c``), whose standard input
    the first command here reads."""
    if depth > MAX_DEPTH:
        raise Unreadable("commands nested too deep to read")
    flat, inner, bodies = _prepare(command)
    found = _Reader(bodies).read(_tokens(flat))
    if feed is not None and found:
        first = found[0]
        first.piped_from = first.piped_from or feed.piped_from
        first.stdin = feed.stdin if first.stdin is None else first.stdin
    nested: list[Simple] = []
    for text in inner:
        for simple in parse(text, depth + 1):
            simple.substituted = True
            nested.append(simple)
    for simple in list(found):
        script, fed = _script(simple)
        if script is None:
            continue
        for inner_simple in parse(script, depth + 1, simple if fed else None):
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


def _script(simple: Simple) -> tuple[str | None, bool]:
    """The command line ``simple`` runs in turn (``sh -c SCRIPT``, ``eval WORDS``,
    ``xargs CMD``, ``find -exec CMD``, a script fed to a shell), and whether that
    command line reads ``simple``'s standard input."""
    program = simple.program
    if program == "eval":
        return " ".join(simple.argv[1:]), True
    if program in WRAPPERS:
        return _wrapped(simple), True
    if program in SHELLS:
        return _shell_script(simple)
    if program == "find":
        return _find_exec(simple.argv), False
    return None, False


def _wrapped(simple: Simple) -> str | None:
    """The command a wrapper (``env``, ``nice -n 5``, ``timeout 30``...) runs."""
    program, rest = simple.program, simple.argv[1:]
    values = WRAPPER_VALUES.get(program, set())
    # The wrapper's own options come first; `env`'s assignments stay for the command.
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option == "--":
            break
        if option in values and rest:
            rest.pop(0)
    if program == "timeout" and rest:
        rest = rest[1:]  # the duration
    if program == "xargs" and rest and simple.piped_from is not None:
        rest += _fed_words(simple.piped_from)  # xargs adds its input's words to the command
    return shlex.join(rest) if rest else None


def _fed_words(source: Simple) -> list[str]:
    """The words ``source`` pipes into ``xargs``: what ``echo``/``printf`` print, or the
    folders ``find`` searches (what it finds is under them)."""
    if source.program == "find":
        return find_roots(source.argv)
    text = _fed_text(source)
    if text is None:
        return []
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: judge the plain words
        return text.split()


def find_roots(argv: list[str]) -> list[str]:
    """The folders ``find`` starts from (``.`` when none is given)."""
    args = argv[1:]
    while args and args[0] in ("-H", "-L", "-P"):
        args = args[1:]
    roots: list[str] = []
    for arg in args:
        if arg.startswith(("-", "(", "!")):
            break
        roots.append(arg)
    return roots or ["."]


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
    return (_fed_text(simple.piped_from) if simple.piped_from else None), False


def _fed_text(source: Simple) -> str | None:
    """The text ``echo``, ``printf`` or ``cat <<EOF`` pipes into the next command."""
    words = source.argv[1:]
    if source.program == "echo":
        while words and words[0] in ("-n", "-e", "-E", "-ne", "-en"):
            words = words[1:]
        return " ".join(words).replace("\\n", "\n")
    if source.program == "printf":
        return " ".join(words).replace("\\n", "\n")
    if source.program == "cat" and not words:
        return source.stdin
    return None


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
