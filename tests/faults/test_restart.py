"""The S3 server restarted in the middle of a transfer.

A stack of its own (the session's must stay up) is stopped and started again on the
same data while a transfer crosses a slowed proxy; the proxy then forwards to the new
port. Uploads retry through the outage (botocore, with enough attempts to outlast it)
and complete intact; a download whose body breaks fails cleanly and works afterwards.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config

from s3cse import AesKeyring, EncryptionClient
from s3cse.errors import S3RequestError
from s3cse.local import stack as local
from s3cse.transfer import TransferConfig

from .conftest import assert_no_uploads, leftovers
from .proxy import Fault, FaultProxy

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
BUCKET = "s3cse-restart"
KEY = AesKeyring(os.urandom(32))
T = TypeVar("T")
PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2)


class RestartableS3:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.stack = local.start(state, buckets=(BUCKET,), die_with_parent=True)
        self.proxy = FaultProxy(self.stack.s3_port)
        self.restarts = 0

    def restart(self) -> None:
        """Stop every server, start them again on the same data, point the proxy there.
        Open connections break at once, as when a server crashes (a graceful stop would
        let the answers under way finish)."""
        self.proxy.drop_all()
        local.stop(self.state)
        self.proxy.drop_all()
        self.stack = local.start(self.state, buckets=(BUCKET,), die_with_parent=True)
        self.proxy.upstream_port = self.stack.s3_port
        self.restarts += 1

    def client(self, attempts: int) -> Any:
        env = self.stack.env()
        return boto3.client(
            "s3",
            endpoint_url=self.proxy.url,
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            config=Config(
                retries={"mode": "standard", "max_attempts": attempts},
                connect_timeout=2,
                read_timeout=5,
            ),
        )

    def close(self) -> None:
        self.proxy.close()
        local.stop(self.state)


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableS3]:
    opened = RestartableS3(tmp_path_factory.mktemp("restartable"))
    yield opened
    opened.close()


def during_restart(
    restartable: RestartableS3, sent: int, direction: str, transfer: Callable[[], T]
) -> T:
    """Run ``transfer`` on a worker thread and restart the servers once ``sent`` more
    bytes went ``direction``. The restart happens on this thread: the servers die with the
    thread that started them."""
    sent += restartable.proxy.bytes_sent[direction]
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(transfer)
        while restartable.proxy.bytes_sent[direction] < sent and not future.done():
            time.sleep(0.05)
        if not future.done():
            restartable.restart()
        try:
            return future.result()
        finally:
            restartable.proxy.clear()


def test_multipart_upload_survives_a_restart(restartable: RestartableS3) -> None:
    data = os.urandom(16 * MiB)
    restartable.proxy.add(Fault("slow", "request", seconds=0.002, times=None))
    client = EncryptionClient(KEY, s3_client=restartable.client(attempts=12))
    during_restart(
        restartable,
        6 * MiB,
        "request",
        lambda: client.upload_fileobj(io.BytesIO(data), BUCKET, "survivor", Config=PARTS),
    )
    assert restartable.restarts == 1
    direct = EncryptionClient(KEY, s3_client=restartable.client(attempts=3))
    assert direct.get_object(Bucket=BUCKET, Key="survivor")["Body"].read() == data
    assert_no_uploads(direct.s3, BUCKET, "survivor")


def test_download_cut_by_a_restart_fails_cleanly(
    restartable: RestartableS3, tmp_path: Path
) -> None:
    data = os.urandom(12 * MiB)
    client = EncryptionClient(KEY, s3_client=restartable.client(attempts=12))
    client.put_object(Bucket=BUCKET, Key="interrupted", Body=data)
    target = tmp_path / "copy.bin"
    restartable.proxy.add(Fault("slow", "response", seconds=0.002, times=None))
    before = restartable.restarts
    with pytest.raises(S3RequestError, match="failed after"):
        during_restart(
            restartable,
            3 * MiB,
            "response",
            lambda: client.download_file(BUCKET, "interrupted", str(target), Config=PARTS),
        )
    assert restartable.restarts == before + 1
    assert not target.exists() and leftovers(tmp_path) == []
    client.download_file(BUCKET, "interrupted", str(target), Config=PARTS)
    assert target.read_bytes() == data
