"""Keys and tokens are masked before anything is stored: in events, transcripts, the
saved state and the ledger — a fake key planted in agent output and tool results leaves
no trace in the SQLite files."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.domain.events import event_to_json
from engine.domain.redact import MASK, PATTERNS, RedactingFilter, Redactor
from engine.domain.state import RunState
from engine.workspace import open_workspace
from enginekit import running_engine, wait_for_state

FAKES = [
    "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz01",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "xoxb-1234567890-abcdefghij",
    "AIzaSyAbCdEfGhIjKlMnOpQrStUvWxYz0123456",
]


@pytest.mark.parametrize("fake", FAKES)
def test_key_shapes_are_masked(fake: str) -> None:
    text = Redactor().text(f"the key is {fake}.")
    assert fake not in text and MASK in text


def test_configured_values_nested_data_and_bearer_tokens() -> None:
    redactor = Redactor(["my-own-secret-value", "short"])
    data = {
        "a": ["x my-own-secret-value y", {"b": "Authorization: Bearer abcdefghijklmnopqrstuvwx"}],
        "n": 3,
    }
    masked = redactor.value(data)
    assert masked == {"a": [f"x {MASK} y", {"b": f"Authorization: Bearer {MASK}"}], "n": 3}
    assert redactor.text("short words stay") == "short words stay"
    assert Redactor().text("ordinary words and sk-short stay") == "ordinary words and sk-short stay"


MORE_SHAPES = [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "github_pat_11AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "glpat-AbCdEfGhIjKlMnOpQrSt",
    "npm_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
    "ASIAIOSFODNN7EXAMPLE",
    "authorization: BEARER abcdefghijklmnopqrstuvwxyz==",
]


@pytest.mark.parametrize("shape", FAKES + MORE_SHAPES)
def test_the_literal_prefilter_masks_what_every_regex_would(shape: str) -> None:
    # Each shape's regex only runs on text holding one of its literals: the result must
    # be what running every regex on every text gives.
    text = f"before {shape} between {shape.upper()} and {shape.lower()} after"
    everything = text
    for pattern in PATTERNS:
        everything = pattern.sub(MASK, everything)
    assert MASK in everything
    assert Redactor().text(text) == everything


def test_log_records_are_masked() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "token %s", (FAKES[0],), None)
    RedactingFilter(Redactor()).filter(record)
    assert record.getMessage() == f"token {MASK}"


async def test_a_planted_key_leaves_no_trace_in_the_store(
    workspace_root: Path, scenario: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    own = "cockpit-test-own-key-0123456789"
    monkeypatch.setenv("COCKPIT_TEST_LEAKY_KEY", own)
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text()
        + '\n[agents.leaky]\nbackend = "scripted"\napi_key_env = "COCKPIT_TEST_LEAKY_KEY"\n'
    )
    ws = open_workspace(workspace_root)
    path = scenario(
        f'[[step]]\nsay = "here is {FAKES[0]} and {own}"\n'
        f'run = {{ command = "echo {FAKES[2]} {own}" }}\n'
        f'write = {{ path = "leak.txt", content = "{FAKES[3]}" }}\n'
    )
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "leak", "leaky", path)
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=60)
        texts = [event_to_json(e) for e in await engine._store.events_for(run.id)]
    assert run.state is RunState.FINISHED, run.error
    assert any(MASK in t for t in texts)
    stored = b"".join(p.read_bytes() for p in ws.db_path.parent.glob("cockpit.db*"))
    for secret in (FAKES[0], FAKES[2], FAKES[3], own):
        assert secret.encode() not in stored, secret
