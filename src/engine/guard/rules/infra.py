"""The infra-destroy rule, asked about: infrastructure as code applied or destroyed, cloud
resources deleted, a live cluster changed, a database dropped or emptied."""

from __future__ import annotations

import re

from engine.guard.command import Simple, fed_text, substituted
from engine.guard.interpreters import interpreter
from engine.guard.paths import Call
from engine.guard.rules.argv import (
    _exec_inside,
    _option_values,
    _program,
    _short_flags,
    _starts,
    _words,
)

#: Words of a cloud CLI's command that delete or stop what they name.
_CLOUD_DELETES = re.compile(
    r"^(?:delete|destroy|purge|terminate|remove|rb|rm|deregister|stop|reset|deallocate)(?:-|$)"
    r"|^batch-delete-|-delete-|^empty-|^schedule-[\w-]*deletion$"
    r"|^(?:apps|addons|pg|sites|projects|firestore|database|hosting):(?:destroy|delete|reset"
    r"|remove|disable)$"
)
#: Command-line tools of cloud providers and hosts.
_CLOUDS = {
    *("gcloud", "gsutil", "az", "doctl", "hcloud", "linode-cli", "scw", "oci", "ibmcloud"),
    *("exo", "vultr-cli", "heroku", "fly", "flyctl", "vercel", "netlify", "railway", "render"),
    *("firebase", "cdk", "sam", "serverless", "sls", "copilot", "supabase", "wrangler"),
}
_IAC = {"terraform", "tofu", "terragrunt", "opentofu"}
#: kubectl and its usual alias.
_KUBECTL = {"kubectl", "k", "oc", "kubecolor"}
_IAC_CHANGES = {"destroy", "apply", "import", "force-unlock", "taint"}
_IAC_PAIRS = {("state", "rm"), ("state", "mv"), ("state", "push"), ("workspace", "delete")}
_PULUMI_CHANGES = {"destroy", "down", "up", "update", "cancel"}
_KUBECTL_VALUES = {"-n", "--namespace", "--context", "-f", "--filename", "-l", "--selector"}
_CLOUD_VALUES = {"--profile", "--region", "--project", "-g", "--resource-group", "--zone"}
_SQL_DESTROYS = re.compile(
    r"\b(?:drop\s+(?:database|schema|table|user|role|owned|collection|keyspace|index|view"
    r"|function|procedure|trigger|sequence|type|extension|materialized|tablespace|domain)"
    r"|truncate\b|delete\s+from\s+[\w.\"`\[\]]+\s*(?:;|$|where\s+(?:1\s*=\s*1|true)\b)"
    r"|alter\s+table\s+\S+\s+drop\b|update\s+[\w.\"`\[\]]+\s+set\s+(?:(?!\bwhere\b)[^;])*(?:;|$)"
    r"|flushall|flushdb|dropDatabase|\.drop\(\)|(?:deleteMany|remove)\(\s*(?:\{\s*\})?\s*\))"
    # `… | xargs redis-cli DEL`: every key listed.
    r"|^\s*(?:del|unlink)\s*$",
    re.I | re.M,
)
#: Database clients, and the options giving them the statements to run.
_DATABASE_CLIENTS = {
    **dict.fromkeys(("psql", "pgcli", "usql"), (("c", "--command"),)),
    **dict.fromkeys(("mysql", "mariadb", "mycli"), (("e", "--execute"),)),
    **dict.fromkeys(("clickhouse-client", "clickhouse"), (("", "--query"), ("q", ""))),
    **dict.fromkeys(("mongo", "mongosh"), (("", "--eval"),)),
    **dict.fromkeys(("sqlcmd",), (("Q", ""), ("q", ""))),
    **dict.fromkeys(("cqlsh", "snowsql", "cockroach"), (("e", "--execute"),)),
    #: The statements are their operands.
    **dict.fromkeys(("redis-cli", "valkey-cli", "sqlite3", "duckdb", "litecli"), ()),
}
#: Framework commands that drop or empty the database (``rails db:drop``).
_DATABASE_DROPS = {
    **dict.fromkeys(
        ("rails", "rake"), frozenset({"db:drop", "db:reset", "db:purge", "db:migrate:reset"})
    ),
    **dict.fromkeys(("sequelize",), frozenset({"db:drop"})),
    **dict.fromkeys(("mix",), frozenset({"ecto.drop", "ecto.reset"})),
    **dict.fromkeys(("artisan",), frozenset({"migrate:fresh", "migrate:reset", "db:wipe"})),
    **dict.fromkeys(("manage.py",), frozenset({"flush", "reset_db", "sqlflush"})),
}


#: Every program :func:`_destroys` knows (the others are let through at once).
_INFRA_PROGRAMS = {
    *_IAC, *_CLOUDS, *_DATABASE_CLIENTS, *_DATABASE_DROPS, *_KUBECTL, "pulumi", "helm", "aws", "gh", "glab", "docker", "podman", "nerdctl", "docker-compose",
    "dropdb", "dropuser", "mysqladmin", "prisma", "alembic", "etcdctl", "consul", "vault",
    "pg_restore", "mongorestore",
}  # fmt: skip
#: aws commands that change a stack or a running service (what ``terraform apply`` is).
_AWS_CHANGES = {
    *(("cloudformation", v) for v in ("deploy", "create-stack", "update-stack")),
    ("cloudformation", "execute-change-set"),
    *(("lambda", v) for v in ("update-function-code", "update-function-configuration")),
    ("ecs", "update-service"),
    ("autoscaling", "update-auto-scaling-group"),
    ("autoscaling", "set-desired-capacity"),
}
#: Key-value and secret stores, and their subcommands that delete.
_STORE_DELETES = {
    "etcdctl": {("del",), ("lease", "revoke"), ("member", "remove")},
    "consul": {("kv", "delete"), ("acl", "token")},
    "vault": {("kv", "delete"), ("kv", "destroy"), ("kv", "metadata"), ("delete",)},
}


def _infra_destroy(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        if "--help" in s.argv:
            continue  # asking how, not doing
        program, args = _program(s)
        what = _destroys(call, s, program, args)
        if what is not None:
            return f"{what}: for the human to allow"
    return None


def _destroys(call: Call, s: Simple, program: str, args: list[str]) -> str | None:
    """What in ``program args`` deletes or changes real infrastructure, or None."""
    if program not in _INFRA_PROGRAMS and not interpreter(program) and "rails" not in program:
        return None
    words = _words(args, _KUBECTL_VALUES | _CLOUD_VALUES)
    flags = set(args) | {f"-{letter}" for letter in _short_flags(args)}
    inner = _exec_inside(program, args, _KUBECTL)
    if inner is not None:  # `docker exec db psql -c …`, `kubectl exec pod -- …`
        return _destroys(call, s, inner[0].rsplit("/", 1)[-1], inner[1:])
    if program in _IAC:
        words = words[1:] if words[:1] == ["run-all"] else words
        if words[:1] and (words[0] in _IAC_CHANGES or tuple(words[:2]) in _IAC_PAIRS):
            return f"{program} {' '.join(words[:2])} changes real infrastructure"
    elif program == "pulumi":
        if set(words[:1]) & _PULUMI_CHANGES or words[:2] in (["stack", "rm"], ["state", "delete"]):
            return f"pulumi {words[0]} changes real infrastructure"
    elif program in _KUBECTL:
        head = words[:2]
        scaled = "scale" in head and "--replicas=0" in args
        if {"delete", "drain"} & set(head) or scaled or ("replace" in head and "--force" in flags):
            return f"{program} {' '.join(head)} changes a live cluster"
    elif program == "helm":
        if set(words[:1]) & {"uninstall", "delete", "del", "un"}:
            return f"helm {words[0]} removes a release from a live cluster"
    elif program == "aws":
        s3_delete = words[:1] == ["s3"] and (words[1:2] in (["rm"], ["rb"]) or "--delete" in flags)
        if s3_delete or any(_CLOUD_DELETES.match(w) for w in words[1:3]):
            return f"aws {' '.join(words[:2])} deletes cloud resources"
        if tuple(words[:2]) in _AWS_CHANGES:
            return f"aws {' '.join(words[:2])} changes real infrastructure"
    elif program in _CLOUDS:
        if any(_CLOUD_DELETES.match(w) for w in words[:4]):
            return f"{program} {' '.join(words[:3])} deletes cloud resources"
    elif program in ("gh", "glab"):
        if words[:2] in (["repo", "delete"], ["repo", "archive"]):
            return f"{program} repo {words[1]} deletes a repository"
    elif program in ("docker", "podman", "nerdctl", "docker-compose"):
        if _docker_destroys(program, _words(args), flags):
            return f"{program} {' '.join(_words(args)[:2])} deletes containers, images or volumes"
    elif program in _STORE_DELETES:
        if any(tuple(words[: len(d)]) == d for d in _STORE_DELETES[program]):
            return f"{program} {' '.join(words[:2])} deletes stored keys"
    elif program in ("pg_restore", "mongorestore"):
        if {"-c", "--clean", "--drop"} & flags:
            return f"{program} {' '.join(sorted({'-c', '--clean', '--drop'} & flags))} drops what it restores over"
    elif program in ("dropdb", "dropuser") or (program == "mysqladmin" and "drop" in words):
        return f"{program} deletes a database"
    elif program in _DATABASE_CLIENTS:
        if _sql_destroys(call, s, program, args):
            return f"{program}: dropping, truncating or emptying data"
    elif drop := _drops_database(s, program, args, words):
        return f"{drop} drops the database"
    return None


def _docker_destroys(program: str, words: list[str], flags: set[str]) -> bool:
    head = tuple(words[:2])
    if program == "docker-compose" or head[:1] == ("compose",):
        return "down" in words and bool({"-v", "--volumes", "--rmi"} & flags)
    if head in (("system", "prune"), ("container", "prune")) or head[:1] == ("volume",):
        return head != ("volume", "ls") and head != ("volume", "inspect") and len(head) == 2
    if "prune" in head and {"-a", "--all", "--volumes"} & flags:
        return True
    # `docker rm -f $(docker ps -aq)`: every container, whatever they are.
    every = any(substituted(w) for w in words)
    return every and bool(head) and head[0] in ("rm", "rmi", "kill", "stop")


def _sql_destroys(call: Call, s: Simple, program: str, args: list[str]) -> bool:
    options = _DATABASE_CLIENTS[program]
    texts = [v for short, long in options for v in _option_values(args, short, long)]
    if not options:
        operands = _words(args, {"-h", "-p", "-a", "-n", "--cmd"})
        local = program in ("sqlite3", "duckdb", "litecli") and operands
        if local and call.writable(call.resolve(operands[0], s.cwd)):
            return False  # a database file of the worktree's own (or a scratch one)
        texts.append(" ".join(operands))
    fed = fed_text(s.piped_from) if s.piped_from is not None else None
    texts += [t for t in (s.stdin, fed) if t]
    return any(_SQL_DESTROYS.search(t) for t in texts)


def _drops_database(s: Simple, program: str, args: list[str], words: list[str]) -> str | None:
    """The framework command in ``s`` dropping the database (``rails db:drop``)."""
    if interpreter(program) in ("python", "php") and args[:1]:
        program, words = args[0].rsplit("/", 1)[-1], words[1:]  # manage.py, artisan
    elif s.argv[:1] and s.argv[0].endswith("bin/rails"):
        program = "rails"
    if dropped := _starts(words, _DATABASE_DROPS, program, 2):
        return f"{program} {dropped}"
    if program == "prisma" and (
        words[:2] == ["migrate", "reset"] or {"--force-reset", "--accept-data-loss"} & set(args)
    ):
        return "prisma " + " ".join(words[:2])
    if program in ("alembic", "supabase") and words[:2] in (["downgrade", "base"], ["db", "reset"]):
        return f"{program} {' '.join(words[:2])}"
    return None
