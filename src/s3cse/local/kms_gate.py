"""A loopback HTTP gate in front of moto's KMS that enforces key state as AWS KMS does.

moto server records DisableKey and ScheduleKeyDeletion but still encrypts and decrypts
with such keys. AWS refuses: ``DisabledException`` for a disabled key,
``KMSInvalidStateException`` for one pending deletion. And where a Decrypt names an
existing key other than the ciphertext's, moto answers ``AccessDeniedException`` and AWS
``IncorrectKeyException``. A Decrypt that names no key (KMS discovery) is checked by
the key moto answers it used. The local stack puts this gate between clients and moto so
that the errors users see locally are the ones AWS gives. Everything else is forwarded
unchanged.

The gate also counts the requests it receives per operation (``X-Amz-Target`` without
its ``TrentService.`` prefix), so benchmarks and tests can see how often a client calls
KMS: ``GET /_s3cse_gate/stats`` answers ``{"requests": {"Decrypt": 3, ...}, "total": n}``
and ``POST /_s3cse_gate/reset`` sets the counters back to zero.

Run: ``python -m s3cse.local.kms_gate LISTEN_PORT UPSTREAM_PORT``
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

_KEY_OPERATIONS = {
    "TrentService.Decrypt",
    "TrentService.Encrypt",
    "TrentService.GenerateDataKey",
    "TrentService.GenerateDataKeyWithoutPlaintext",
    "TrentService.ReEncrypt",
}
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
STATS_PATH = "/_s3cse_gate/stats"
RESET_PATH = "/_s3cse_gate/reset"


class _Gate(BaseHTTPRequestHandler):
    # Headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every KMS call.
    disable_nagle_algorithm = True
    upstream_port = 0
    protocol_version = "HTTP/1.1"
    counts: ClassVar[Counter[str]] = Counter()  # per server: serve() gives each its own
    counts_lock: ClassVar[threading.Lock] = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the stack's log is moto's."""

    def _upstream(
        self, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def _key_state(self, key_id: str, headers: dict[str, str]) -> tuple[str, str] | None:
        probe = {**headers, "X-Amz-Target": "TrentService.DescribeKey"}
        status, _, body = self._upstream(json.dumps({"KeyId": key_id}).encode(), probe)
        if status != 200:
            return None
        meta = json.loads(body).get("KeyMetadata", {})
        return meta.get("KeyState", "Enabled"), meta.get("Arn", key_id)

    def do_GET(self) -> None:
        if self.path != STATS_PATH:
            return self._json(404, {"message": f"the KMS gate serves only {STATS_PATH}"})
        with self.counts_lock:
            counts = dict(self.counts)
        self._json(200, {"requests": counts, "total": sum(counts.values())})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == RESET_PATH:
            with self.counts_lock:
                self.counts.clear()
            return self._json(200, {"requests": {}, "total": 0})
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        target = self.headers.get("X-Amz-Target", "")
        with self.counts_lock:
            self.counts[target.removeprefix("TrentService.")] += 1
        state: tuple[str, str] | None = None
        if target in _KEY_OPERATIONS:
            try:
                key_id = json.loads(body or b"{}").get("KeyId") or json.loads(body or b"{}").get(
                    "DestinationKeyId"
                )
            except ValueError:
                key_id = None
            state = self._key_state(key_id, headers) if key_id else None
            if state is not None and state[0] == "Disabled":
                return self._error("DisabledException", f"{state[1]} is disabled.")
            if state is not None and state[0] == "PendingDeletion":
                return self._error("KMSInvalidStateException", f"{state[1]} is pending deletion.")
        status, response_headers, payload = self._upstream(body, headers)
        if target == "TrentService.Decrypt" and state is None and status == 200:
            # a Decrypt naming no key (discovery): the key's state is known from the answer
            used = _answered_key(payload)
            state = self._key_state(used, headers) if used else None
            if state is not None and state[0] == "Disabled":
                return self._error("DisabledException", f"{state[1]} is disabled.")
            if state is not None and state[0] == "PendingDeletion":
                return self._error("KMSInvalidStateException", f"{state[1]} is pending deletion.")
        if (
            target == "TrentService.Decrypt"
            and state is not None
            and _error_type(payload) == "AccessDeniedException"
        ):
            # moto refuses a ciphertext of another key as if access were denied; AWS
            # answers IncorrectKeyException when the request names a key
            return self._error(
                "IncorrectKeyException",
                "The key ID in the request does not identify the KMS key that encrypted "
                "the ciphertext.",
            )
        self.send_response(status)
        for name, value in response_headers:
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, code: str, message: str) -> None:
        self._json(400, {"__type": code, "message": message})

    def _json(self, status: int, document: object) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _answered_key(payload: bytes) -> str | None:
    """The ``KeyId`` of a KMS answer (None if it has none)."""
    try:
        key = json.loads(payload or b"{}").get("KeyId")
    except (ValueError, AttributeError):
        return None
    return key if isinstance(key, str) and key else None


def _error_type(payload: bytes) -> str:
    """The ``__type`` of a KMS error answer ("" for anything else)."""
    try:
        document = json.loads(payload or b"{}")
    except ValueError:
        return ""
    return str(document.get("__type", "")) if isinstance(document, dict) else ""


def serve(listen_port: int, upstream_port: int) -> None:
    handler = type(
        "Gate",
        (_Gate,),
        {"upstream_port": upstream_port, "counts": Counter(), "counts_lock": threading.Lock()},
    )
    server = ThreadingHTTPServer(("127.0.0.1", listen_port), handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
