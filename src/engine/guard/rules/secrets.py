"""The secrets rule: a credential file read, the environment dumped, a secret variable
printed or sent away, a tool's token printed."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from pathlib import Path

from engine.guard.command import Simple
from engine.guard.paths import Call
from engine.guard.rules.argv import _consumers, _option_values, _program, _short_flags, _words
from engine.guard.rules.downloads import NETWORK
from engine.guard.rules.files import _written_arguments

#: ``.env`` files are secrets; their committed templates are not.
ENV_TEMPLATES = (".example", ".sample", ".template", ".dist")


#: A credential folder or file anywhere in a path (anyone's, not only this home's), and
#: the system's own (password hashes, private keys, a process's environment).
_CREDENTIAL_PART = re.compile(
    r"/\.(?:ssh|aws|gnupg|password-store|azure)(?:/|$)|/\.config/gh(?:/|$)"
    r"|/\.docker/config\.json$|/\.kube/config$|/\.git-credentials$|/\.netrc$"
    r"|/Library/Keychains(?:/|$)|^/etc/(?:g?shadow-?|sudoers(?:\.d)?|ssl/private)(?:/|$)"
    r"|^/etc/ssh/ssh_host_\w+_key$|^/proc/[^/]+/environ$"
)


def _is_secret(call: Call, path: Path) -> bool:
    # On the path's text: every argument of every command is judged here, and Path's
    # name and parts are parsed anew on each use.
    text = str(path)
    name = text.rpartition(os.sep)[2]
    if name == ".env" or (name.startswith(".env.") and not name.endswith(ENV_TEMPLATES)):
        return True
    return _CREDENTIAL_PART.search(text) is not None or call.places.secret(text)


def _secrets(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        args = s.argv[1:]
        if (s.program == "pass" and args[:1] == ["show"]) or (s.program == "pass" and args):
            return "reading a password store (pass) is not allowed"
        if s.program in ("gpg", "gpg2") and (
            {"--decrypt", "-d"} & set(args) or "d" in _short_flags(args)
        ):
            return "decrypting with gpg is not allowed"
        reason = _secret_printed(s, commands)
        if reason is not None:
            return reason
        # A file only written (`cp .env.example .env`, `touch .env`) is not read.
        written = set(_written_arguments(s))
        for word in dict.fromkeys([*args, *s.reads]):  # a file tool's path is in both
            if word.startswith("--") and "=" in word:
                word = word.split("=", 1)[1]  # --post-file=FILE, --data-binary=@FILE
            if word.startswith("@") or "=@" in word:
                word = word.split("@", 1)[1]  # curl -d @FILE, -F key=@FILE send the file
            if word.startswith("-") or "__COCKPIT_SUBST_" in word or word in written:
                continue
            if any(_is_secret(call, path) for path in _paths(call, word, s.cwd)):
                return f"{word!r} holds secrets"
    return None


def _paths(call: Call, word: str, cwd: str | None) -> Iterable[Path]:
    """``word`` resolved, and the files it matches if it is a glob (``cat .env*``
    reads whatever the shell expands it to)."""
    path = call.resolve(word, cwd)
    yield path
    if any(c in word for c in "*?["):
        yield from (Path(os.path.realpath(p)) for p in glob.glob(str(path)))


#: A variable whose name says it holds a secret (``GITHUB_TOKEN``, ``DB_PASSWORD``).
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW(?:OR)?D|PASSPHRASE|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY"
    r"|COOKIE|(?:^|_)(?:KEY|PASS|AUTH|SESSION)(?:$|_)|_PWD$",
    re.I,
)
#: Names of that shape holding something else (a socket, a path).
_NOT_SECRET_NAME = re.compile(
    r"_(?:SOCK|FILE|PATH|DIR|URL_?PATH)$|^GOOGLE_APPLICATION_CREDENTIALS$"
)
#: ``$NAME`` or ``${NAME...}`` in a word (not ``${#NAME}``, a length, nor ``${NAME:+x}``,
#: which is ``x`` when it is set).
_VARIABLE_REF = re.compile(r"\$([A-Za-z_]\w*)|\$\{([A-Za-z_]\w*)(?!:?\+)")
#: What a grep over the environment looks for that is secret (vendors' key prefixes).
_SECRET_PATTERN = re.compile(
    _SECRET_NAME.pattern + r"|AWS|GITHUB|GH_|OPENAI|ANTHROPIC|STRIPE|NPM_|SLACK|GITLAB", re.I
)


def _secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None and _NOT_SECRET_NAME.search(name) is None


def _secret_printed(s: Simple, commands: list[Simple]) -> str | None:
    """Why ``s`` puts a secret in the transcript or sends it away: the environment
    dumped, a secret variable printed or sent, a tool's token printed."""
    if _dumps_environment(s) and not _filtered(s, commands):
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
        if _CODE_ENV_DUMP.search(text):
            return "printing the whole environment shows every secret in it"
        if _CODE_WHOLE_ENV.search(text) and _CODE_SENDS.search(text):
            return "sending the whole environment away leaks every secret in it"
        used = [n for n in _CODE_ENV_NAME.findall(text) if _secret_name(n)]
        if used and _CODE_OUTPUT.search(text):
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
    if s.substituted or consumers:
        return False
    if not s.writes:
        return True
    return files_too and any(w != "/dev/null" for w in s.writes)


def _dumps_environment(s: Simple) -> bool:
    """``env``, ``printenv``, ``export -p``, ``set``, ``declare -x`` printing every
    variable."""
    program, args = s.program, s.argv[1:]
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


_TOKEN_TOOLS = {
    *("gh", "gcloud", "az", "aws", "kubectl", "oc", "git", "security", "op", "vault"),
    *("heroku", "secret-tool", "doppler", "sops", "ansible-vault"),
}


def _token_printer(s: Simple) -> str | None:
    """The command, if ``s`` prints a credential a tool keeps (``gh auth token``)."""
    program, args = _program(s)
    if program not in _TOKEN_TOOLS and not program.startswith("docker-credential-"):
        return None
    words = _words(args, {"-o", "--output", "-n", "--namespace", "--profile", "--region"})
    flags = set(args)
    head = words[:2]
    found = (
        (
            program == "gh"
            and (
                head == ["auth", "token"]
                or (head == ["auth", "status"] and {"-t", "--show-token"} & flags)
            )
        )
        or (program == "gcloud" and "auth" in words and any(w.startswith("print-") for w in words))
        or (program == "az" and head == ["account", "get-access-token"])
        or (program == "aws" and _aws_prints_secret(words, flags))
        or (
            program in ("kubectl", "oc")
            and "config" in head
            and "view" in words
            and bool({"--raw", "--flatten"} & flags)
        )
        or (program in ("kubectl", "oc") and _kubectl_secret(words, args))
        or (program.startswith("docker-credential-") and "get" in words)
        or (program == "git" and head == ["credential", "fill"])
        or (
            program == "security"
            and (
                words[:1] == ["dump-keychain"]
                or (words[:1] and words[0].startswith("find-") and bool({"-w", "-g"} & flags))
            )
        )
        or (program == "op" and (words[:1] == ["read"] or "--reveal" in flags))
        or (program == "vault" and words[:1] in (["read"], ["kv"]))
        or (program == "heroku" and words[:1] == ["auth:token"])
        or (program == "secret-tool" and words[:1] == ["lookup"])
        or (program == "doppler" and "secrets" in words)
        or (program == "sops" and bool({"-d", "--decrypt"} & flags))
        or (program == "ansible-vault" and words[:1] in (["view"], ["decrypt"]))
    )
    return " ".join([program, *words[:2]]) if found else None


def _aws_prints_secret(words: list[str], flags: set[str]) -> bool:
    head = words[:2]
    if head == ["configure", "get"]:
        return any(_secret_name(w) for w in words[2:])
    return head in (
        ["configure", "export-credentials"],
        ["sts", "get-session-token"],
        ["ecr", "get-login-password"],
        ["secretsmanager", "get-secret-value"],
    ) or (head[:1] == ["ssm"] and "--with-decryption" in flags)


def _kubectl_secret(words: list[str], args: list[str]) -> bool:
    if "get" not in words[:2]:
        return False
    named = any(w in ("secret", "secrets") or w.startswith("secret/") for w in words)
    output = _option_values(args, "o", "--output")
    return named and any(
        o.split("=")[0] in ("yaml", "json", "jsonpath", "go-template") for o in output
    )


_CODE_ENV_DUMP = re.compile(
    r"print\w*\s*\(\s*(?:dict\s*\(\s*)?os\.environ\s*\)?\s*\)|os\.environ\.items\(\)"
    r"|json\.dumps\(\s*dict\(\s*os\.environ|console\.(?:log|dir|table)\(\s*process\.env\s*\)"
    r"|JSON\.stringify\(\s*process\.env\b|\bputs\s+ENV\b|\bp\s+ENV\b|ENV\.(?:to_h|each|inspect)"
    r"|%ENV\b|(?:print_r|var_dump|var_export)\(\s*\$_(?:ENV|SERVER)|getenv\(\s*\)"
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
    r"|ENV\[\s*|ENV\.fetch\(\s*|\$ENV\{\s*|getenv\(\s*)['\"]?([A-Za-z_]\w*)"
)
_CODE_OUTPUT = re.compile(
    r"\bprint|console\.|\bputs\b|\becho\b|\bp\s|\bsay\b|requests\.|urllib|http\.|\bfetch\("
    r"|socket|urlopen|Net::HTTP|LWP|\bcurl"
)
