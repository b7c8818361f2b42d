"""Shared fixtures: real git repos and real workspaces in temporary folders.

The suite runs on pytest-xdist workers (``-n`` in pyproject's addopts). Every test's state
lives in its own ``tmp_path`` (the workers' base folders are apart), settings under its
own XDG_CONFIG_HOME, its cwd and environment changed only through ``monkeypatch``; the
snapshot workspaces, which must sit at fixed paths, are taken one test at a time (see
cockpit/snapshots/conftest.py). ``-n 0`` or ``-p no:xdist`` runs it in one process.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import builders

# Tests commit in throw-away repos; give git an identity that never depends on the machine.
builders.private_environment("Cockpit Test", "test@cockpit.invalid")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Without xdist (``-p no:xdist``) the ``-n``/``--dist`` of pyproject's addopts would
    be unknown options: accept them, and run in this one process."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "distributed testing (pytest-xdist is not loaded)")
    group._addoption("-n", "--numprocesses", dest="numprocesses", default=None, help="ignored")
    group.addoption("--dist", dest="dist", default="no", help="ignored")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``--snapshot-update`` runs in one process: syrupy merges no reports across xdist
    workers, so it would not say what it wrote nor delete snapshots no test uses."""
    if getattr(config.option, "update_snapshots", False):
        config.option.numprocesses = 0


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("xdist"):
        config.addinivalue_line("markers", "xdist_group(name): tests to run on one worker")


@pytest.fixture(autouse=True)
def _stop_detached_engines(tmp_path: Path) -> Iterator[None]:
    """Commands start the workspace's engine in the background: whatever a test started
    under its ``tmp_path`` is stopped when it ends (a real user's idles out)."""
    yield
    builders.stop_engines_under(tmp_path)


@pytest.fixture(autouse=True)
def _collect_garbage_after_the_test() -> Iterator[None]:
    """What a test leaves for the garbage collector (a subprocess transport of a killed
    agent, say) is collected as it ends, not at a random point of a later test: there,
    a finalizer failing while ``ast`` builds a tree is CPython 3.11's SystemError
    (gh-106905), which once failed an unrelated test."""
    yield
    gc.collect()


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """Factory: a git repo on ``main`` with one commit of ``files`` (see
    :func:`builders.make_repo`), at ``tmp_path/repos/NAME``."""

    def make(name: str = "app", files: dict[str, str] | None = None) -> Path:
        return builders.make_repo(tmp_path / "repos" / name, files)

    return make


@pytest.fixture
def workspace_root(tmp_path: Path, make_repo: Callable[..., Path]) -> Path:
    """A workspace with repos ``app`` and ``lib`` and a ``scripted`` profile."""
    make_repo("app")
    make_repo("lib")
    return builders.write_workspace(
        tmp_path / "ws",
        {"app": "../repos/app", "lib": "../repos/lib"},
        max_running=4,
        max_running_per_repo=2,
        run_timeout="2m",
    )


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[str, str], str]:
    """Factory: write a scenario file, return its absolute path."""

    def write(text: str, name: str = "scenario.toml") -> str:
        return builders.write_scenario(tmp_path / "scenarios", text, name)

    return write


@pytest.fixture(autouse=True)
def _private_config_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """UI settings and user themes live under XDG_CONFIG_HOME: never the real one in tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
