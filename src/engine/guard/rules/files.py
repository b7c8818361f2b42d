"""What a command deletes, writes, downloads and links (``rm``'s operands, the folders
``find -delete`` searches, ``tar -C``, ``curl -o``, the literal paths inline code names),
and the rules over them: empty-variable, rm-outside-worktree, unknown-delete,
write-outside-worktree."""

from __future__ import annotations

import re

from engine.guard.command import Simple, braces, find_roots, substituted
from engine.guard.paths import DEVICES, Call
from engine.guard.rules.argv import (
    _memo,
    _operands,
    _option_values,
    _program,
    _short_flags,
    _words,
)
from engine.guard.rules.git import _git


def _empty_variable(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        deleted = _deleted(s)
        if deleted and s.cwd and (moved := _LEADING_VARIABLE.match(s.cwd.rstrip("/") + "/")):
            names = _VARIABLE_NAME.findall(moved[0])
            if not any(n in ("HOME", "PWD", "TMPDIR") for n in names):
                relative = [t for t in deleted if not t.startswith(("/", "~", "$"))]
                if relative:
                    return (
                        f"${names[0]} may be empty: `cd {s.cwd}` would go to the home folder"
                        f" and delete {relative[0]!r} there"
                    )
        if s.program == "find" and deleted:
            bare = [r for r in find_roots(s.argv) if _BARE_VARIABLE.fullmatch(r)]
            names = [n for r in bare for n in _VARIABLE_NAME.findall(r)]
            if names and not any(n in ("HOME", "PWD", "TMPDIR") for n in names):
                return (
                    f"${names[0]} may be empty: find would then delete from the current"
                    " folder, the worktree's .git included"
                )
        for target in deleted:
            match = _LEADING_VARIABLE.match(target)
            if match is None:
                continue
            names = _VARIABLE_NAME.findall(match[0])
            if any(n in ("HOME", "PWD", "TMPDIR") for n in names):
                continue
            shown = "".join(f"${n}" for n in names)
            return f"{shown} may be empty: deleting {target!r} would start at /"
    return None


#: A word starting with variables (no default) before a ``/``: ``$D/``, ``${A}${B}/x``.
_LEADING_VARIABLE = re.compile(
    r"^(?:\$(?:\{(?:[A-Za-z_]\w*|\d+)(?::?-\}|[#%][^}]*\}|\})|[A-Za-z_]\w*|\d|[@*]))+/"
)
_VARIABLE_NAME = re.compile(r"\$\{?([A-Za-z_]\w*|\d+|[@*])")
_BARE_VARIABLE = re.compile(r"\$(?:\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)")


def _rm_outside(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        for target in _deleted(s):
            if substituted(target):
                continue  # unknown-delete asks about it
            if not call.writable(call.resolve(target, s.cwd), deleted=True):
                return f"deleting {s.shown(target)!r}: outside the worktree"
    return None


def _unknown_delete(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        for target in _deleted(s):
            if substituted(target):
                return f"deleting {s.shown(target)!r}: what the command prints cannot be known beforehand"
    return None


def _write_outside(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        for target in [*s.writes, *_written_arguments(s)]:
            if target in DEVICES or substituted(target):
                continue
            if not call.writable(call.resolve(target, s.cwd)):
                return f"writing {s.shown(target)!r}: outside the worktree"
    return None


def _deleted(s: Simple) -> list[str]:
    """What ``s`` deletes (see :func:`_deletes`), brace lists expanded."""
    return _memo(s, "deleted", lambda s: [w for t in _deletes(s) for w in braces(t)])


def _deletes(s: Simple) -> list[str]:
    """What ``s`` deletes: ``rm``'s operands, the folders ``find`` searches when it
    deletes what it finds (``-delete``, ``-exec rm``), what ``mv`` moves away, what an
    ``rsync --delete`` prunes, and the literal paths inline code deletes."""
    program = s.program
    if program in ("rm", "rmdir", "shred", "unlink", "trash", "trash-put", "srm"):
        return _operands(s.argv[1:])
    if program == "find" and _find_deletes(s):
        return find_roots(s.argv)
    if program == "mv":
        operands = _operands(s.argv[1:])
        if _option_values(s.argv[1:], "t", "--target-directory"):
            return operands
        return operands[:-1]
    if program == "rsync" and any(a.startswith("--delete") for a in s.argv):
        return _operands(s.argv[1:])[-1:]
    if s.code is not None and s.code.deleted:
        return [*s.code.deleted, *(s.code.args if s.code.touches_files else [])]
    return []


def _find_deletes(s: Simple) -> bool:
    return "-delete" in s.argv or _find_runs_rm(s.argv)


_REMOVERS = {"rm", "shred", "unlink", "rmdir"}


def _find_runs_rm(argv: list[str]) -> bool:
    return any(
        word in ("-exec", "-execdir", "-ok", "-okdir")
        and argv[i + 1 : i + 2]
        and argv[i + 1].rsplit("/", 1)[-1] in _REMOVERS
        for i, word in enumerate(argv)
    )


#: Programs whose last argument is where they write, and those writing each argument.
_WRITES_LAST = {"cp", "mv", "install", "ln", "rsync", "scp"}
_WRITES_ALL = {"touch", "mkdir", "tee", "truncate", "chmod", "chown"}
#: Programs taking the folder they write into as ``-t DIR`` (GNU coreutils).
_TARGET_DIRECTORY = {"cp", "mv", "install", "ln"}
_CLONE_VALUES = {
    *("-b", "--branch", "--depth", "-o", "--origin", "--reference", "-c", "--config"),
    *("--filter", "-j", "--jobs", "--template", "--separate-git-dir", "-u", "--upload-pack"),
}


def _written_arguments(s: Simple) -> list[str]:
    """The files ``s``'s program writes because of its arguments (as written, brace
    lists expanded)."""
    return _memo(s, "written", lambda s: [w for t in _writes(s) for w in braces(t)])


def _writes(s: Simple) -> list[str]:
    """The files ``s``'s program writes because of its arguments (as written)."""
    argv, program = s.argv[1:], s.program
    args = [a for a in argv if not a.startswith("-")]
    if program in _TARGET_DIRECTORY and (
        folders := _option_values(argv, "t", "--target-directory")
    ):
        return folders
    if program == "install" and "d" in _short_flags(argv, "mogt"):
        return args  # install -d DIR...: every operand is a folder made
    if program in _WRITES_LAST:
        return args[-1:] if len(args) >= 2 else []
    if program in _WRITES_ALL:
        return args[1:] if program in ("chmod", "chown") else args
    if program == "dd":
        return [a[3:] for a in argv if a.startswith("of=")]
    if program == "sed" and any(a.startswith("-i") for a in argv):
        return args[1:]
    if program == "tar":
        return _tar_writes(argv)
    if program == "unzip":
        return _option_values(argv, "d", "--directory")
    if program == "git":
        sub, rest, _, _ = _git(s)
        words = _words(rest, _CLONE_VALUES)
        if sub == "clone" and len(words) >= 2:
            return words[1:2]
        if sub == "worktree" and words[:1] == ["add"] and len(words) >= 2:
            return words[1:2]
        return []
    if s.code is not None:
        written = list(s.code.written)
        if program.startswith("perl") and "i" in _short_flags(argv, "eE"):
            written += s.code.args  # perl -pi -e CODE FILES edits the files in place
        elif written and s.code.touches_files:
            written += s.code.args
        return written
    if program == "wget":
        return _option_values(argv, "P", "--directory-prefix") + _downloaded(s)
    if program == "curl":
        return _option_values(argv, "", "--output-dir") + _downloaded(s)
    return _installed_into(s) + [source for source, readonly in _mounts(s) if not readonly]


#: Options naming the folder a build or package tool installs into.
_INSTALL_INTO = {
    "pip": (("t", "--target"), ("", "--prefix"), ("", "--root")),
    "cmake": (("", "--prefix"),),
    **dict.fromkeys(("npm", "pnpm"), (("", "--prefix"),)),
}
#: ``make install`` variables naming where it installs.
_MAKE_INTO = re.compile(r"^(?:PREFIX|prefix|DESTDIR|BINDIR|bindir|INSTALL_DIR)=(.+)$")


def _installed_into(s: Simple) -> list[str]:
    """The folders a package or build tool installs into (``pip install --target X``,
    ``make install PREFIX=X``)."""
    program, args = _program(s)
    program = "pip" if program.startswith("pip") else program
    if program in ("make", "gmake") and "install" in args:
        return [m[1] for a in args if (m := _MAKE_INTO.match(a))]
    if program == "cmake" and "--install" not in args:
        return []
    return [
        v
        for short, long in _INSTALL_INTO.get(program, ())
        for v in _option_values(args, short, long)
    ]


_CONTAINER_RUNS = {"run", "create"}


def _mounts(s: Simple) -> list[tuple[str, bool]]:
    """The host folders a container is started with (``docker run -v /:/host``), and
    whether each is mounted read-only; named volumes are none."""
    if s.program not in ("docker", "podman", "nerdctl"):
        return []
    args = s.argv[1:]
    args = args[1:] if args[:1] == ["container"] else args
    if args[:1] == ["compose"]:
        args = args[args.index("run") :] if "run" in args else []
    if not args or args[0] not in _CONTAINER_RUNS:
        return []
    found: list[tuple[str, bool]] = []
    for value in _option_values(args, "v", "--volume"):
        source, _, rest = value.partition(":")
        found.append((source, "ro" in rest.split(":")[-1].split(",")))
    for value in _option_values(args, "", "--mount"):
        fields = dict(f.partition("=")[::2] for f in value.split(","))
        source = fields.get("source") or fields.get("src") or ""
        found.append((source, "readonly" in fields or fields.get("ro") == "true"))
    return [(src, ro) for src, ro in found if src.startswith(("/", "~", ".", "$"))]


def _tar_writes(argv: list[str]) -> list[str]:
    """The folder ``tar`` extracts into (``-C``), or the archive it creates (``-f``)."""
    first = argv[0] if argv else ""
    old_style = bool(first) and not first.startswith("-")  # `tar xzf FILE`
    letters = (set(first) if old_style else set()) | _short_flags(argv, "fCbTXgHKLNV")
    if "x" in letters or {"--extract", "--get"} & set(argv):
        return _option_values(argv, "C", "--directory")
    if letters & {"c", "r", "u"} or {"--create", "--append", "--update"} & set(argv):
        archives = _option_values(argv, "f", "--file")
        if old_style and "f" in first and len(argv) > 1:
            archives.append(argv[1])
        return [a for a in archives if a and a != "-"]
    return []


def _downloaded(s: Simple) -> list[str]:
    """The files ``curl``/``wget`` save to (``-`` is standard output)."""
    args = s.argv[1:]
    if s.program == "curl":
        named = _option_values(args, "o", "--output")
        remote = "O" in _short_flags(args, "o") or "--remote-name" in args
        return named + (_url_names(args) if remote else [])
    if s.program == "wget":
        return _option_values(args, "O", "--output-document") or _url_names(args)
    return []


def _url_names(args: list[str]) -> list[str]:
    """The file names a download of each URL in ``args`` is saved under."""
    urls = [a for a in args if re.match(r"^[a-z]+://", a)]
    return [u.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] for u in urls]


def _links(call: Call, commands: list[Simple]) -> dict[str, str]:
    """The symbolic links a command line makes that point outside (``ln -s / x``): the
    link's path and its target's."""
    links: dict[str, str] = {}
    for s in commands:
        if s.program != "ln" or not ({"s"} & _short_flags(s.argv[1:]) or "--symbolic" in s.argv):
            continue
        operands = _operands(s.argv[1:])
        if not operands:
            continue
        target = operands[0]
        name = operands[1] if len(operands) > 1 else target.rstrip("/").rsplit("/", 1)[-1]
        link = call.resolve(name, s.cwd)
        # A relative target is relative to the link's folder.
        base = str(link.parent) if not target.startswith(("/", "~", "$")) else None
        resolved = call.resolve(target, base)
        if not call.writable(resolved):
            links[str(link)] = str(resolved)
    return links
