"""Scenario files of the scripted backend."""

from pathlib import Path

import pytest

from engine.adapters.agents.scenario import load_scenario
from engine.domain.errors import ScenarioError


def test_issue_example_parses_with_action_order(tmp_path: Path):
    path = tmp_path / "s.toml"
    path.write_text(
        """
[[step]]
say = "Adding a greeting module"
[[step]]
write = { path = "greet.py", content = "def greet(name):\\n    return f'hi {name}'\\n" }
[[step]]
run = "python -c 'import greet; print(greet.greet(\\"x\\"))'"
[[step]]
wait = 2.5
[[step]]
ask = "Should I add tests too?"
[[step]]
fail = "simulated crash"
[[step]]
run = "echo hi"
say = "after"
"""
    )
    scenario = load_scenario(path)
    assert [s.order for s in scenario.step] == [
        ["say"],
        ["write"],
        ["run"],
        ["wait"],
        ["ask"],
        ["fail"],
        ["run", "say"],
    ]
    assert scenario.step[2].run is not None and scenario.step[2].run.command.startswith("python")
    assert scenario.step[3].wait == 2.5


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[step]]\nsay = 1\n", "step.0.say"),
        ("[[step]]\nfly = 'x'\n", "fly"),
        ("[[step]]\n", "a step needs one of"),
        ("[[step]\nsay='x'", "invalid TOML"),
        ("[[step]]\nwrite = { path = '../x', content = '' }\n", "without '..'"),
        ("[[step]]\ndelete = '/etc/passwd'\n", "relative to the worktree"),
        ("title = 'no steps'\n", "scenario"),
    ],
)
def test_bad_scenarios_give_one_line_naming_file(tmp_path: Path, text: str, needle: str):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message and needle in message and "\n" not in message


def test_missing_scenario(tmp_path: Path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.toml")


def test_stream_action(tmp_path: Path):
    path = tmp_path / "s.toml"
    path.write_text('[[step]]\nstream = { text = "tick", count = 3, interval = 0 }\n')
    step = load_scenario(path).step[0]
    assert step.order == ["stream"] and step.stream is not None and step.stream.count == 3
