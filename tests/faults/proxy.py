"""A TCP proxy on 127.0.0.1 that breaks connections on purpose.

It sits between a botocore client and a real server (S3 or KMS) and forwards bytes
both ways until a ``Fault`` fires. A fault is armed on the first connection whose
request stream contains its ``when`` marker (any connection if it has none), then acts
once ``after`` bytes have passed in its direction since the marker:

- ``reset``: the client's socket is closed with an RST (``SO_LINGER`` 0);
- ``cut``: the connection is closed cleanly (FIN), leaving a short body behind;
- ``stall``: forwarding stops for ``seconds`` (long enough to trip a read timeout);
- ``slow``: every chunk after the trigger waits ``seconds``;
- ``respond``: the request is read whole and answered with the canned ``response``
  without reaching the server (throttling errors, for instance);
- ``refuse``: the connection is reset as soon as it is accepted.

``times`` bounds how many connections a fault hits (None: all of them), so a test can
fail the first attempts and let botocore's retries through.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

CHUNK = 64 * 1024
KINDS = {"reset", "cut", "stall", "slow", "respond", "refuse"}


@dataclass
class Fault:
    kind: str
    direction: str = "response"  # the bytes it counts: "request" or "response"
    after: int = 0
    when: bytes | None = None
    times: int | None = 1
    seconds: float = 0.0
    response: bytes = b""
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}")
        if self.direction not in ("request", "response"):
            raise ValueError(f"unknown direction {self.direction!r}")

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


def http_response(
    status: int, reason: str, body: bytes, content_type: str = "application/x-amz-json-1.1"
) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def kms_throttling(times: int | None = 1) -> Fault:
    """What KMS answers when its request rate is exceeded."""
    body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
    return Fault(
        "respond",
        direction="request",
        times=times,
        response=http_response(400, "Bad Request", body),
    )


def s3_slow_down(times: int | None = 1, when: bytes | None = None) -> Fault:
    """What S3 answers when a prefix is overloaded."""
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
        b"<Message>Please reduce your request rate.</Message></Error>"
    )
    return Fault(
        "respond",
        direction="request",
        times=times,
        when=when,
        response=http_response(503, "Slow Down", body, "application/xml"),
    )


# Armed on a connection whose fault is done with it: nothing more happens there.
_SPENT = Fault("slow", after=1 << 62, times=None)


class FaultProxy:
    """One listening socket; two pump threads per accepted connection."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.connections = 0
        self.bytes_sent = {"request": 0, "response": 0}
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, *faults: Fault) -> list[Fault]:
        with self._lock:
            self._faults.extend(faults)
        return list(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def go_down(self) -> None:
        """Refuse new connections and break the open ones: the server is gone."""
        self.add(Fault("refuse", times=None))
        self.drop_all()

    def drop_all(self) -> None:
        """Reset every open connection (what a server restart does to its clients)."""
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            _reset(sock)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.drop_all()

    # ------------------------------------------------------------------ internals

    def _take(self, request_window: bytes | None) -> Fault | None:
        """The first live fault this connection triggers (at accept: a refusal only).

        Refusals and canned answers are spent when taken; the others only when they act
        (``spend``), so a matching request too short to reach ``after`` does not use one.
        """
        with self._lock:
            for fault in self._faults:
                if fault.exhausted:
                    continue
                if request_window is None:
                    if fault.kind != "refuse":
                        continue
                elif fault.kind == "refuse" or (
                    fault.when is not None and fault.when not in request_window
                ):
                    continue
                if fault.kind in ("refuse", "respond"):
                    fault.fired += 1
                return fault
        return None

    def spend(self, fault: Fault) -> bool:
        """Count one firing of ``fault``; False if it has already fired enough."""
        with self._lock:
            if fault.exhausted:
                return False
            fault.fired += 1
            return True

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            if self._take(None) is not None:
                _reset(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        link = _Link(self, client, upstream)
        self._track(client)
        self._track(upstream)
        responses = threading.Thread(target=link.pump_responses, daemon=True)
        responses.start()
        try:
            link.pump_requests()
        finally:
            responses.join()
            self._untrack(client)
            self._untrack(upstream)
            link.close()


class _Link:
    """The state of one proxied connection: the fault armed on it and the byte counts."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.fault: Fault | None = None
        self.acting = False
        self.sent = {"request": 0, "response": 0}
        self.trigger = {"request": 0, "response": 0}
        self.window = b""
        self.broken = threading.Event()

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.close()

    def _arm(self, data: bytes) -> None:
        if self.fault is not None:
            return
        self.window = (self.window + data)[-CHUNK * 4 :]
        fault = self.proxy._take(self.window)
        if fault is None:
            return
        self.fault = fault
        marker = self.window.rfind(fault.when) if fault.when else -1
        # the trigger point: where the marker sits in the request stream, or here
        self.trigger["request"] = self.sent["request"] + (
            marker - (len(self.window) - len(data)) if marker >= 0 else 0
        )
        self.trigger["response"] = self.sent["response"]

    def _budget(self, direction: str) -> int | None:
        """Bytes that may still pass before the armed fault acts in ``direction``."""
        fault = self.fault
        if fault is None or fault.direction != direction or fault.kind == "respond":
            return None
        passed = self.sent[direction] - self.trigger[direction]
        return max(fault.after - passed, 0)

    def _forward(self, direction: str, data: bytes, sink: socket.socket) -> bool:
        """Send ``data`` on, applying the fault; False once the connection is broken."""
        budget = self._budget(direction)
        fault = self.fault
        if budget is not None and fault is not None and len(data) >= budget:
            if not self.acting:
                if not self.proxy.spend(fault):
                    self.fault = _SPENT
                    return self._forward(direction, data, sink)
                self.acting = True
            head, data = data[:budget], data[budget:]
            if head:
                sink.sendall(head)
                self._count(direction, len(head))
            if fault.kind == "reset":
                self.broken.set()
                _reset(self.client)
                return False
            if fault.kind == "cut":
                self.broken.set()
                with contextlib.suppress(OSError):
                    self.client.shutdown(socket.SHUT_RDWR)
                return False
            if fault.kind == "stall":
                self.broken.wait(fault.seconds)
                if self.broken.is_set():
                    return False
            if fault.kind == "slow":
                for start in range(0, len(data), 4096):
                    time.sleep(fault.seconds)
                    sink.sendall(data[start : start + 4096])
                    self._count(direction, len(data[start : start + 4096]))
                return True
            # a stall that ended: pass everything from now on
            self.fault = _SPENT
        sink.sendall(data)
        self._count(direction, len(data))
        return True

    def _count(self, direction: str, size: int) -> None:
        self.sent[direction] += size
        self.proxy.bytes_sent[direction] += size

    def pump_requests(self) -> None:
        request = b""
        try:
            while data := self.client.recv(CHUNK):
                self._arm(data)
                if self.fault is not None and self.fault.kind == "respond":
                    request += data
                    if _complete(request):
                        self.client.sendall(self.fault.response)
                        self.broken.set()
                        break
                    continue
                if not self._forward("request", data, self.upstream):
                    break
        except OSError:
            pass
        self.broken.set()
        with contextlib.suppress(OSError):
            self.upstream.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.client.shutdown(socket.SHUT_RDWR)

    def pump_responses(self) -> None:
        try:
            while data := self.upstream.recv(CHUNK):
                if self.broken.is_set() and self.fault is not None:
                    break
                if not self._forward("response", data, self.client):
                    break
        except OSError:
            pass
        with contextlib.suppress(OSError):
            self.client.shutdown(socket.SHUT_WR)
        if self.broken.is_set():
            with contextlib.suppress(OSError):
                self.upstream.shutdown(socket.SHUT_RDWR)


def _complete(request: bytes) -> bool:
    """Whether an HTTP request has arrived as far as a server would read it before
    answering: its headers, then its body unless it waits for ``100 Continue``."""
    head, sep, body = request.partition(b"\r\n\r\n")
    if not sep:
        return False
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"expect", b"").lower() == b"100-continue":
        return True
    return len(body) >= int(headers.get(b"content-length", b"0") or 0)


def _reset(sock: socket.socket) -> None:
    """Abort with an RST; waking any thread blocked reading the socket first."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()
