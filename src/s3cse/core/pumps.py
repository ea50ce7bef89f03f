"""What a decrypting body does with each chunk, whichever way it waits: decrypt it,
count the plaintext released against what was announced, finalize at the end, and cut
lines. The bodies in ``_async/streams.py`` (and their generated sync twins) pump through
these.
"""

from __future__ import annotations

from typing import Protocol

from .errors import AuthenticationError, naming

CHUNK = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class Decryptor(Protocol):
    """Anything that turns ciphertext into plaintext incrementally."""

    def update(self, data: bytes) -> bytes: ...

    def finalize(self) -> bytes: ...


class LengthCheck:
    """Counts the plaintext a stream releases; at its end, it must be what was announced
    (``ContentLength``), or the reader would get a silently short or long body."""

    def __init__(self, expected: int | None) -> None:
        self.expected = expected
        self.released = 0

    def count(self, data: bytes) -> bytes:
        self.released += len(data)
        return data

    def finish(self) -> None:
        if self.expected is not None and self.released != self.expected:
            raise AuthenticationError(
                f"the object decrypted to {self.released} bytes, not the {self.expected} "
                "announced: its metadata or content was altered"
            )


Location = tuple[str, str]
"""The bucket and key a streamed body comes from, named by every error it raises."""


class DecryptionPump:
    """What a streaming body does with each ciphertext chunk it pulls, sync or async:
    decrypt it, count the plaintext released, and at the end (an empty chunk) finalize
    and check the length. Errors raised long after ``get_object`` returned still name
    the object."""

    def __init__(
        self, decryptor: Decryptor, length: int | None, location: Location | None = None
    ) -> None:
        self._decryptor = decryptor
        self._length = LengthCheck(length)
        self._location = location
        self.done = False

    def feed(self, chunk: bytes) -> bytes:
        if self._location is None:
            return self._step(chunk)
        with naming(*self._location):
            return self._step(chunk)

    def _step(self, chunk: bytes) -> bytes:
        if chunk:
            return self._length.count(self._decryptor.update(chunk))
        self.done = True
        out = self._length.count(self._decryptor.finalize())
        self._length.finish()
        return out


class LineSplitter:
    """Cuts a stream of chunks into lines (botocore's ``iter_lines``), sync or async."""

    def __init__(self, keepends: bool = False) -> None:
        self._keepends = keepends
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self._pending + chunk).splitlines(True)
        self._pending = lines.pop() if lines else b""
        return [self._shape(line) for line in lines]

    def end(self) -> list[bytes]:
        pending, self._pending = self._pending, b""
        return [self._shape(pending)] if pending else []

    def _shape(self, line: bytes) -> bytes:
        return line if self._keepends else line.splitlines()[0]
