"""Fault-test fixtures: s3cse clients (sync and async) whose S3 and KMS traffic crosses
a ``FaultProxy``, and checks that nothing was left behind.

Clients here use botocore's ``standard`` retry mode with few attempts and short
timeouts, so a fault that outlasts the retries fails within seconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from s3cse import AsyncEncryptionClient, EncryptionClient
from s3cse.core import integrity as integrity
from s3cse.core.materials import Keyring
from s3cse.core.metadata import DEFAULT_INSTRUCTION_SUFFIX
from s3cse.keyrings import AsyncKmsKeyring, KmsKeyring
from s3cse.local import stack as local

from ..aio_facade import LoopThread, SyncFacade
from .proxy import FaultProxy

ATTEMPTS = 3
TIMEOUTS = {"connect_timeout": 2, "read_timeout": 3}
SIDECARS = (DEFAULT_INSTRUCTION_SUFFIX, integrity.SUFFIX)


def retry_settings(attempts: int = ATTEMPTS) -> dict[str, Any]:
    return {"retries": {"mode": "standard", "max_attempts": attempts}, **TIMEOUTS}


class Faulty:
    """Clients of one kind (sync or async) behind proxies to S3 and KMS."""

    def __init__(
        self,
        kind: str,
        s3_proxy: FaultProxy,
        kms_proxy: FaultProxy,
        runner: LoopThread | None,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.kind = kind
        self.s3_proxy = s3_proxy
        self.kms_proxy = kms_proxy
        self._runner = runner
        self._exit: contextlib.AsyncExitStack | None = None
        settings = retry_settings(attempts)
        if kind == "sync":
            self.s3 = boto3.client("s3", endpoint_url=s3_proxy.url, config=Config(**settings))
            self.kms = boto3.client("kms", endpoint_url=kms_proxy.url, config=Config(**settings))
            return
        assert runner is not None
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        async def open_clients() -> tuple[Any, Any]:
            self._exit = contextlib.AsyncExitStack()
            session = get_session()
            s3 = await self._exit.enter_async_context(
                session.create_client("s3", endpoint_url=s3_proxy.url, config=AioConfig(**settings))
            )
            kms = await self._exit.enter_async_context(
                session.create_client(
                    "kms", endpoint_url=kms_proxy.url, config=AioConfig(**settings)
                )
            )
            return s3, kms

        self.s3, self.kms = runner.run(open_clients())

    def kms_keyring(self, key_id: str) -> Keyring:
        if self.kind == "sync":
            return KmsKeyring(key_id, kms_client=self.kms)
        return AsyncKmsKeyring(key_id, kms_client=self.kms)

    def client(self, keyring: Keyring, **options: Any) -> Any:
        """An s3cse client over the proxied S3 (async ones behind a blocking facade)."""
        if self.kind == "sync":
            return EncryptionClient(keyring, s3_client=self.s3, **options)
        assert self._runner is not None
        return SyncFacade(
            AsyncEncryptionClient(keyring, s3_client=self.s3, **options), self._runner
        )

    def close(self) -> None:
        if self._exit is not None and self._runner is not None:
            self._runner.run(self._exit.aclose())


@pytest.fixture(scope="session")
def fault_loop() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.close()


@pytest.fixture
def s3_proxy(stack: local.LocalStack) -> Iterator[FaultProxy]:
    proxy = FaultProxy(stack.s3_port)
    yield proxy
    proxy.close()


@pytest.fixture
def kms_proxy(stack: local.LocalStack) -> Iterator[FaultProxy]:
    proxy = FaultProxy(stack.kms_port)
    yield proxy
    proxy.close()


@pytest.fixture(params=["sync", "async"])
def faulty(
    request: pytest.FixtureRequest,
    s3_proxy: FaultProxy,
    kms_proxy: FaultProxy,
    fault_loop: LoopThread,
) -> Iterator[Faulty]:
    opened = Faulty(request.param, s3_proxy, kms_proxy, fault_loop)
    yield opened
    opened.close()


# ---------------------------------------------------------------------- what must hold


def assert_absent(s3: Any, bucket: str, key: str) -> None:
    """No object (and no sidecar) at ``key``: a failed write left nothing visible."""
    for name in (key, *(key + suffix for suffix in SIDECARS)):
        with pytest.raises(ClientError) as raised:
            s3.head_object(Bucket=bucket, Key=name)
        assert raised.value.response["Error"]["Code"] in ("404", "NoSuchKey"), name


def assert_no_uploads(s3: Any, bucket: str, key: str) -> None:
    """No multipart upload left open for ``key`` (its parts would be billed forever)."""
    listing = s3.list_multipart_uploads(Bucket=bucket, Prefix=key)
    assert [u["UploadId"] for u in listing.get("Uploads", []) if u["Key"] == key] == []


def leftovers(directory: Path) -> list[str]:
    """Temp files a download left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".s3cse-part"))
