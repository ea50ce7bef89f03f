"""The async client driven synchronously, so that the sync suites run it unchanged.

Test-only. ``LoopThread`` runs one event loop on a thread of its own for the whole
session (aiobotocore clients belong to the loop that opened them); ``SyncFacade`` turns
each call of an ``AsyncEncryptionClient`` into a blocking one on that loop, and response
bodies into blocking readers. Exceptions come back as raised, unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from s3cse import KmsKeyring, MultiKeyring
from s3cse.core.materials import Keyring
from s3cse.keyrings import AsyncKmsKeyring

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="aio-tests", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()


class SyncBody:
    """An async response body read synchronously (``read``, ``read1``, ``iter_chunks``,
    ``close``)."""

    def __init__(self, body: Any, runner: LoopThread) -> None:
        self._body, self._runner = body, runner

    def read(self, amt: int | None = None) -> bytes:
        data: bytes = self._runner.run(self._body.read(amt))
        return data

    def read1(self, amt: int = 1024 * 1024) -> bytes:
        data: bytes = self._runner.run(self._body.read1(amt))
        return data

    def iter_chunks(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks(1024)

    def close(self) -> None:
        self._body.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)


class SyncFacade:
    """Every method of the wrapped async client, awaited on the loop thread."""

    def __init__(self, client: Any, runner: LoopThread) -> None:
        self.async_client, self._runner = client, runner

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.async_client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if inspect.isawaitable(result):
                result = self._runner.run(_await(result))
            if isinstance(result, dict) and hasattr(result.get("Body"), "read"):
                result["Body"] = SyncBody(result["Body"], self._runner)
            return result

        return call


async def _await(awaitable: Any) -> Any:
    return await awaitable


def asyncify(keyring: Keyring, kms_client: Any) -> Keyring:
    """The same keys, with KMS called through aiobotocore (``AsyncKmsKeyring``)."""
    if isinstance(keyring, KmsKeyring) and not isinstance(keyring, AsyncKmsKeyring):
        # a keyring for another Region (a multi-Region key's replica) opens its own client
        elsewhere = keyring.region not in (None, kms_client.meta.region_name)
        return AsyncKmsKeyring(
            keyring.key_id,
            kms_client=None if elsewhere else kms_client,
            discovery=keyring.discovery,
            allow=keyring.allow.entries if keyring.allow is not None else (),
            region=keyring.region,
        )
    if isinstance(keyring, MultiKeyring):
        return MultiKeyring([asyncify(k, kms_client) for k in keyring.keyrings])
    return keyring
