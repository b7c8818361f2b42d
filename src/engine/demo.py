"""The embedded demo workspace: three small real git repos, scenarios and a cockpit.toml.

Built from text in this module, with no network and no API key, so ``cockpit demo``
works on a fresh machine.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

REPOS: dict[str, dict[str, str]] = {
    "api": {
        "README.md": "# api\n\nA tiny HTTP-ish API used by the Cockpit demo.\n",
        # Every run on the repo loads its AGENTS.md as a skill (the cockpit shows it).
        "AGENTS.md": (
            "# Working on api\n\n"
            "- Handlers return a dict with a `status` key; never raise to the caller.\n"
            "- Run `python3 -m pytest -q` before you say you are done.\n"
        ),
        "api/__init__.py": "",
        "api/app.py": (
            '"""Request handlers of the demo API."""\n\n\n'
            "def login(user: str, password: str) -> dict:\n"
            '    """Pretend to log a user in."""\n'
            "    if not user or not password:\n"
            '        return {"status": 400}\n'
            '    return {"status": 200, "user": user}\n'
        ),
        "tests/test_app.py": (
            "from api.app import login\n\n\n"
            "def test_login_ok():\n"
            '    assert login("ada", "pw")["status"] == 200\n'
        ),
    },
    "cli": {
        "README.md": "# cli\n\nA command-line tool of the Cockpit demo.\n",
        "cli/__init__.py": "",
        "cli/main.py": (
            '"""Entry point of the demo CLI."""\n\n'
            "import sys\n\n\n"
            "def main(argv: list[str]) -> int:\n"
            '    print("hello from the demo cli", argv)\n'
            "    return 0\n\n\n"
            'if __name__ == "__main__":\n'
            "    raise SystemExit(main(sys.argv[1:]))\n"
        ),
    },
    "shared": {
        "README.md": "# shared\n\nHelpers shared by the demo's api and cli.\n",
        "shared/__init__.py": "",
        "shared/text.py": (
            '"""Text helpers."""\n\n\n'
            "def slug(text: str) -> str:\n"
            '    """Lower-case words joined by dashes."""\n'
            '    return "-".join(text.lower().split())\n'
        ),
    },
}

SCENARIOS: dict[str, str] = {
    "rate-limit.toml": '''# Adds a rate limiter to the api repo, step by step.
[[step]]
say = "Reading the login handler to see where a limiter fits."
run = "cat api/app.py"

[[step]]
say = "Adding a small fixed-window rate limiter."
write = { path = "api/limiter.py", content = """\\"\\"\\"A fixed-window rate limiter.\\"\\"\\"

import os
import time


class Limiter:
    \\"\\"\\"Allow at most `limit` calls per `window` seconds per key.\\"\\"\\"

    def __init__(self, limit: int = 5, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, list[float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        hits = [t for t in self._hits.get(key, []) if now - t < self.window]
        self._hits[key] = hits
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True
""" }

# The api repo's lint gate (ruff) fails this turn on the unused import: the run gets
# the findings back (a fix round) and the next turn removes it.
[[step]]
say = "The lint gate flagged an unused import (F401) in api/limiter.py: removing it."
edit = { path = "api/limiter.py", old = "import os\\nimport time\\n", new = "import time\\n" }

[[step]]
say = "Wiring the limiter into /login."
edit = { path = "api/app.py", old = "def login(user: str, password: str) -> dict:\\n    \\"\\"\\"Pretend to log a user in.\\"\\"\\"\\n", new = "from api.limiter import Limiter\\n\\n_limiter = Limiter()\\n\\n\\ndef login(user: str, password: str) -> dict:\\n    \\"\\"\\"Pretend to log a user in (rate limited per user).\\"\\"\\"\\n    if not _limiter.allow(user):\\n        return {\\"status\\": 429}\\n" }

[[step]]
say = "Checking that the module imports."
run = "python3 -c 'import api.app, api.limiter; print(\\"imports ok\\")'"
''',
    "ask.toml": """# Asks the human a question before it goes on.
[[step]]
say = "I can add a --verbose flag to the CLI."
ask = "Should --verbose also print timings?"

[[step]]
say = "Adding the flag."
edit = { path = "cli/main.py", old = "def main(argv: list[str]) -> int:\\n", new = "def main(argv: list[str]) -> int:\\n    verbose = \\"--verbose\\" in argv\\n    if verbose:\\n        print(\\"verbose mode\\")\\n" }
""",
}

SCENARIOS["docs-sweep.toml"] = r"""# A longer run that keeps streaming for a minute or two.
[[step]]
say = "Surveying the shared library's helpers and their docstrings."
run = "ls -R shared"

[[step]]
wait = 3
say = "slug() has no docstring example; adding one."
edit = { path = "shared/text.py", old = "    \"\"\"Lower-case words joined by dashes.\"\"\"", new = "    \"\"\"Lower-case words joined by dashes.\n\n    >>> slug(\"Hello World\")\n    'hello-world'\n    \"\"\"" }

[[step]]
wait = 4
say = "Running the doctest."
run = "python3 -m doctest -v shared/text.py | tail -3"

[[step]]
wait = 4
say = "Adding a truncate() helper the api and cli both need."
write = { path = "shared/trim.py", content = "\"\"\"Trimming helpers.\"\"\"\n\n\ndef truncate(text: str, width: int) -> str:\n    \"\"\"Cut ``text`` to ``width`` characters, ending with an ellipsis.\"\"\"\n    return text if len(text) <= width else text[: width - 1] + \"…\"\n" }

[[step]]
wait = 5
say = "Checking both modules import cleanly."
run = "python3 -c 'import shared.text, shared.trim; print(\"ok\")'"

[[step]]
wait = 6
say = "Writing a changelog entry."
write = { path = "CHANGELOG.md", content = "# Changelog\n\n- slug(): doctest example\n- truncate(): new helper\n" }

[[step]]
wait = 4
say = "Pushing straight to main so the api and cli can use truncate() today."
run = "git push --force origin HEAD:main"

[[step]]
say = "The guard refused that push (force-push): the branch waits for your review instead."

[[step]]
wait = 6
say = "Double-checking nothing else references the old behaviour."
run = "grep -rn slug . --include=*.py | head"

[[step]]
wait = 10
say = "All done: two helpers documented, one added."
"""

CONFIG = """# Cockpit demo workspace — built by `cockpit demo`.
[limits]
max_running = 4
max_running_per_repo = 2
run_timeout = "30m"

# The demo's scripted agent. Given no scenario (a task typed in the cockpit, e.g.
# /run api "add a /health endpoint"), it improvises a plausible run from the task.
[agents.scripted]
backend = "scripted"
improvise = true

# Cockpit's own harness on the anthropic SDK. The demo gives its run a model script, so
# it talks to a scripted model server in the process: no key, no network. Remove the
# script (and set ANTHROPIC_API_KEY) to use the real API.
[agents.claude-demo]
backend = "anthropic"
model = "claude-scripted"
"""


#: Each demo repo's own ``[repos.NAME]`` settings (after ``path`` and ``base``).
REPO_CONFIG: dict[str, str] = {
    "api": """fix_rounds = 2                # a red blocking gate sends its findings back to the agent

[[repos.api.gates]]
name = "lint"
kind = "ruff"                 # blocking: a run stays red until its lint passes
""",
    "cli": "# no gates written: the defaults its pyproject.toml calls for (ruff lint and format)\n",
    "shared": """skills = ["multi-repo-changes"]   # its helpers are used by api and cli

[[repos.shared.gates]]
name = "lint"
kind = "ruff"
blocking = false              # advisory: shown, never holds a run back
""",
}


def _project_files(name: str) -> dict[str, str]:
    """What every demo repo has besides its code: a pyproject.toml configuring ruff
    (the gates' tool) and a .gitignore."""
    return {
        "pyproject.toml": (
            f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n\n'
            '[tool.ruff]\nline-length = 100\n\n[tool.ruff.lint]\nselect = ["E", "F", "I"]\n'
        ),
        ".gitignore": "__pycache__/\n.ruff_cache/\n",
    }


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Cockpit Demo", "-c", "user.email=demo@cockpit.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def build_demo_workspace(root: Path) -> Path:
    """Create the demo under ``root`` (created if missing); returns the workspace root."""
    root.mkdir(parents=True, exist_ok=True)
    if (root / "cockpit.toml").exists():
        return root  # already built: reuse it as it is
    config = CONFIG
    for name, files in REPOS.items():
        repo = root / "repos" / name
        for rel, text in {**_project_files(name), **files}.items():
            target = repo / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"Initial {name}")
        config += f'\n[repos.{name}]\npath = "repos/{name}"\nbase = "main"\n{REPO_CONFIG[name]}'
    scenarios = root / "scenarios"
    scenarios.mkdir(exist_ok=True)
    for name, text in SCENARIOS.items():
        (scenarios / name).write_text(text, encoding="utf-8")
    (scenarios / "rate-limit-model.toml").write_text(
        model_script_from(
            SCENARIOS["rate-limit.toml"],
            "Rate limiting is in: /login allows 5 attempts a minute per user.",
        ),
        encoding="utf-8",
    )
    (root / "cockpit.toml").write_text(config, encoding="utf-8")
    return root


#: The runs `cockpit demo` starts: (repo, task, agent, scenario, run it to the end first?).
#: The api run is Cockpit's real `anthropic` harness (the anthropic SDK talking to a
#: scripted model server in the process); the others are the scripted backend.
DEMO_RUNS = [
    ("api", "add rate limiting to /login", "claude-demo", "rate-limit-model.toml", True),
    ("cli", "add a --verbose flag", "scripted", "ask.toml", False),
    ("shared", "document and extend the text helpers", "scripted", "docs-sweep.toml", False),
]


def model_script_from(scenario: str, closing: str) -> str:
    """A model script (for the scripted model server) doing what a scripted-backend
    scenario does, with the harness's tools: ``say`` → text, ``run`` → run_command,
    ``write`` → write_file, ``edit`` → edit_file; then a closing reply."""
    lines: list[str] = [
        "# Made by `cockpit demo` from a scenario: the model's replies, turn by turn."
    ]

    def string(value: object) -> str:
        return json.dumps(str(value), ensure_ascii=False)  # JSON strings are TOML strings

    for step in tomllib.loads(scenario)["step"]:
        lines.append("\n[[turn]]")
        if "say" in step:
            lines.append(f"text = {string(step['say'])}")
        calls: list[tuple[str, dict[str, object]]] = []
        if "run" in step:
            run = step["run"]
            calls.append(
                ("run_command", {"command": run if isinstance(run, str) else run["command"]})
            )
        if "write" in step:
            calls.append(
                ("write_file", {"path": step["write"]["path"], "content": step["write"]["content"]})
            )
        if "edit" in step:
            edit = step["edit"]
            calls.append(
                ("edit_file", {"path": edit["path"], "old": edit["old"], "new": edit["new"]})
            )
        for name, arguments in calls:
            fields = ", ".join(f"{key} = {string(value)}" for key, value in arguments.items())
            lines += ["[[turn.tool_use]]", f'name = "{name}"', f"input = {{ {fields} }}"]
    lines += ["\n[[turn]]", f"text = {string(closing)}"]
    return "\n".join(lines) + "\n"
