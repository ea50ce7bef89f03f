"""A counting TCP proxy on 127.0.0.1, to measure what a client really asks of S3.

It forwards every connection to the upstream port unchanged and counts the bytes in each
direction (HTTP headers included) and the HTTP requests by method (GET, HEAD, PUT...),
whatever the client library: the request stream of each connection is followed by
``RequestCounter``, which only reads it. It runs an asyncio loop in a daemon thread of the
benchmark process; ``stop`` closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Counts:
    to_upstream: int = 0
    from_upstream: int = 0
    connections: int = 0
    methods: Counter[str] = field(default_factory=Counter)
    """HTTP requests sent upstream, by method."""

    @property
    def total(self) -> int:
        return self.to_upstream + self.from_upstream


class CountingProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.host, self.upstream_port = host, upstream_port
        self.counts = Counts()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="counting-proxy"
        )
        self.port = 0

    def start(self) -> CountingProxy:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, self.host, 0), self._loop
        ).result(10)
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        return self

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.counts = Counts()

    def snapshot(self) -> Counts:
        with self._lock:
            counts = self.counts
            return Counts(
                counts.to_upstream,
                counts.from_upstream,
                counts.connections,
                Counter(counts.methods),
            )

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.counts.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer, RequestCounter()),
            self._pipe(up_reader, writer, None),
        )

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        requests: RequestCounter | None,
    ) -> None:
        """Forward one direction; ``requests`` follows the client's requests (None: the
        responses, only counted in bytes)."""
        try:
            while data := await reader.read(256 * 1024):
                with self._lock:
                    if requests is None:
                        self.counts.from_upstream += len(data)
                    else:
                        self.counts.to_upstream += len(data)
                        self.counts.methods.update(requests.feed(data))
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


class RequestCounter:
    """Follows one connection's HTTP/1.1 request stream and names the method of each
    request it completes the head of. Bodies are skipped by ``Content-Length`` or by
    chunked transfer coding, so a body that happens to contain ``GET /`` is not a request.
    Requests for ``/`` itself (ListBuckets, which workers send to open a connection before
    timing) are not named: the counts are of the traffic to buckets and objects.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._body_left = 0
        self._chunked = False

    def feed(self, data: bytes) -> list[str]:
        """The methods of the requests whose head ``data`` completes, in order."""
        self._buffer += data
        methods: list[str] = []
        while True:
            if self._body_left:
                skipped = min(self._body_left, len(self._buffer))
                self._buffer = self._buffer[skipped:]
                self._body_left -= skipped
                if self._body_left:
                    return methods
            if self._chunked:
                if not self._skip_chunk():
                    return methods
                continue
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return methods
            head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
            lines = head.split(b"\r\n")
            method, _, rest = lines[0].partition(b" ")
            if rest.split(b" ", 1)[0] != b"/":
                methods.append(method.decode("latin-1"))
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(b":") for line in lines[1:])
            }
            self._chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
            if not self._chunked:
                self._body_left = int(headers.get(b"content-length", b"0") or 0)

    def _skip_chunk(self) -> bool:
        """Skip one chunk of a chunked body (the last one with its trailers); False if the
        buffer does not hold enough to know where it ends."""
        line_end = self._buffer.find(b"\r\n")
        if line_end < 0:
            return False
        size = int(self._buffer[:line_end].split(b";", 1)[0] or b"0", 16)
        if size:
            if len(self._buffer) < line_end + 2 + size + 2:
                return self._skip_partial(line_end, size)
            self._buffer = self._buffer[line_end + 2 + size + 2 :]
            return True
        trailers_end = self._buffer.find(b"\r\n\r\n", line_end)
        if trailers_end < 0:
            return False
        self._buffer = self._buffer[trailers_end + 4 :]
        self._chunked = False
        return True

    def _skip_partial(self, line_end: int, size: int) -> bool:
        """A chunk larger than the buffer: drop what is there, and count the rest (and its
        CRLF) as body left to skip, keeping the chunked state for the chunks after it."""
        have = len(self._buffer) - (line_end + 2)
        self._body_left = size + 2 - have
        self._buffer = b""
        return True
