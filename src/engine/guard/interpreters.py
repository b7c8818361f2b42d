"""Inline code: what ``python -c``, ``node -e``, ``perl -e`` and the like run. The command
lines it runs and the paths it plainly deletes or writes are read from its text
(:func:`read_code`); what it only computes at run time is noted as such."""

from __future__ import annotations

import functools
import re
import shlex

from engine.guard.command import Code, Simple, fed_text

#: Interpreter names (with versions: python3.12, php8.2), read as their language.
_INTERPRETER = re.compile(
    r"(?:(python|pypy)[\d.]*|(node)(?:js)?|(deno)|(bun)|(perl)[\d.]*|(ruby)[\d.]*|(php)[\d.]*"
    r"|(awk|gawk|mawk|nawk)|(osascript)|(Rscript)|(lua)(?:jit|[\d.]*))"
)
#: What some interpreters' names are read as (``gawk`` is ``awk``).
_LANGUAGES = {"gawk": "awk", "mawk": "awk", "nawk": "awk", "osascript": "applescript"}
_LANGUAGES |= {"Rscript": "r"}
#: Each language's options giving code inline, and its options taking a value.
_CODE_OPTIONS = {
    "python": ("c", "mWXQ", ()),
    "node": ("ep", "r", ("--eval", "--print", "-e", "-p")),
    "perl": ("eE", "iMmIdDxlF0C", ()),
    "ruby": ("e", "rICTxWKEF0", ()),
    "php": ("r", "cdfzt", ()),
    "deno": ("", "", ()),
    "bun": ("e", "", ("--eval", "-e")),
    "applescript": ("e", "l", ()),
    "r": ("e", "", ()),
    "lua": ("e", "l", ()),
}


@functools.lru_cache(maxsize=512)
def interpreter(program: str) -> str | None:
    """The language ``program`` runs (``python`` for python3.12), or None."""
    match = _INTERPRETER.fullmatch(program)
    if match is None:
        return None
    name = next(group for group in match.groups() if group)
    return _LANGUAGES.get(name, name)


def read_code(simple: Simple) -> Code | None:
    """The code ``simple`` (an interpreter) runs inline: ``-c``/``-e``/``-r`` arguments,
    or its standard input (a heredoc, ``echo ... | python3``) when it runs no file."""
    language = interpreter(simple.program)
    if language is None:
        return None
    args = simple.argv[1:]
    if language == "deno":
        if args[:1] != ["eval"] or len(args) < 2:
            return None
        return _analysed(Code(language, args[1], args[2:]))
    if language == "awk":
        return _awk_program(args)
    inline, takes_value, long_names = _CODE_OPTIONS[language]
    pieces: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        if arg.startswith("--"):
            name, _, value = arg.partition("=")
            if name in long_names:
                if not value and i + 1 < len(args):
                    i += 1
                    value = args[i]
                pieces.append(value)
            i += 1
            continue
        if arg in long_names and i + 1 < len(args):
            pieces.append(args[i + 1])
            i += 2
            continue
        for k, letter in enumerate(arg[1:], 1):
            if letter in inline:
                value = arg[k + 1 :]
                if not value and i + 1 < len(args):
                    i += 1
                    value = args[i]
                pieces.append(value)
                break
            if letter in takes_value:
                if k == len(arg) - 1 and letter not in "ilI0" and i + 1 < len(args):
                    i += 1  # the value is the next word (`-m module`, `-r json`)
                    if language == "python" and letter == "m":
                        return None  # `python -m module`: a module, not inline code
                break
        i += 1
        if language == "python" and pieces:
            break  # `python -c CODE ARGS...`: the rest is the code's own
    rest = args[i:]
    if pieces:
        return _analysed(Code(language, "\n".join(pieces), rest))
    if rest and rest[0] not in STDIN:
        return None  # a script file
    text = simple.stdin
    if text is None and simple.piped_from is not None:
        text = fed_text(simple.piped_from)
    return None if text is None else _analysed(Code(language, text, rest[1:]))


STDIN = {"-", "/dev/stdin"}


def _awk_program(args: list[str]) -> Code | None:
    """The program ``awk`` runs: its first operand (none with ``-f FILE``)."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        if args[i] in ("-f", "--file") or args[i].startswith("-f"):
            return None
        i += 2 if args[i] in ("-F", "-v", "--assign", "--field-separator") else 1
    i += i < len(args) and args[i] == "--"
    return _analysed(Code("awk", args[i], args[i + 1 :])) if i < len(args) else None


#: A string literal: quotes (Python's prefixes too), and JavaScript's templates.
_LITERAL = re.compile(
    r"""(?P<prefix>[rRbBfFuU]{0,2})(?:'''(?P<t1>.*?)'''|\"\"\"(?P<t2>.*?)\"\"\"|"""
    r"""'(?P<s>(?:\\.|[^'\\\n])*)'|"(?P<d>(?:\\.|[^"\\\n])*)"|`(?P<b>(?:\\.|[^`\\])*)`)""",
    re.S,
)
#: ``__import__("subprocess").`` in a one-liner.
_IMPORTED = r"__import__\(\s*['\"](?:os|subprocess)['\"]\s*\)\."
#: Calls that run a command line, per language (the literal arguments are read); a
#: JavaScript ``exec(`` only where the code uses ``child_process`` (``/x/.exec(s)`` is a
#: regular expression's).
_RUNS = {
    "python": re.compile(
        rf"(?:\bos\.|{_IMPORTED}|(?<![\w.]))(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?)\s*\("
        rf"|(?:\bsubprocess\.|{_IMPORTED}|(?<![\w.]))(?:run|call|check_call|check_output"
        r"|Popen|getoutput|getstatusoutput)\s*\(|\bpty\.spawn\s*\(|\bcommands\.getoutput\s*\("
    ),
    "node": re.compile(
        r"\b(?:execSync|execFileSync|spawnSync|execFile|spawn|exec|execa|execaSync)\s*\("
        r"|\bBun\.spawn(?:Sync)?\s*\(|\bnew\s+Deno\.Command\s*\(|\bDeno\.run\s*\("
    ),
    "perl": re.compile(r"\b(?:system|exec)\b\s*\(?|\bqx\s*[({\[/|!]|`"),
    "ruby": re.compile(
        r"\b(?:system|exec|spawn)\b\s*\(?|%x\s*[({\[/|!]|`|\bIO\.popen\s*\(|\bOpen3\.\w+\s*\("
    ),
    "php": re.compile(r"\b(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(|`"),
    "awk": re.compile(r"\bsystem\s*\("),
    "applescript": re.compile(r"\bdo\s+shell\s+script\s+"),
    "r": re.compile(r"\b(?:system2?|shell)\s*\("),
    "lua": re.compile(r"\b(?:os\.execute|io\.popen)\s*\(?"),
}
#: Calls that delete files.
_DELETES = re.compile(
    r"\b(?:os\.(?:remove|unlink|rmdir|removedirs)|shutil\.rmtree|rmtree|remove_tree"
    r"|send2trash|unlink|rmdir|rmSync|rmdirSync|unlinkSync|removeSync|emptyDirSync"
    r"|rimraf(?:\.sync)?|fs\.rm|fsp\.rm|promises\.rm|Deno\.remove(?:Sync)?"
    r"|FileUtils\.(?:rm\w*|remove\w*)|File\.delete|Dir\.delete|file\.remove)\b\s*\(?"
)
_PATH_DELETES = re.compile(r"\.(?:unlink|rmdir|rmtree)\s*\(")
#: Calls that write files.
_WRITES = re.compile(
    r"\b(?:open|fopen|File\.open)\s*\((?=[^)]*,\s*(?:mode\s*=\s*)?['\"][^'\"]*[wax+])"
    r"|\b(?:writeFileSync|appendFileSync|writeFile|appendFile|createWriteStream|copyFileSync"
    r"|copyFile|renameSync|rename|symlinkSync|symlink|cpSync|outputFileSync|writeJsonSync"
    r"|chmodSync|chownSync|mkdirSync|Deno\.writeTextFile(?:Sync)?|Bun\.write"
    r"|shutil\.(?:copy\w*|move)|os\.(?:rename|replace|symlink|link|chmod|chown|makedirs|mkdir)"
    r"|File\.(?:write|rename|symlink|chmod)|IO\.write|FileUtils\.(?:cp\w*|mv|ln\w*|touch"
    r"|mkdir\w*|install|chmod\w*|chown\w*)|file_put_contents)\b\s*\("
    r"|(?<![\w.])(?:copy|move|rename)\s*\("
    r"|\bopen\s*\(?\s*(?:my\s+)?\$?\w+\s*,\s*['\"]\s*(?:>|\+<)"
)
_PATH_WRITES = re.compile(r"\.(?:write_text|write_bytes|touch|mkdir|symlink_to|chmod)\s*\(")
#: A literal joined to what comes after it (``"/x" + name``, ``"/x" . $d``).
_JOINED_AFTER = re.compile(r"\s*[+.](?![\w(])|\s*\+")
#: A literal's word becomes a command's only through a shell (interpolation aside).
_INTERPOLATED = re.compile(r"\{[^}]*\}|\$\{|#\{|\$[A-Za-z_@]")


_JS_PROCESSES = re.compile(r"child_process|execa|shelljs|\bzx\b|Bun\.spawn|Deno\.(?:Command|run)")
#: A module imported under another name (``import subprocess as sp``).
_ALIASED = re.compile(r"\bimport\s+(os|subprocess|shutil)\s+as\s+(\w+)")


def _analysed(code: Code) -> Code:
    text = code.text
    for module, alias in _ALIASED.findall(text) if " as " in text else ():
        text = re.sub(rf"(?<![\w.]){alias}\.", f"{module}.", text)
    runs = _RUNS.get(code.language)
    if code.language in ("node", "bun", "deno") and not _JS_PROCESSES.search(text):
        runs = None
    read_to = 0  # a backtick's closing one is no call of its own
    for match in runs.finditer(text) if runs is not None else ():
        if match.start() < read_to:
            continue
        words, dynamic, read_to = _call_literals(text, match.end(), code.language)
        if not words or not any(w.strip() for w in words):
            code.runs_unknown = True
            continue
        code.runs_unknown |= dynamic
        # A command line in one string (`system("rm -rf x")`), or a program and its
        # arguments (`run(["rm", "-rf", "x"])`, `system "rm", "-rf", "x"`).
        line = words[0] if " " in words[0].strip() else shlex.join(words)
        code.commands.append(line)
    for pattern, into in ((_DELETES, code.deleted), (_WRITES, code.written)):
        for match in pattern.finditer(text):
            code.touches_files = True
            words, _, _ = _call_literals(text, match.end(), code.language)
            into += [w.lstrip("<>+ ") for w in words]
    for pattern, into in ((_PATH_DELETES, code.deleted), (_PATH_WRITES, code.written)):
        for match in pattern.finditer(text):
            code.touches_files = True
            into += _receiver_literals(text, match.start())
    return code


#: How far a call's arguments are read (a program on one line is short).
_ARGUMENTS_READ = 400
_CLOSERS = {"(": ")", "[": "]", "{": "}", "`": "`", "/": "/", "|": "|", "!": "!"}


def _call_literals(text: str, start: int, language: str) -> tuple[list[str], bool, int]:
    """The string literals among a call's arguments (from ``start``, just after its
    opener: ``(``, a backtick, ``qx{``, or nothing for ``system "..."``), whether any of
    them is interpolated, and where the reading stopped."""
    opener = text[start - 1] if start else ""
    quoted = opener == "`" or (opener in _CLOSERS and text[start - 2 : start - 1] in ("x", "q"))
    if quoted and opener != "(":
        end = text.find(_CLOSERS[opener], start)
        end = len(text) if end == -1 else end
        body = text[start:end]
        return [body], bool(_INTERPOLATED.search(body)), end + 1
    depth, i, limit = 1 if opener == "(" else 0, start, min(len(text), start + _ARGUMENTS_READ)
    words: list[str] = []
    dynamic = False
    while i < limit:
        c = text[i]
        literal = _LITERAL.match(text, i) if c in "'\"`rRbBfFuU" else None
        if literal is not None and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            body = next(g for g in literal.group("t1", "t2", "s", "d", "b") if g is not None)
            before = text[max(0, i - 8) : i].rstrip()
            if before.endswith(("+", ".")) or _JOINED_AFTER.match(text, literal.end()):
                dynamic = True  # a piece of a name put together at run time: not the name
                i = literal.end()
                continue
            interpolates = "f" in literal["prefix"].lower() or (
                literal.group()[len(literal["prefix"])] in '"`' and language != "python"
            )
            dynamic |= interpolates and bool(_INTERPOLATED.search(body))
            words.append(body)
            i = literal.end()
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth <= 0:
                break
        elif depth <= 0 and c in ";\n":
            break
        i += 1
    return words, dynamic, i


def _receiver_literals(text: str, end: int) -> list[str]:
    """The literal a method is called on: ``Path('/x').unlink()``'s ``/x``."""
    head = text[max(0, end - _ARGUMENTS_READ) : end].rstrip()
    if not head.endswith(")"):
        return []
    literal = re.search(r"""\(\s*[rbf]?(['"])([^'"]*)\1\s*\)$""", head)
    return [literal[2]] if literal else []
