"""The secrets rule: a credential file read, the environment dumped, a secret variable
printed or sent away, a tool's token printed."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from pathlib import Path

from engine.guard.command import Simple, braces, find_roots, substituted
from engine.guard.paths import Call
from engine.guard.rules.argv import (
    _consumers,
    _exec_inside,
    _option_values,
    _short_flags,
    _words,
)
from engine.guard.rules.downloads import NETWORK
from engine.guard.rules.files import _mounts, _written_arguments
from engine.guard.rules.tokens import _SECRET_NAME, _secret_name, _token_printer

#: ``.env`` files are secrets; their committed templates are not.
ENV_TEMPLATES = (".example", ".sample", ".template", ".dist")


#: A credential folder or file anywhere in a path (anyone's, not only this home's), and
#: the system's own (password hashes, private keys, a process's environment).
_CREDENTIAL_PART = re.compile(
    r"/\.(?:ssh|aws|gnupg|password-store|azure)(?:/|$)|/\.config/gh(?:/|$)"
    r"|/\.docker/config\.json$|/\.kube/config$|/\.git-credentials$|/\.netrc$"
    r"|/Library/Keychains(?:/|$)|^/etc/(?:g?shadow-?|sudoers(?:\.d)?|ssl/private)(?:/|$)"
    r"|^/etc/ssh/ssh_host_\w+_key$|^/proc/[^/]+/environ$"
    r"|/\.claude/\.credentials\.json$|/\.codex/auth\.json$|/\.gemini/oauth_creds\.json$"
    r"|/\.config/github-copilot(?:/|$)|/huggingface/token$"
)


def _secret_kind(call: Call, path: Path) -> str | None:
    """``env`` for a ``.env`` file, ``credential`` for a credential file or folder."""
    # On the path's text: every argument of every command is judged here, and Path's
    # name and parts are parsed anew on each use.
    text = str(path)
    name = text.rpartition(os.sep)[2]
    if name == ".env" or (name.startswith(".env.") and not name.endswith(ENV_TEMPLATES)):
        return "env"
    if _CREDENTIAL_PART.search(text) is not None or call.places.secret(text):
        return "credential"
    return None


#: Programs that handle a file without showing what is in it (its name, size, mode).
_NAMES_ONLY = {
    *("ls", "test", "[", "[[", "stat", "rm", "unlink", "chmod", "chown", "touch", "du"),
    *("file", "realpath", "readlink", "dirname", "basename", "wc"),
    # They load it into a command's environment.
    *("op", "doppler", "dotenv", "dotenvx", "env-cmd", "direnv", "infisical"),
}
#: git subcommands that handle files without showing what is in them.
_GIT_NAMES_ONLY = {
    *("status", "rm", "mv", "clean", "check-ignore", "check-attr", "ls-files", "restore"),
    *("checkout", "update-index", "reset", "stash"),
}


def _names_only(s: Simple) -> bool:
    """Whether ``s`` handles the files it names without showing their content (``test
    -f .env``, ``git rm --cached .env``): for a ``.env`` file, that shows no secret."""
    if s.program == "git":
        sub = next((a for a in s.argv[1:] if not a.startswith("-")), "")
        return sub in _GIT_NAMES_ONLY
    return s.program in _NAMES_ONLY


def _secrets(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        args = s.argv[1:]
        if (s.program == "pass" and args[:1] == ["show"]) or (s.program == "pass" and args):
            return "reading a password store (pass) is not allowed"
        if s.program in ("gpg", "gpg2") and (
            {"--decrypt", "-d"} & set(args) or "d" in _short_flags(args)
        ):
            return "decrypting with gpg is not allowed"
        reason = _secret_printed(s, commands) or _searched(call, s)
        if reason is not None:
            return reason
        # A file only written (`cp .env.example .env`, `touch .env`) is not read.
        written = set(_written_arguments(s))
        names_only = _names_only(s) or (
            s.program in ("cp", "mv")  # a copy kept in the worktree (not in /tmp) shows nothing
            and bool(written)
            and all(call.inside(call.resolve(w, s.cwd)) for w in written)
        )
        mounted = [source for source, _ in _mounts(s)]
        # `node --env-file=.env app.js`: the variables go to the program, not the screen.
        loaded = set(_option_values(args, "", "--env-file")) if "--env-file" in call.command else ()
        for word in dict.fromkeys([*args, *s.reads, *mounted]):  # a file tool's: in both
            loads = word in loaded or word.startswith("--env-file=")
            if word.startswith("--") and "=" in word:
                word = word.split("=", 1)[1]  # --post-file=FILE, --data-binary=@FILE
            if word.startswith("@") or "=@" in word:
                word = word.split("@", 1)[1]  # curl -d @FILE, -F key=@FILE send the file
            if word.startswith("-") or substituted(word) or word in written:
                continue
            for path in _paths(call, word, s.cwd):
                kind = _secret_kind(call, path)
                if kind == "credential" or (kind == "env" and not (names_only or loads)):
                    return f"{word!r} holds secrets"
    return None


def _paths(call: Call, word: str, cwd: str | None) -> Iterable[Path]:
    """``word`` resolved (each word of its brace lists), and the files it matches if it
    is a glob (``cat .env*`` reads whatever the shell expands it to)."""
    for each in braces(word):
        path = call.resolve(each, cwd)
        yield path
        if any(c in each for c in "*?["):
            yield from (Path(os.path.realpath(p)) for p in glob.glob(str(path)))


#: Names of private keys and credential files a search may look for.
_KEY_NAMES = re.compile(
    r"id_(?:rsa|dsa|ecdsa|ed25519)|\.(?:pem|key|p12|pfx|kdbx|ppk|jks|keystore)\b|credentials"
    r"|\.netrc|\.pgpass|\.git-credentials|private|secret|token|wallet",
    re.I,
)
#: Programs reading every file of a folder they are given (with ``-r`` for some).
_READS_TREES = {
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "ag",
    "ack",
    "tar",
    "zip",
    "7z",
    "rsync",
    "scp",
    "cp",
}
_RECURSIVE = {"grep", "egrep", "fgrep", "zip", "scp", "cp"}
_FIND_NAMES = {"-name", "-iname", "-path", "-ipath", "-regex", "-iregex", "-wholename"}


def _searched(call: Call, s: Simple) -> str | None:
    """Why ``s`` looks for credentials beyond the worktree (``find / -name id_rsa``), or
    reads a whole folder holding them (``grep -r token ~``, ``tar czf x ~``)."""
    program, args = s.program, s.argv[1:]
    if program in ("find", "locate", "plocate", "fd", "fdfind"):
        roots = find_roots(s.argv) if program == "find" else ["/"]
        if program == "find":
            patterns = [args[i + 1] for i, a in enumerate(args[:-1]) if a in _FIND_NAMES]
        else:
            patterns = _words(args)
        hit = next((p for p in patterns if _KEY_NAMES.search(p)), None)
        if hit is not None and any(not call.writable(call.resolve(r, s.cwd)) for r in roots):
            return f"searching the machine for {hit!r} looks for credentials"
        return None
    if program not in _READS_TREES:
        return None
    letters = _short_flags(args)
    if program in _RECURSIVE and not ({"r", "R", "a"} & letters or "--recursive" in args):
        return None
    words = _words(args)
    if program == "tar":
        first = set(args[0]) if args and not args[0].startswith("-") else set()
        if not ((first | letters) & {"c", "r", "u"} or "--create" in args):
            return None
    elif program in ("cp", "rsync", "scp"):
        words = words[:-1]  # the last is where the copies go
    home = str(call.home)
    for word in words:
        if s.cwd is None and not word.startswith(("/", "~", "$", "..")):
            continue  # a folder of the worktree, which holds no home
        where = str(call.resolve(word, s.cwd))
        if where in ("/", "/home", "/Users", "/root") or where == home:
            return f"reading all of {word!r} reads the credentials in it"
    return None


#: ``$NAME`` or ``${NAME...}`` in a word (not ``${#NAME}``, a length, nor ``${NAME:+x}``,
#: which is ``x`` when it is set).
_VARIABLE_REF = re.compile(r"\$([A-Za-z_]\w*)|\$\{([A-Za-z_]\w*)(?!:?\+)")
#: What a grep over the environment looks for that is secret (vendors' key prefixes).
_SECRET_PATTERN = re.compile(
    _SECRET_NAME.pattern + r"|AWS|GITHUB|GH_|OPENAI|ANTHROPIC|STRIPE|NPM_|SLACK|GITLAB"
    r"|API|AUTH|PASS|CRED|PRIV|BEARER|JWT|DATABASE_URL|DSN|KEY",
    re.I,
)


def _secret_printed(s: Simple, commands: list[Simple]) -> str | None:
    """Why ``s`` puts a secret in the transcript or sends it away: the environment
    dumped, a secret variable printed or sent, a tool's token printed."""
    inside = _exec_inside(s.program, s.argv[1:])
    if (_dumps_environment(s) or (inside and _dumps(inside[0], inside[1:]))) and not _filtered(
        s, commands
    ):
        return "printing the whole environment (env, printenv, export -p) shows every secret in it"
    names = [
        n
        for w in s.argv[1:]
        if "$" in w
        for m in _VARIABLE_REF.finditer(w)
        if _secret_name(n := m[1] or m[2])
    ]
    if s.program == "printenv":
        names += [w for w in s.argv[1:] if not w.startswith("-") and _secret_name(w)]
    if names:
        if s.program in NETWORK:
            return f"sending ${names[0]} with {s.program} leaks a secret"
        if s.program in ("echo", "printf", "printenv") and _output_shown(s, commands, False):
            return f"printing ${names[0]} puts a secret in the transcript"
    token = _token_printer(s)
    if token is not None and _output_shown(s, commands, True):
        return f"{token} prints a credential"
    if s.code is not None:
        text = s.code.text
        reads = not s.code.touches_files and _CODE_READS.search(text)
        found = _CODE_CREDENTIALS.search(text) if reads else None
        if found:  # (code writing there is the inline-code rule's)
            return f"inline code naming {found[0]!r} reads credentials"
        printed = s.code.language in ("node", "bun") and bool({"-p", "--print"} & set(s.argv))
        if _CODE_ENV_DUMP.search(text) or (printed and _WHOLE_ENV_PRINTED.fullmatch(text)):
            return "printing the whole environment shows every secret in it"
        if _CODE_WHOLE_ENV.search(text) and _CODE_SENDS.search(text):
            return "sending the whole environment away leaks every secret in it"
        used = [n for n in _CODE_ENV_NAME.findall(text) if _secret_name(n)]
        if used and (printed or _CODE_OUTPUT.search(text)):
            return f"printing or sending {used[0]} leaks a secret"
    return None


def _output_shown(s: Simple, commands: list[Simple], files_too: bool) -> bool:
    """Whether what ``s`` prints reaches the transcript or another host (a file only
    with ``files_too``)."""
    consumers = _consumers(commands, s)
    if any(c.program in NETWORK for c in consumers):
        return True
    if any(w.startswith(("/dev/tcp/", "/dev/udp/")) for w in s.writes):
        return True
    # `… | base64 -d`, `… | jq -r .token`: passed on, and shown at the end.
    last = consumers[-1] if consumers else s
    if consumers and not all(c.program in _PASSES_ON for c in consumers):
        return False
    if s.substituted or any(c.writes for c in consumers[:-1]):
        return False
    if not last.writes:
        return True
    return files_too and any(w != "/dev/null" for w in last.writes)


#: Programs that print (a transform of) what they read.
_PASSES_ON = {
    *("base64", "base32", "jq", "yq", "cut", "tr", "head", "tail", "cat", "sed", "tee"),
    *("xxd", "od", "hexdump", "rev", "fold", "column", "sort", "uniq", "less", "more"),
}


def _dumps_environment(s: Simple) -> bool:
    """``env``, ``printenv``, ``export -p``, ``set``, ``declare -x`` printing every
    variable."""
    return _dumps(s.program, s.argv[1:])


def _dumps(program: str, args: list[str]) -> bool:
    if program in ("docker", "podman") and "inspect" in args[:2]:
        return any("Env" in f for f in _option_values(args, "f", "--format"))
    if program == "ps":  # `ps auxe`, `ps eww`: every process's environment
        return any(not a.startswith("-") and "e" in a and a.isalpha() for a in args[:1])
    if program == "env":
        rest = [a for a in args if not a.startswith("-") and "=" not in a]
        return not rest and not ({"-u", "--unset", "-C", "--chdir", "-S"} & set(args))
    if program == "printenv":
        return not [a for a in args if not a.startswith("-")]
    if program in ("export", "declare", "typeset"):
        return not args or all(a in ("-p", "-x", "-px", "-xp") for a in args)
    return program == "set" and not args  # `set -e` sets options


#: Filters after an environment dump that show only what they look for.
_FILTERS = {"grep", "egrep", "fgrep", "rg", "ag", "wc"}


def _filtered(s: Simple, commands: list[Simple]) -> bool:
    consumers = _consumers(commands, s)
    if not consumers or any(c.program in NETWORK for c in consumers):
        return False
    return any(_shows_little(c) for c in consumers)


def _shows_little(s: Simple) -> bool:
    """Whether ``s`` lets only a few lines of what it reads through, none secret
    (``grep PATH``, ``wc -l``, ``cut -d= -f1``)."""
    if s.program == "wc" or (s.program == "cut" and "-f1" in s.argv):
        return True
    if s.program not in _FILTERS or {"-v", "--invert-match"} & set(s.argv):
        return False
    patterns = _option_values(s.argv[1:], "e", "--regexp") or _words(s.argv[1:])[:1]
    return bool(patterns) and not any(_SECRET_PATTERN.search(p) for p in patterns)


#: Credential files and folders named in inline code (however it builds their paths).
_CODE_CREDENTIALS = re.compile(
    r"['\"/](?:\.ssh|\.aws|\.gnupg|\.kube|\.docker/config\.json|\.netrc|\.git-credentials"
    r"|\.pgpass|\.password-store|\.config/gh|\.config/gcloud)(?=['\"/])"
    r"|/\.(?:npmrc|pypirc)(?=['\"])"  # a project may keep its own: only the home's
    r"|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|/proc/(?:self|\d+)/environ|/etc/shadow"
    r"|['\"/]\.env(?:\.(?!example|sample|template|dist)\w+)?['\"]"
)
_CODE_READS = re.compile(
    r"\bopen\s*\(|read|load|\bcat\b|slurp|copy|send|upload|\bpost\b|request|fetch|socket"
    r"|\bget\s*\(|Get-Content|\bIO\.|\bFile\.",
    re.I,
)
#: ``node -p process.env``: the whole environment, printed as the expression's value.
_WHOLE_ENV_PRINTED = re.compile(r"\s*(?:JSON\.stringify\()?\s*process\.env\s*\)?\s*;?\s*")
_CODE_ENV_DUMP = re.compile(
    r"print\w*\s*\(\s*(?:dict\s*\(\s*)?os\.environ\s*\)?\s*\)|os\.environ\.items\(\)"
    r"|json\.dumps\(\s*dict\(\s*os\.environ|console\.(?:log|dir|table)\(\s*process\.env\s*\)"
    r"|JSON\.stringify\(\s*process\.env\b|\bputs\s+ENV\b|\bp\s+ENV\b|ENV\.(?:to_h|each|inspect)"
    r"|%ENV\b|(?:print_r|var_dump|var_export)\(\s*\$_(?:ENV|SERVER)|getenv\(\s*\)"
    r"|\bin\s+ENVIRON\s*\)"
)
#: The whole environment (not one variable of it), and code that talks to other hosts.
_CODE_WHOLE_ENV = re.compile(
    r"os\.environ(?!\s*(?:\[|\.get\b|\.setdefault\b|\.pop\b))|process\.env(?!\s*[\[.])"
    r"|%ENV\b|\bENV\.(?:to_h|to_a|each|inspect|map)\b|getenv\(\s*\)|\$_ENV\b"
)
_CODE_SENDS = re.compile(
    r"requests\.|urllib|http\.client|urlopen|\bfetch\(|\bsocket\b|Net::HTTP|LWP|axios"
    r"|\bhttps?\.request|\bcurl"
)
_CODE_ENV_NAME = re.compile(
    r"(?:os\.environ(?:\.get)?\s*[\[(]\s*|os\.getenv\(\s*|process\.env\.|process\.env\[\s*"
    r"|ENV\[\s*|ENV\.fetch\(\s*|\$ENV\{\s*|getenv\(\s*|ENVIRON\[\s*)['\"]?([A-Za-z_]\w*)"
)
_CODE_OUTPUT = re.compile(
    r"\bprint|console\.|\bputs\b|\becho\b|\bp\s|\bsay\b|requests\.|urllib|http\.|\bfetch\("
    r"|socket|urlopen|Net::HTTP|LWP|\bcurl"
)
