"""Rules over releases and installs, asked about: publish (a package, an image, a site, a
release tag pushed) and global-config (the machine's packages, global tools, the user's
settings)."""

from __future__ import annotations

import re

from engine.guard.command import Simple
from engine.guard.interpreters import interpreter
from engine.guard.paths import Call
from engine.guard.rules.argv import _option_values, _program, _starts, _words
from engine.guard.rules.git import _config_writes, _git

#: Programs, and the subcommands of theirs that publish a package, an image or a site.
_PUBLISHES = {
    **dict.fromkeys(
        ("npm",), frozenset({"publish", "unpublish", "deprecate", "dist-tag", "owner"})
    ),
    **dict.fromkeys(
        ("pnpm", "yarn", "bun", "lerna", "changeset", "poetry", "uv", "flit"),
        frozenset({"publish"}),
    ),
    **dict.fromkeys(("hatch", "pdm", "vsce", "ovsx"), frozenset({"publish"})),
    **dict.fromkeys(("twine",), frozenset({"upload", "register"})),
    **dict.fromkeys(("maturin",), frozenset({"publish", "upload"})),
    **dict.fromkeys(("cargo",), frozenset({"publish", "yank", "owner"})),
    **dict.fromkeys(("gem",), frozenset({"push", "yank", "owner"})),
    **dict.fromkeys(("docker", "podman", "buildah", "nerdctl", "nuget"), frozenset({"push"})),
    **dict.fromkeys(("helm",), frozenset({"push", "cm-push"})),
    **dict.fromkeys(("crane", "skopeo"), frozenset({"push", "copy", "cp"})),
    **dict.fromkeys(("mix",), frozenset({"hex.publish"})),
    **dict.fromkeys(
        ("firebase", "fly", "flyctl", "serverless", "sls", "cdk", "sam"), frozenset({"deploy"})
    ),
    **dict.fromkeys(("wrangler",), frozenset({"deploy", "publish"})),
    **dict.fromkeys(("mvn", "mvnw"), frozenset({"deploy", "release:perform"})),
    **dict.fromkeys(("heroku",), frozenset({"container:push", "container:release"})),
    **dict.fromkeys(("anaconda", "jf"), frozenset({"upload"})),
    **dict.fromkeys(("sbt",), frozenset({"publish", "publishSigned", "release", "+publish"})),
    **dict.fromkeys(("rake",), frozenset({"release"})),
    **dict.fromkeys(("oras",), frozenset({"push"})),
    **dict.fromkeys(("railway",), frozenset({"up", "deploy"})),
    **dict.fromkeys(("eb",), frozenset({"deploy"})),
    **dict.fromkeys(("amplify",), frozenset({"publish", "push"})),
}
#: Two words that publish (``dotnet nuget push``, ``gh release create``).
_PUBLISH_PAIRS = {
    ("yarn", "npm"): {"publish"},
    ("dotnet", "nuget"): {"push"},
    ("dart", "pub"): {"publish"},
    ("flutter", "pub"): {"publish"},
    ("pod", "trunk"): {"push"},
    ("gh", "release"): {"create", "upload", "delete", "edit"},
    ("glab", "release"): {"create", "upload", "delete", "update"},
    ("gh", "pr"): {"merge"},
    ("gh", "gist"): {"create"},
    ("glab", "mr"): {"merge"},
}
#: Package managers that run a publish for each workspace (``yarn workspaces foreach``).
_JS_RUNNERS = {"npm", "yarn", "pnpm", "bun", "lerna", "nx", "turbo"}
#: Release tools that publish whatever they are given.
_RELEASERS = {"semantic-release", "np", "release-it", "goreleaser"}
#: A tag's name (what is pushed when a version is released).
_VERSION = re.compile(r"^(?:refs/tags/.+|v?\d+(?:\.\d+)+(?:[-+.][\w.]+)?)$")


#: Every program :func:`_publishes` knows.
_PUBLISHERS = {
    *_PUBLISHES, *(program for program, _ in _PUBLISH_PAIRS), *_RELEASERS, *_JS_RUNNERS, "gradle",
    "gradlew", "gcloud", "vercel", "netlify", "aws", "gsutil",
}  # fmt: skip


def _publish(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        if "--help" in s.argv:
            continue  # asking how, not doing
        program, args = _program(s)
        if "--dry-run" in args or "--dryrun" in args:
            continue
        what = _publishes(program, args, _words(args))
        if what is None:
            sub, git_args, _, _ = _git(s)
            refs = _words(git_args, {"-o", "--push-option", "--repo"})[1:]
            tags = {"--tags", "--follow-tags"} & set(git_args) or any(
                r == "tag" or _VERSION.match(r.rsplit(":", 1)[-1]) for r in refs
            )
            what = "git push of tags" if sub == "push" and tags else None
        if what is not None:
            return f"{what} publishes a release: for the human to allow"
    return None


def _publishes(program: str, args: list[str], words: list[str]) -> str | None:
    """What publishes in ``program args`` (its words ``words``), or None."""
    if program not in _PUBLISHERS and not interpreter(program):
        return None
    if first := _starts(words, _PUBLISHES, program, 2):
        return f"{program} {first}"
    if program in _JS_RUNNERS and "publish" in words:
        return f"{program} … publish"
    second = _PUBLISH_PAIRS.get((program, words[0]), set()) if words else set()
    if words[1:2] and words[1] in second:
        return f"{program} {words[0]} {words[1]}"
    if program in _RELEASERS or (program in ("gradle", "gradlew") and "publish" in " ".join(words)):
        return program
    if program == "cargo" and words[:1] == ["release"] and {"-x", "--execute"} & set(args):
        return "cargo release --execute"
    public = (
        {"--public", "--push"} & set(args)
        or "--visibility=public" in args
        or ("--visibility" in args and "public" in args)
    )
    if program == "gh" and words[:2] in (["repo", "create"], ["repo", "edit"]) and public:
        return f"gh repo {words[1]} --public"
    pushed = "--push" in args or "type=registry" in " ".join(args)
    if program in ("docker", "podman") and pushed:
        return f"{program} build --push"
    if program == "gcloud" and "deploy" in words:
        return "gcloud deploy"
    if program in ("vercel", "netlify") and {"--prod", "--production"} & set(args):
        return f"{program} --prod"
    verb = words[1:2] if program == "aws" else words[:1]
    copies = program in ("aws", "gsutil") and verb in (["cp"], ["sync"], ["mv"], ["rsync"])
    buckets = ("s3://", "gs://")
    if copies and len(words) >= 3 and words[-1].startswith(buckets):
        return None if words[-2].startswith(buckets) else f"{program} {verb[0]} to a bucket"
    setup = interpreter(program) == "python" and args[:1] and args[0].endswith("setup.py")
    if setup and {"upload", "register"} & set(args):
        return "setup.py upload"
    return None


#: Package managers of the machine (and per-user tool installers), and the subcommands
#: of theirs that change it.
_INSTALLERS = {
    **dict.fromkeys(("apt", "apt-get", "aptitude"), frozenset({"install", "remove", "purge", "reinstall",
        "autoremove", "upgrade", "dist-upgrade", "full-upgrade", "build-dep", "safe-upgrade"})),
    **dict.fromkeys(("dnf", "yum", "microdnf"), frozenset({"install", "remove", "erase", "update",
        "upgrade", "reinstall", "downgrade", "autoremove"})),
    "zypper": {"install", "in", "remove", "rm", "update", "up", "dist-upgrade", "dup"},
    "apk": {"add", "del", "upgrade"},
    **dict.fromkeys(("snap", "flatpak"), frozenset({"install", "remove", "uninstall", "refresh", "update"})),
    "brew": {"install", "uninstall", "remove", "rm", "reinstall", "upgrade", "tap", "untap",
        "link", "unlink", "services", "pin"},
    **dict.fromkeys(("port", "choco", "winget", "scoop"), frozenset({"install", "uninstall", "upgrade"})),
    "gem": {"install", "uninstall", "update"},
    "cargo": {"install", "uninstall"},
    "pipx": {"install", "uninstall", "inject", "upgrade", "reinstall", "upgrade-all",
        "uninstall-all", "ensurepath"},
    **dict.fromkeys(("asdf", "pyenv", "rbenv", "nodenv", "goenv"), frozenset({"global"})),
    "defaults": {"write", "delete"},
    "gsettings": {"set", "reset"},
    "dconf": {"write", "reset", "load"},
    "corepack": {"enable"},
    "volta": {"install", "uninstall"},
    "fnm": {"default"},
    "rustup": {"default", "self", "set"},
    "sdk": {"install", "default", "uninstall"},
}  # fmt: skip
#: Logins: the user's credential stored for a package registry or a host (``npm login``;
#: a container registry's login, for a build to pull and push, is the run's business).
_LOGINS = {
    *("npm", "pnpm", "yarn", "cargo", "heroku", "vercel", "firebase", "netlify", "wrangler"),
    *("fly", "flyctl", "az"),
}
#: Two words that install into a tool of the user, or log it in (``gh extension install``).
_USER_PAIRS = {
    ("gh", "extension"): {"install", "upgrade", "remove"},
    ("gh", "auth"): {"setup-git", "logout"},
    ("helm", "plugin"): {"install", "uninstall", "update"},
    ("kubectl", "krew"): {"install", "uninstall"},
    ("vagrant", "plugin"): {"install"},
    ("gcloud", "auth"): {"login", "activate-service-account", "configure-docker"},
    ("gcloud", "config"): {"set", "unset"},
    ("aws", "configure"): {"set", "import", "sso"},
    ("composer", "global"): {"require", "remove", "update"},
    ("git", "lfs"): {"install", "uninstall"},
    ("go", "env"): {"-w", "-u"},
    ("bundle", "config"): {"set", "unset"},
    ("conda", "config"): {"--set", "--add", "--append", "--prepend", "--remove"},
    ("nvm", "alias"): {"default"},
}
#: Their option-shaped forms (``pacman -S``, ``dpkg -i``, ``nix-env -i``).
_INSTALL_OPTIONS = {
    "pacman": ("-S", "-R", "-U"),
    "dpkg": ("-i", "--install", "-r", "--remove", "-P", "--purge"),
    "nix-env": ("-i", "-e", "--install", "--uninstall", "-u", "--upgrade"),
    "update-alternatives": ("--set", "--install", "--remove", "--config", "--auto"),
}
_JS_INSTALLS = {"install", "i", "add", "uninstall", "un", "remove", "rm", "update", "up", "link"}
_GLOBAL = {"-g", "--global", "--location=global"}
_PIP_OUTSIDE = {"--user", "--break-system-packages", "--system"}
_PIP_OUTSIDE_ENV = {"PIP_BREAK_SYSTEM_PACKAGES", "PIP_USER"}


def _global_config(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        if "--help" in s.argv:
            continue  # asking how, not doing
        program, args = _program(s)
        what = _changes_user(call, s, program, args)
        if what is not None:
            return f"{what} changes the machine or the user's settings beyond the worktree"
    return None


def _changes_user(call: Call, s: Simple, program: str, args: list[str]) -> str | None:
    words = _words(args)
    flags = set(args)
    head = words[:2]
    if sub := _starts(words, _INSTALLERS, program):
        return f"{program} {sub}"
    logs_in = words[:1] and words[0] in ("login", "adduser", "add-user")
    if program in _LOGINS and (logs_in or words[:2] in (["auth", "login"], ["npm", "login"])):
        return f"{program} login"
    if words and (program, words[0]) in _USER_PAIRS:
        pair = _USER_PAIRS[(program, words[0])]
        following = [a for a in args[args.index(words[0]) + 1 :] if a != "--global"]
        local = {"--local", "--worktree", "--project"} & flags
        if not local and following[:1] and following[0] in pair:
            return f"{program} {words[0]} {' '.join(following[:1])}".rstrip()
    if program == "code" and {"--install-extension", "--uninstall-extension"} & flags:
        return "code --install-extension"
    if program in ("conda", "mamba", "micromamba") and "base" in _option_values(
        args, "n", "--name"
    ):
        return f"{program} {' '.join(head[:1])} in the base environment"
    if program in ("mise", "rtx") and head[:1] == ["use"] and {"-g", "--global"} & flags:
        return f"{program} use --global"
    if program in ("poetry", "pdm") and head[:1] == ["config"] and not {"--local", "-l"} & flags:
        writes = len(words) >= 3 or {"--unset", "-d", "--delete"} & flags
        return f"{program} config (the user's)" if writes else None
    if program == "composer" and head[:1] == ["config"] and {"-g", "--global"} & flags:
        return "composer config --global"
    if program == "deno" and head[:1] == ["install"] and {"-g", "--global"} & flags:
        return "deno install --global"
    git = _git(s) if program == "git" else None
    if git is not None and git.sub == "config" and _config_writes(git.args):
        files = _option_values(git.args, "f", "--file")
        if files and not call.writable(call.resolve(files[0], s.cwd)):
            return "git config --file beyond the worktree"
    if program in _INSTALL_OPTIONS and any(a.startswith(_INSTALL_OPTIONS[program]) for a in args):
        return program
    if program == "git" and {"--global", "--system"} & flags:
        git = _git(s)
        return "git config --global" if git.sub == "config" and _config_writes(git.args) else None
    if program in ("npm", "pnpm", "yarn", "bun") and head[:1] == ["config"]:
        changes = head[1:] and head[1] in ("set", "delete", "rm", "edit", "fix")
        return f"{program} config {head[1]}" if changes else None
    if program in ("npm", "pnpm", "bun") and flags & _GLOBAL and set(head[:1]) & _JS_INSTALLS:
        return f"{program} {head[0]} -g"
    if (program == "npm" and (words == ["link"] or head[:1] == ["set"])) or (
        program == "yarn" and head[:1] == ["global"]
    ):
        return f"{program} {' '.join(head)}"
    if program.startswith("pip") and head[:1] == ["config"] and head[1:] != ["list"]:
        return "pip config " + " ".join(head[1:])
    pip_env = {e.split("=", 1)[0] for e in s.env} & _PIP_OUTSIDE_ENV
    if (
        program.startswith("pip")
        and set(head[:1]) & {"install", "uninstall"}
        and (flags & _PIP_OUTSIDE or pip_env)
    ):
        return f"pip {head[0]} {' '.join(sorted(flags & _PIP_OUTSIDE | pip_env))}"
    if program == "uv" and (
        head in (["tool", "install"], ["tool", "uninstall"])
        or (head == ["pip", "install"] and "--system" in flags)
    ):
        return f"uv {' '.join(head)}"
    if program == "nix" and head == ["profile", "install"]:
        return "nix profile install"
    return None
