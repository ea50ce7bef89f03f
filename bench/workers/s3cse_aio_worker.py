"""s3cse's async client (``s3cse.aio.AsyncEncryptionClient`` over aiobotocore) with an
``AsyncKmsKeyring`` and default settings, to set beside the sync client (s3cse_worker.py).

upload/download: ``upload_file`` / ``download_file`` (``upload_fileobj`` /
``download_fileobj`` from or to a pipe); small: put_object / get_object awaited one after
another, variant "cache": the caching materials manager, with the seconds spent in KMS
calls. The event loop runs in the main thread and each operation is awaited to its end
(``run_until_complete``), so the shared timing helpers of ``_common`` time it as they time
the sync clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import _common as c
from aiobotocore.session import get_session
from s3cse_worker import KmsTimer

from s3cse.aio import AsyncEncryptionClient
from s3cse.keyrings import AsyncKmsKeyring, CachingMaterialsManager


def main() -> None:
    job = c.job()
    bucket, key = job["bucket"], job.get("key", "")
    loop = asyncio.new_event_loop()
    run = loop.run_until_complete
    stack = contextlib.AsyncExitStack()
    kms = run(stack.enter_async_context(get_session().create_client("kms")))
    timer = KmsTimer(kms)
    keyring = AsyncKmsKeyring(job["kms_key_id"], kms_client=kms)
    caching = job.get("variant") == "cache"
    client = run(
        stack.enter_async_context(
            AsyncEncryptionClient.create(materials=CachingMaterialsManager(keyring))
            if caching
            else AsyncEncryptionClient.create(keyring)
        )
    )
    run(client.list_objects_v2(Bucket=bucket, MaxKeys=1))  # a connection, untimed
    result: dict[str, Any] = {"rss_after_setup_mib": c.vm_rss_mib()}

    async def read(name: str) -> bytes:
        response = await client.get_object(Bucket=bucket, Key=name)
        data: bytes = await response["Body"].read()
        return data

    workload = job["workload"]
    if workload == "upload":
        result.update(
            c.timed_transfer(
                job,
                lambda name: run(client.upload_file(name, bucket, key)),
                lambda stream: run(client.upload_fileobj(stream, bucket, key)),
            ),
            api="await upload_file / upload_fileobj from a pipe (default TransferConfig)",
        )
    elif workload == "download":
        result.update(
            c.timed_transfer(
                job,
                lambda name: run(client.download_file(bucket, key, name)),
                lambda stream: run(client.download_fileobj(bucket, key, stream)),
            ),
            api="await download_file / download_fileobj to a pipe (default TransferConfig)",
        )
    elif workload == "small":
        result.update(
            c.small_objects(
                lambda name, body: run(client.put_object(Bucket=bucket, Key=name, Body=body)),
                lambda name: run(read(name)),
                job,
            )
        )
        result.update(
            api="await put_object / get_object",
            kms_seconds=sum(timer.samples),
            kms_timed_calls=len(timer.samples),
        )
    else:
        raise SystemExit(f"unknown workload {workload}")
    run(stack.aclose())
    loop.close()
    c.emit(result)


if __name__ == "__main__":
    main()
