"""A request-counting HTTP proxy on 127.0.0.1, in front of the local S3: how many GETs,
HEADs, PUTs... a client really sends, whatever the library (s3fs, boto3, DuckDB through
fsspec), to prove request budgets in tests and benchmarks.

It forwards each connection's bytes unchanged and follows the client's request stream
(``RequestHeads``: bodies are skipped by their length, so a body holding a request line
is not counted). It runs an asyncio loop in a daemon thread of the calling process;
``close`` stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter


class RequestCounter:
    """Forwards 127.0.0.1:``port`` to ``upstream_port``, counting requests by method."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[tuple[str, str]] = []
        """Every request seen so far: (method, path with query)."""
        self._lock = threading.Lock()
        self._links: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(10)
        self.port: int = self._server.sockets[0].getsockname()[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def counts(self) -> Counter[str]:
        """Requests by method since the last ``reset``."""
        with self._lock:
            return Counter(method for method, _ in self.requests)

    def reset(self) -> None:
        with self._lock:
            self.requests = []

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for writer in self._writers:
                writer.transport.abort()  # the links' reads end, and so do they
            await asyncio.gather(*self._links, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> RequestCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _handle(self, client: asyncio.StreamReader, back: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        task.add_done_callback(self._links.discard)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            back.close()
            return
        self._writers.update((back, up_writer))
        await asyncio.gather(
            self._pipe(client, up_writer, True), self._pipe(up_reader, back, False)
        )

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, requests: bool
    ) -> None:
        heads = RequestHeads() if requests else None
        try:
            while data := await source.read(256 * 1024):
                if heads is not None:
                    seen = heads.feed(data)
                    with self._lock:
                        self.requests.extend(seen)
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(sink)
            with contextlib.suppress(Exception):
                sink.close()


class RequestHeads:
    """Follows one connection's HTTP/1.1 request stream and names the method of each
    request it completes the head of. Bodies are skipped by ``Content-Length`` or by
    chunked transfer coding, so a body that happens to contain ``GET /`` is not a request.
    ``skip_root``: requests for ``/`` itself (ListBuckets, which benchmark workers send to
    open a connection before timing) are not named.
    """

    def __init__(self, *, skip_root: bool = False) -> None:
        self._skip_root = skip_root
        self._buffer = b""
        self._body_left = 0
        self._chunked = False

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        """(method, target) of each request whose head ``data`` completes, in order."""
        self._buffer += data
        methods: list[tuple[str, str]] = []
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
            target = rest.split(b" ", 1)[0]
            if not (self._skip_root and target == b"/"):
                methods.append((method.decode("latin-1"), target.decode("latin-1")))
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
