"""What the shell reader makes of a command line: each simple command (:class:`Simple`)
with its words, redirections and the folder it runs in, the program an interpreter runs
inline (:class:`Code`), and what can be known of a command's output without running it
(:func:`fed_text`, :func:`find_roots`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


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
    #: What each substitution placeholder in its words stood for (``$(...)`` as written),
    #: shared by every command of one command line.
    substitutions: dict[str, str] = field(default_factory=dict, repr=False)
    #: The program an interpreter runs inline (``python -c``, ``node -e``, a heredoc).
    code: Code | None = None
    #: What the guard's rules worked out about this command, kept while it is judged.
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)
    _named: tuple[str, str] = field(default=("", ""), repr=False, compare=False)

    @property
    def program(self) -> str:
        """The program's name, without its folder ("" for none)."""
        first = self.argv[0] if self.argv else ""
        if first is not self._named[0]:  # every rule asks: worked out once per word
            self._named = (first, first.rsplit("/", 1)[-1])
        return self._named[1]

    def shown(self, text: str) -> str:
        """``text`` (a word of this command) as written: each substitution placeholder
        put back as the ``$(...)`` it stands for."""
        if not substituted(text):
            return text
        return _PLACEHOLDER.sub(lambda m: self.substitutions.get(m[0], "$(...)"), text)


class Unreadable(ValueError):
    """A command line the guard cannot take apart (unbalanced quotes, too deep)."""


#: What a substitution is replaced by before the words are read (the word stays).
SUBST = "__COCKPIT_SUBST_{}__"
_MARK = SUBST.split("{", 1)[0]
_PLACEHOLDER = re.compile(re.escape(_MARK) + r"\d+__")  # numbered once per command line


def substituted(word: str) -> bool:
    """Whether ``word`` holds a substitution's output (``$(...)``, backticks): what it
    will be cannot be known before the command runs. Rules ask this, never the
    placeholder's text."""
    return _MARK in word


@dataclass
class Code:
    """A program an interpreter runs inline, and what it plainly does: the command lines
    it runs (``os.system("...")``, ``execSync('...')``, backticks), the paths it deletes
    and writes (literal first arguments of ``shutil.rmtree``, ``open(..., "w")``,
    ``fs.rmSync``, ``unlink``...), and whether it runs, deletes or writes something
    whose name it computes (so it cannot be told from the text)."""

    language: str
    text: str
    #: The interpreter's words after the code (``sys.argv``, ``process.argv``).
    args: list[str]
    commands: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    #: It runs a command it builds (no literal, an f-string, a template).
    runs_unknown: bool = False
    #: It deletes or writes files (whatever their names).
    touches_files: bool = False


#: A brace list in a word (``{a,b}``), innermost first; ``{}`` and ``{1..9}`` are not.
_BRACES = re.compile(r"\{([^{}\s]*,[^{}\s]*)\}")
#: Words one word may expand to through brace lists.
MAX_BRACES = 64


def braces(word: str) -> list[str]:
    """``word`` with its brace lists expanded as the shell does (``/{etc,usr}`` is
    ``/etc`` and ``/usr``): the words a path argument stands for."""
    if "{" not in word or "," not in word:
        return [word]
    match = _BRACES.search(word)
    if match is None:
        return [word]
    found: list[str] = []
    for choice in match[1].split(","):
        found += braces(word[: match.start()] + choice + word[match.end() :])
        if len(found) >= MAX_BRACES:
            break
    return found[:MAX_BRACES]


def substituted_words(simple: Simple) -> list[int]:
    """Positions in ``simple.argv`` of words that are a substitution's output."""
    return [i for i, word in enumerate(simple.argv) if substituted(word)]


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


def fed_text(source: Simple) -> str | None:
    """The text ``echo``, ``printf`` or ``cat <<EOF`` pipes into the next command
    (``\\n``, ``\\xHH`` and octal escapes decoded, as ``printf`` and ``echo -e`` do)."""
    words = source.argv[1:]
    if source.program == "echo":
        while words and words[0] in ("-n", "-e", "-E", "-ne", "-en"):
            words = words[1:]
        return _unescape(" ".join(words))
    if source.program == "printf":
        return _unescape(" ".join(words))
    if source.program == "cat" and not words:
        return source.stdin
    return None


_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{1,2})|0?([0-7]{1,3})|(n))")


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(
        lambda m: "\n" if m[3] else chr(int(m[1], 16) if m[1] else int(m[2], 8)), text
    )
