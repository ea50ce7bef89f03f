"""A request-counting HTTP proxy on 127.0.0.1, in front of the local S3: how many GETs,
HEADs, PUTs... a client really sends, whatever the library (s3fs, boto3, DuckDB through
fsspec), to prove request budgets in tests and benchmarks.

It forwards each connection's bytes unchanged and reads the request lines out of the
client's stream. It runs an asyncio loop in a daemon thread of the calling process;
``close`` stops it. Request bodies are not parsed, so count reads, not uploads: a body
that happens to hold a request line would be counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections import Counter

REQUEST_LINE = re.compile(rb"(?:^|\r\n)(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/1\.[01]\r\n")


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
        try:
            while data := await source.read(256 * 1024):
                if requests:
                    seen = [(m.decode(), p.decode()) for m, p in REQUEST_LINE.findall(data)]
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
