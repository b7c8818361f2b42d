"""An Anthropic-compatible endpoint that is not Cockpit's scripted server: a gateway, as
LLM proxies are, serving the Messages API under a path of its own
(``http://127.0.0.1:PORT/gateway/anthropic``), refusing requests without the right key
(401, as the real API does), and relaying the rest to a model server behind it.

It closes every connection after its response (the scripted server keeps them alive), so
a client must also cope with that.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import TracebackType

PREFIX = "/gateway/anthropic"


@dataclass
class Seen:
    """One request the gateway received."""

    method: str
    path: str
    key: str | None


@dataclass
class Gateway:
    """Serve ``PREFIX`` on 127.0.0.1, relaying to ``upstream`` (``http://host:port``)."""

    upstream: str
    key: str
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    async def __aenter__(self) -> Gateway:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head, body = await _read_message(reader)
            request_line, headers = _parse_head(head)
            method, path, _ = request_line.split(" ", 2)
            key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix(
                "Bearer "
            )
            self.seen.append(Seen(method, path, key or None))
            if not path.startswith(PREFIX + "/"):
                writer.write(_reply(404, {"type": "not_found_error", "message": path}))
            elif key != self.key:
                error = {"type": "authentication_error", "message": "invalid x-api-key"}
                writer.write(_reply(401, error))
            else:
                writer.write(await self._relay(method, path[len(PREFIX) :], headers, body))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def _relay(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        host, port = self.upstream.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            lines = [f"{method} {path} HTTP/1.1"]
            lines += [f"{k}: {v}" for k, v in headers.items() if k not in ("host", "connection")]
            lines += [f"host: {host}:{port}", "connection: close"]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            await writer.drain()
            head, response = await _read_message(reader)
        finally:
            writer.close()
        status_line, response_headers = _parse_head(head)
        # Re-framed with a length: the client sees a whole body, then the connection close.
        kept = {
            k: v
            for k, v in response_headers.items()
            if k not in ("content-length", "transfer-encoding", "connection")
        }
        lines = [status_line, *[f"{k}: {v}" for k, v in kept.items()]]
        lines += [f"content-length: {len(response)}", "connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + response


async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 message: its head, and its body (by length, or de-chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    _, headers = _parse_head(head)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return head, body
            body += chunk[:-2]
    return head, await reader.readexactly(int(headers.get("content-length", "0")))


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    first, *rest = head.decode("latin-1").strip().split("\r\n")
    headers = {}
    for line in rest:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return first, headers


def _reply(status: int, error: dict[str, str]) -> bytes:
    body = json.dumps({"type": "error", "error": error}).encode()
    head = (
        f"HTTP/1.1 {status} Error\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body
