"""A counting TCP proxy on 127.0.0.1, to measure what a client really asks of S3.

It forwards every connection to the upstream port unchanged and counts the bytes in each
direction (HTTP headers included) and the HTTP requests by method (GET, HEAD, PUT...),
whatever the client library: the request stream of each connection is followed by
``s3cse.local.counting.RequestHeads``, which only reads it. It runs an asyncio loop in a
daemon thread of the benchmark process; ``stop`` closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from dataclasses import dataclass, field

from s3cse.local.counting import RequestHeads


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
            self._pipe(reader, up_writer, RequestHeads(skip_root=True)),
            self._pipe(up_reader, writer, None),
        )

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        requests: RequestHeads | None,
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
                        self.counts.methods.update(method for method, _ in requests.feed(data))
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
