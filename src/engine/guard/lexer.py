"""A command line made into words and operators for the shell reader: line continuations
joined, comments dropped, each ``$(...)``, backtick and ``<(...)`` replaced by a
placeholder word (its inside kept, to be read in turn), each heredoc's body taken out
(:func:`_prepare`); then the rest split into tokens (:func:`_tokens`)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from engine.guard.command import SUBST, Unreadable

#: Shell operators, longest first (a run of punctuation is split into these).
OPERATORS = (
    *("<<<", "&>>"),
    *(";;", "&&", "||", "|&", ">>", ">|", "&>", "<>", ">&", "<&", "<<"),
    *(";", "&", "|", "(", ")", "<", ">", "\n"),
)
#: Redirection operators whose next token is a file.
REDIRECTS = {">", ">>", "<", ">|", "&>", "&>>", "<>", ">&", "<&"}
#: Substitutions whose output is known without running anything: the folder the
#: command runs in (``$(pwd)``; the worktree's top for ``git rev-parse --show-toplevel``
#: is taken as that too) and a fresh temporary file or folder (``$(mktemp -d)``).
_HERE = re.compile(r"\s*(?:/bin/)?pwd(?:\s+-[LP])?\s*|\s*git\s+rev-parse\s+--show-toplevel\s*")
_MKTEMP = re.compile(
    r"\s*(?:/usr/bin/)?mktemp(?:\s+(?:-[dqut]+|--directory|--tmpdir))*(?:\s+[\w.-]*)?\s*"
)
KNOWN_TEMP = "/tmp/tmp.cockpit"
#: What a heredoc's body is replaced by (after its ``<<``).
HEREDOC = "__COCKPIT_HEREDOC_{}__"
_HEREDOC_WORD = re.compile(r"__COCKPIT_HEREDOC_(\d+)__")


@dataclass
class _Heredoc:
    delimiter: str
    strip_tabs: bool  # `<<-`
    quoted: bool  # `<<'EOF'`: no substitutions run in the body
    body: str = ""


#: ``$(which npm)``, ``$(command -v npm)``: the program's path, named as the program.
_WHICH = re.compile(r"\s*(?:which|command\s+-v|type\s+-[pP])\s+([\w.+-]+)\s*")


def _known(inner: str) -> str | None:
    """What the substitution of ``inner`` is known to print, if it can be known."""
    if _HERE.fullmatch(inner):
        return "$PWD"
    if _MKTEMP.fullmatch(inner):
        return KNOWN_TEMP
    if which := _WHICH.fullmatch(inner):
        return which[1]
    return None


def _prepare(command: str, originals: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """``command`` made ready for the lexer, with what was taken out of it: line
    continuations joined, comments dropped, each substitution replaced by a placeholder
    word (its inside kept, to be read in turn; what it stood for in ``originals``) and
    each heredoc's body by a placeholder after its ``<<`` (the bodies kept)."""
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
            out.append(_substitute(command[i + 2 : end], command[i : end + 1], inner, originals))
            i = end + 1
        elif c == "`":
            end = command.find("`", i + 1)
            end = n if end == -1 else end
            out.append(_substitute(command[i + 1 : end], command[i : end + 1], inner, originals))
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
        elif (
            c.isdigit()
            and command[i + 1 : i + 2] in ("<", ">")
            and (i == 0 or command[i - 1] in " \t\n;&|(")
        ):
            i += 1  # a descriptor's number (`2>&1`, `2>/dev/null`) is no word
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


def _substitute(text: str, written: str, inner: list[str], originals: dict[str, str]) -> str:
    """The word standing for a substitution running ``text`` (``written`` as it was)."""
    known = None if written.startswith(("<(", ">(")) else _known(text)
    if known is not None:
        return known
    inner.append(text)
    word = SUBST.format(len(originals))
    originals[word] = written
    return word


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
