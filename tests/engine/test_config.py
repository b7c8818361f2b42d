"""Tests for the cockpit.toml schema and loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import CockpitConfig, load_config, parse_duration
from engine.domain.errors import ConfigError
from engine.workspace import STARTER_CONFIG

FULL = """\
[limits]
max_running = 6
max_running_per_repo = 3
run_timeout = "1h30m"

[workspace]
worktrees = "wt"

[repos.api]
path = "../api"
base = "trunk"
skills = ["python"]
fix_rounds = 2

[[repos.api.gates]]
name = "lint"
kind = "ruff"
blocking = true
when = "turn"
timeout = "90s"
args = ["--fix"]

[[repos.api.gates]]
name = "tests"
kind = "command"
command = "make test"
when = "finish"
timeout = 300

[repos."web.app"]
path = "/abs/web"

[agents.scripted]
backend = "scripted"
scenario = "scenarios/demo.toml"

[agents.claude]
backend = "anthropic"
model = "claude-sonnet-5"
base_url = "https://example.invalid"
api_key_env = "ANTHROPIC_API_KEY"
env = { FOO = "bar" }
idle_timeout = "5m"

[agents.gemini]
backend = "acp"
command = "gemini"
args = ["--experimental-acp"]

[guard]
disable = ["no-rm-rf"]

[[guard.rules]]
name = "no-push"
decision = "deny"
tool = "bash"
command = 'git\\s+push'
reason = "humans push"

[[guard.rules]]
name = "secrets"
decision = "ask"
path = "**/.env"

[engine]
idle_exit = "1h"

[notify]
command = ["notify-send", "Cockpit"]
kinds = ["needs_input", "failed"]
timeout = "5s"

[ui]
theme = "dark"
bell = true

[keys]
approve = "a"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cockpit.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90.0),
        ("45m", 2700.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("1h 30m 15s", 5415.0),
        ("1.5m", 90.0),
        (" 10S ", 10.0),
        ("120", 120.0),
        (45, 45.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "5x", "m", "10 minutes", "5m5m", "-5s", 0, -1, True, None])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_empty_config_is_valid(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config == CockpitConfig()
    assert config.limits.max_running == 4
    assert config.limits.max_running_per_repo == 2
    assert config.limits.run_timeout == 45 * 60
    assert config.repos == {}
    assert config.ui == {} and config.keys == {}
    assert config.engine.idle_exit == 600
    assert config.notify.command == []
    assert config.notify.kinds == ["needs_input", "review", "failed"]
    assert config.notify.timeout == 30


def test_full_example_is_valid(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.limits.run_timeout == 5400
    assert config.workspace.worktrees == "wt"
    assert list(config.repos) == ["api", "web.app"]
    api = config.repos["api"]
    assert api.base == "trunk"
    assert api.fix_rounds == 2
    assert api.gates is not None and [g.name for g in api.gates] == ["lint", "tests"]
    assert api.gates[0].timeout == 90
    assert api.gates[1].timeout == 300
    assert api.gates[1].command == "make test"
    assert config.repos["web.app"].base == "main"
    assert config.repos["web.app"].gates is None  # unset: the repo's defaults apply
    assert config.agents["claude"].idle_timeout == 300
    assert config.agents["claude"].env == {"FOO": "bar"}
    assert config.agents["scripted"].idle_timeout is None
    assert config.guard.rules[0].command == r"git\s+push"
    assert config.guard.rules[1].decision == "ask"
    assert config.keys == {"approve": "a"}
    assert config.engine.idle_exit == 3600
    assert config.notify.command == ["notify-send", "Cockpit"]
    assert config.notify.kinds == ["needs_input", "failed"]
    assert config.notify.timeout == 5


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    text = "[limits]\nmax_running = 4\n\n[repos.api]\npath = \n"
    message = error_for(tmp_path, text)
    assert "line 5, column 8: invalid TOML: Invalid value" in message
    assert "(at line" not in message


def test_toml_error_at_end_of_document(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[repos.api]\npath = "unterminated')
    assert "invalid TOML: Unterminated string" in message
    assert "line 2" in message


def test_unknown_key(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[repos.api]\npath = "../api"\npth = "x"\n')
    assert message.endswith(": repos.api.pth: unknown key (line 3)")


def test_unknown_key_wins_over_the_missing_key_it_causes(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[repos.api]\npth = "../api"\n')
    assert "repos.api.pth: unknown key" in message


def test_unknown_top_level_table(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[limit]\nmax_running = 4\n")
    assert ": limit: unknown key (line 1)" in message


def test_wrong_type(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[repos.api]\npath = "../api"\nbase = 3\n')
    assert message.endswith(": repos.api.base: Input should be a valid string (line 3)")


def test_quoted_number_is_not_coerced(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[limits]\nmax_running = "4"\n')
    assert "limits.max_running: Input should be a valid integer (line 2)" in message


def test_limit_below_one(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[limits]\nmax_running_per_repo = 0\n")
    assert "limits.max_running_per_repo: Input should be greater than or equal to 1" in message


def test_bad_duration(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[limits]\nrun_timeout = "soon"\n')
    assert "limits.run_timeout: invalid duration 'soon'" in message
    assert "Value error" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[engine]\nidle_exit = "later"\n', "engine.idle_exit: invalid duration 'later'"),
        ("[notify]\ntimeout = 0\n", "notify.timeout: invalid duration 0: must be more than zero"),
    ],
)
def test_bad_engine_and_notify_durations(tmp_path: Path, text: str, expected: str) -> None:
    message = error_for(tmp_path, text)
    assert expected in message and "(line 2)" in message
    assert "Value error" not in message


def test_notify_kinds_and_command_are_checked(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[notify]\nkinds = ["done"]\n')
    assert "notify.kinds[0]: Input should be 'needs_input', 'review' or 'failed'" in message
    message = error_for(tmp_path, '[notify]\ncommand = "notify-send"\n')
    assert "notify.command: Input should be a valid list" in message
    message = error_for(tmp_path, '[notify]\ncommand = [""]\n')
    assert "notify.command[0]: String should have at least 1 character" in message


def test_the_starter_examples_of_engine_and_notify_are_valid(tmp_path: Path) -> None:
    # The starter shows both sections commented out; uncommented they must load.
    start = STARTER_CONFIG.index("# [engine]")
    lines = STARTER_CONFIG[start:].splitlines()
    live = [
        line[2:]
        for line in lines
        if line.startswith(("# [", "# idle_exit", "# command", "# kinds", "# timeout"))
    ]
    config = load_config(write(tmp_path, "\n".join(live) + "\n"))
    assert config.engine.idle_exit == 600
    assert config.notify.command[0] == "sh" and config.notify.timeout == 30


def test_bad_repo_name(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[repos."my api"]\npath = "x"\n')
    assert "repos.\"my api\": invalid name 'my api'" in message
    assert "(line 1)" in message


def test_bad_agent_name(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[agents."-x"]\nbackend = "scripted"\n')
    assert "agents.-x: invalid name '-x'" in message


def test_command_gate_needs_command(tmp_path: Path) -> None:
    text = (
        '[repos.api]\npath = "x"\n\n[[repos.api.gates]]\nname = "lint"\nkind = "ruff"\n\n'
        '[[repos.api.gates]]\nname = "tests"\nkind = "command"\n'
    )
    message = error_for(tmp_path, text)
    assert message.endswith(': repos.api.gates[1]: kind = "command" needs a command (line 8)')


def test_gate_field_error_points_into_the_right_array_element(tmp_path: Path) -> None:
    text = (
        '[repos.api]\npath = "x"\n[[repos.api.gates]]\nname = "a"\nkind = "ruff"\n'
        '[[repos.api.gates]]\nname = "b"\nkind = "eslint"\n'
    )
    message = error_for(tmp_path, text)
    assert "repos.api.gates[1].kind: Input should be 'ruff'" in message
    assert message.endswith("(line 8)")


def test_unknown_backend(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[agents.x]\nbackend = "gpt"\n')
    assert "agents.x.backend: Input should be 'scripted'" in message


def test_api_key_env_refuses_a_key(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[agents.x]\nbackend = "anthropic"\napi_key_env = "sk-ant-1"\n')
    assert "agents.x.api_key_env: must be the NAME of an environment variable" in message
    assert "sk-ant-1" not in message


def test_guard_rule_regex_checked(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[[guard.rules]]\nname = "x"\ndecision = "deny"\ncommand = "("\n')
    assert "guard.rules[0].command: invalid regular expression" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "cockpit.toml"
    with pytest.raises(ConfigError, match=r"^no cockpit\.toml at "):
        load_config(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cockpit.toml"
    path.write_bytes(b"# ok\n# \xff\n")
    with pytest.raises(ConfigError, match="line 2: not valid UTF-8"):
        load_config(path)
