"""The scripted model server: an asyncio HTTP/1.1 server on 127.0.0.1 that answers the
Anthropic Messages API and the OpenAI Responses API from a :class:`ModelScript`.

Real clients (the anthropic SDK, Claude Code, Codex) talk to it as to the real service,
so tests and ``cockpit demo`` exercise every client for real with no network and no key.
It is lenient by design: model names, beta headers, query strings and tool lists are
accepted whatever they are, since they change with every client release.

    async with ModelServer(script, cwd=worktree) as server:
        client = AsyncAnthropic(base_url=server.url, api_key="test", max_retries=0)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from engine.adapters.modelserver import anthropic_api, openai_api
from engine.adapters.modelserver.script import SIDE_TEXT, ModelScript, Turn

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
#: Largest request body read (a long conversation with file contents fits easily).
MAX_BODY = 64 * 1024 * 1024


@dataclass
class Request:
    """A request the server answered (for tests to look at)."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


class _BadRequest(Exception):
    pass


class ModelServer:
    """Serve ``script`` until closed; ``url`` is the base URL clients are given."""

    def __init__(self, script: ModelScript, cwd: str = "", host: str = "127.0.0.1") -> None:
        self.script = script
        #: Substituted for ``{cwd}`` in tool inputs.
        self.cwd = cwd
        self.host = host
        self.port = 0
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        return f"http://{self.host}:{self.port}"

    @property
    def turn_requests(self) -> list[Request]:
        """The requests that were turns of the script (not side requests or probes)."""
        return [
            r
            for r in self.requests
            if r.method == "POST"
            and r.path in ("/v1/messages", "/v1/responses")
            and r.body.get("tools")
        ]

    async def start(self) -> None:
        """Listen on a free port of ``host``."""
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and drop open connections."""
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> ModelServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- HTTP ---------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            # Keep-alive: clients reuse their connection for the next request.
            while True:
                try:
                    request = await self._read_request(reader)
                except _BadRequest as exc:
                    await self._send_json(writer, 400, {"error": {"message": str(exc)}})
                    break
                if request is None:
                    break
                self.requests.append(request)
                await self._answer(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away mid-request: nothing to answer
        except asyncio.CancelledError:
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            # The task ends here either way: a cancel arriving now must not make asyncio
            # log the connection's task as failed.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> Request | None:
        line = await reader.readline()
        if not line:
            return None
        try:
            method, target, _version = line.decode("latin-1").split(" ", 2)
        except ValueError:
            raise _BadRequest("malformed request line") from None
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body: dict[str, Any] = {}
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise _BadRequest("request body too large")
        if length:
            data = await reader.readexactly(length)
            try:
                parsed = json.loads(data)
            except ValueError:
                raise _BadRequest("the body is not JSON") from None
            body = parsed if isinstance(parsed, dict) else {}
        path = target.split("?", 1)[0]
        return Request(method.upper(), path, headers, body)

    async def _answer(self, request: Request, writer: asyncio.StreamWriter) -> None:
        route = (request.method, request.path.rstrip("/") or "/")
        if route in (("HEAD", "/"), ("GET", "/")):
            await self._send(writer, 200, b"", "text/plain")
        elif route == ("POST", "/v1/messages/count_tokens"):
            count = anthropic_api.estimate_tokens(request.body.get("messages"))
            await self._send_json(writer, 200, {"input_tokens": count})
        elif route == ("POST", "/v1/messages"):
            await self._messages(request, writer)
        elif route == ("POST", "/v1/responses"):
            await self._responses(request, writer)
        else:
            await self._send_json(
                writer, 404, anthropic_api.error_body("not_found_error", f"no route {route}")
            )

    async def _turn(
        self, body: dict[str, Any], api: Any, writer: asyncio.StreamWriter
    ) -> Turn | None:
        """The scripted turn answering ``body`` (after its delay); None when the turn is
        an error, which has then been sent. ``api`` is the API module (its conversation
        counting and error envelope)."""
        # No tools offered: a title, a summary, a probe — not a turn of the script.
        if not body.get("tools"):
            return Turn(text=SIDE_TEXT)
        turn = self.script.reply_for(api.assistant_turns(body))
        if turn.delay:
            await asyncio.sleep(turn.delay)
        if turn.error is None:
            return turn
        envelope = api.error_body(turn.error.type, turn.error.message)
        await self._send_json(writer, turn.error.status, envelope)
        return None

    async def _messages(self, request: Request, writer: asyncio.StreamWriter) -> None:
        body = request.body
        turn = await self._turn(body, anthropic_api, writer)
        if turn is None:
            return
        if body.get("stream"):
            await self._send_stream(writer, anthropic_api.stream(turn, body, self.cwd))
        else:
            await self._send_json(writer, 200, anthropic_api.message(turn, body, self.cwd))

    async def _responses(self, request: Request, writer: asyncio.StreamWriter) -> None:
        body = request.body
        turn = await self._turn(body, openai_api, writer)
        if turn is not None:
            # Codex streams; a non-streaming request gets the same events (it is lenient).
            await self._send_stream(writer, openai_api.stream(turn, body, self.cwd))

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter, status: int, payload: bytes, content_type: str
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"content-type: {content_type}\r\n"
            f"content-length: {len(payload)}\r\n"
            "connection: keep-alive\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        await writer.drain()

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, data: Any) -> None:
        await self._send(writer, status, json.dumps(data).encode(), "application/json")

    @staticmethod
    async def _send_stream(writer: asyncio.StreamWriter, frames: Iterable[bytes]) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\n"
            b"content-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n"
            b"connection: keep-alive\r\n\r\n"
        )
        for frame in frames:
            writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
