"""What the secrets rule knows of credentials that are not files: the names of variables
holding them, and the tools that print the ones they keep (``gh auth token``, a cloud's
secret store, a password manager)."""

from __future__ import annotations

import re

from engine.guard.command import Simple
from engine.guard.rules.argv import _option_values, _program, _short_flags, _words

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


def _secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None and _NOT_SECRET_NAME.search(name) is None


_TOKEN_TOOLS = {
    *("gh", "gcloud", "az", "aws", "kubectl", "oc", "git", "security", "op", "vault"),
    *("heroku", "secret-tool", "doppler", "sops", "ansible-vault", "bw", "lpass"),
    *("keepassxc-cli", "pulumi", "firebase", "infisical", "age", "chamber"),
}
#: Two words of a tool that print the secrets it keeps (its secret store, its config).
_TOKEN_PAIRS = {
    "az": {("account", "get-access-token")},
    "bw": {("get", "password"), ("get", "item"), ("get", "notes"), ("export", "")},
    "lpass": {("show", "")},
    "keepassxc-cli": {("show", ""), ("export", "")},
    "firebase": {("functions:config:get", ""), ("functions:secrets:access", "")},
    "infisical": {("secrets", ""), ("export", "")},
    "chamber": {("read", ""), ("export", "")},
}


def _token_printer(s: Simple) -> str | None:
    """The command, if ``s`` prints a credential a tool keeps (``gh auth token``)."""
    program, args = _program(s)
    if program not in _TOKEN_TOOLS and not program.startswith("docker-credential-"):
        return None
    words = _words(args, {"-o", "--output", "-n", "--namespace", "--profile", "--region"})
    flags = set(args)
    letters = _short_flags(args)
    head = words[:2]
    pairs = _TOKEN_PAIRS.get(program, set())
    found = (
        (bool(head) and (tuple(head) in pairs or (head[0], "") in pairs))
        or (
            program == "gh"
            and (
                head == ["auth", "token"]
                or (head == ["auth", "status"] and {"-t", "--show-token"} & flags)
            )
        )
        or (program == "gcloud" and "auth" in words and any(w.startswith("print-") for w in words))
        or (program == "gcloud" and words[:3] == ["secrets", "versions", "access"])
        or (program == "az" and head == ["keyvault", "secret"] and words[2:3] != ["list"])
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
                or (words[:1] and words[0].startswith("find-") and bool({"w", "g"} & letters))
            )
        )
        or (program == "op" and (words[:1] == ["read"] or "--reveal" in flags))
        or (program == "vault" and (words[:1] == ["read"] or head == ["kv", "get"]))
        or (program == "heroku" and words[:1] in (["auth:token"], ["config"], ["config:get"]))
        or (program == "secret-tool" and words[:1] == ["lookup"])
        or (program == "doppler" and "secrets" in words)
        or (program in ("sops", "age") and bool({"-d", "--decrypt"} & flags))
        or (program == "ansible-vault" and words[:1] in (["view"], ["decrypt"]))
        or (program == "pulumi" and "--show-secrets" in flags)
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
