"""backend_events_<backend>: events per second from the model through each backend into
the store, beside the raw client reading the same stream.

The workload, the same for both sides: one reply with ``CALLS`` cheap tool calls (read the
README; for codex a ``true`` command), then a closing line. For ``acp`` there is no model:
the scripted ACP agent's "burst" prompt makes the same ``CALLS`` calls on its own.

* Cockpit: a run on the backend (its own scripted model server, as ``--scenario`` runs
  get), events persisted in SQLite. The clock runs from the run's ``running`` event to
  its last ``turn_finished`` (stored timestamps): worktree creation and the final commit
  are not the backend's stream. The figure is the events stored in that span per second.
* The baseline: the client alone, doing the same conversation with nothing around it —
  the anthropic SDK (streaming, answering the tool calls itself), claude-agent-sdk's
  ``query``, ``codex exec --json`` read line by line, an ACP client granting every
  permission. Its figure is the same event count over its own wall time, so the ratio is
  the share of the raw client's speed Cockpit keeps (the goal: >= 0.5).

Medians of REPEATS runs each, after one untimed warm-up. ``bench_backend_events.py
[BACKEND...]`` measures only those.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, cast

from agents import ACP_AGENT, BACKENDS, CODEX, PROFILES
from common import emit, log, make_repo, median, run_to_end, temp_dir, write_workspace
from engine.adapters.agents.codex import write_codex_home
from engine.adapters.agents.scripted_model import SCRIPTED_KEY
from engine.adapters.modelserver import ModelServer, load_model_script
from engine.domain.events import RunStateChanged, TurnFinished
from engine.domain.state import RunState

REPEATS = 3
#: Tool calls in the one working reply (acp: the scripted agent's BURST).
CALLS = 100

#: The tool call each model-backed client makes CALLS times.
CALL = {
    "anthropic": '{ name = "read_file", input = { path = "README.md" } }',
    "claude-code": '{ name = "Read", input = { file_path = "{cwd}/README.md" } }',
    "codex": '{ name = "exec_command", input = { cmd = "true" } }',
}


def model_script(backend: str) -> str:
    calls = ", ".join([CALL[backend]] * CALLS)
    return f'[[turn]]\ntext = "Reading."\ntool_use = [{calls}]\n\n[[turn]]\ntext = "Done."\n'


# --- Cockpit --------------------------------------------------------------------------


async def through_cockpit(root: Path, backend: str, script: Path | None) -> tuple[int, float]:
    """(events, seconds) of one run on ``backend``, from its stored events."""
    task = "burst of reads" if backend == "acp" else "read the README many times"
    _, events = await run_to_end(root, "app", task, backend, str(script) if script else None, 300)
    start = next(
        i
        for i, e in enumerate(events)
        if isinstance(e, RunStateChanged) and e.new is RunState.RUNNING
    )
    end = max(i for i, e in enumerate(events) if isinstance(e, TurnFinished))
    span = (events[end].at - events[start].at).total_seconds()
    return end - start, span


# --- the raw clients --------------------------------------------------------------------


async def raw_anthropic(server: ModelServer, cwd: Path) -> None:
    import anthropic

    client = anthropic.AsyncAnthropic(base_url=server.url, api_key=SCRIPTED_KEY)
    tools: Any = [
        {
            "name": "read_file",
            "description": "Read a file.",
            "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
        }
    ]
    messages: list[Any] = [{"role": "user", "content": "read the README many times"}]
    while True:
        async with client.messages.stream(
            model="claude-sonnet-5", max_tokens=1024, messages=messages, tools=tools
        ) as stream:
            reply = await stream.get_final_message()
        calls = [block for block in reply.content if block.type == "tool_use"]
        if not calls:
            break
        messages.append({"role": "assistant", "content": [b.model_dump() for b in reply.content]})
        results = []
        for call in calls:
            text = (cwd / cast(dict, call.input)["path"]).read_text()
            results.append({"type": "tool_result", "tool_use_id": call.id, "content": text})
        messages.append({"role": "user", "content": results})
    await client.close()


async def raw_claude_code(server: ModelServer, cwd: Path, config: Path) -> None:
    import claude_agent_sdk as sdk

    options = sdk.ClaudeAgentOptions(
        cwd=str(cwd),
        permission_mode="acceptEdits",
        env={
            "ANTHROPIC_API_KEY": SCRIPTED_KEY,
            "ANTHROPIC_BASE_URL": server.url,
            "CLAUDE_CONFIG_DIR": str(config),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
        },
    )
    async for _ in sdk.query(prompt="read the README many times", options=options):
        pass


async def raw_codex(server: ModelServer, cwd: Path, home: Path) -> None:
    write_codex_home(home, {"model": "gpt-scripted", "base_url": server.url})
    env = dict(os.environ, CODEX_HOME=str(home), COCKPIT_CODEX_KEY=SCRIPTED_KEY)
    process = await asyncio.create_subprocess_exec(
        str(CODEX),
        *("exec", "--json", "--skip-git-repo-check", "-s", "workspace-write"),
        "read the README many times",
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=16 * 1024 * 1024,
    )
    assert process.stdout is not None
    async for line in process.stdout:
        if line.startswith(b"{"):
            json.loads(line)
    if await process.wait() != 0:
        raise RuntimeError("codex exec failed in the raw baseline")


class _AllowAll:
    """The least an ACP client can be: grants every permission, reads files."""

    def on_connect(self, conn: Any) -> None:
        return None

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        return None

    async def request_permission(self, options: list[Any], **_: Any) -> Any:
        from acp.schema import AllowedOutcome, RequestPermissionResponse

        allow = AllowedOutcome(option_id=options[0].option_id, outcome="selected")
        return RequestPermissionResponse(outcome=allow)

    async def read_text_file(self, path: str, **_: Any) -> Any:
        from acp.schema import ReadTextFileResponse

        return ReadTextFileResponse(content=Path(path).read_text())

    async def write_text_file(self, path: str, content: str, **_: Any) -> Any:
        Path(path).write_text(content)


async def raw_acp(cwd: Path) -> None:
    import acp

    async with acp.spawn_agent_process(
        cast(Any, _AllowAll()), sys.executable, str(ACP_AGENT), cwd=str(cwd)
    ) as (conn, _process):
        await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        session = await conn.new_session(cwd=str(cwd), mcp_servers=[])
        await conn.prompt(session_id=session.session_id, prompt=[acp.text_block("burst")])


async def through_raw_client(backend: str, script: Path | None, work: Path) -> float:
    """Seconds the raw client takes over the same conversation, in a fresh copy of the
    repo's files (``work``)."""
    if backend == "acp":
        t0 = time.perf_counter()
        await raw_acp(work)
        return time.perf_counter() - t0
    assert script is not None
    async with ModelServer(load_model_script(script), cwd=str(work)) as server:
        t0 = time.perf_counter()
        if backend == "anthropic":
            await raw_anthropic(server, work)
        elif backend == "claude-code":
            await raw_claude_code(server, work, work.parent / f"{work.name}-claude")
        else:
            await raw_codex(server, work, work.parent / f"{work.name}-codex")
        return time.perf_counter() - t0


def main() -> None:
    with temp_dir("backend-events") as tmp:
        repo = make_repo(tmp / "repos" / "app")
        root = write_workspace(tmp / "ws", {"app": repo}, run_timeout="10m")
        with (root / "cockpit.toml").open("a") as config:
            config.write(PROFILES)
        for backend in sys.argv[1:] or BACKENDS:
            if backend == "codex" and not CODEX.exists():
                log("backend_events: no Codex CLI (npm ci installs it); codex skipped")
                continue
            script = None
            if backend != "acp":
                script = tmp / f"{backend}.toml"
                script.write_text(model_script(backend))
            ours: list[float] = []
            raw: list[float] = []
            counts: list[int] = []
            # Repetition 0 is an untimed warm-up of both (imports, the CLIs' first start).
            for rep in range(REPEATS + 1):
                events, seconds = asyncio.run(through_cockpit(root, backend, script))
                work = tmp / "raw" / f"{backend}-{rep}"
                work.mkdir(parents=True)
                (work / "README.md").write_text((repo / "README.md").read_text())
                raw_seconds = asyncio.run(through_raw_client(backend, script, work))
                if rep == 0:
                    continue
                counts.append(events)
                ours.append(events / seconds)
                raw.append(events / raw_seconds)
                log(
                    f"backend_events {backend}: {events} events in {seconds * 1000:.0f} ms; "
                    f"raw client {raw_seconds * 1000:.0f} ms"
                )
            emit(
                f"backend_events_{backend.replace('-', '_')}",
                median(ours),
                "events/s",
                f"raw {backend} client, same stream",
                median(raw),
                goal=">= 0.5",
                digits=1,
                events=int(median(counts)),
                tool_calls=CALLS,
                repeats=REPEATS,
            )


if __name__ == "__main__":
    main()
