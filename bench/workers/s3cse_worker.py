"""s3cse with a KMS keyring and default settings (format V3, default TransferConfig).

upload: ``upload_file`` (variant "index": ExtraArgs IntegrityIndex=True); download:
``download_file``; from or to a pipe: ``upload_fileobj`` / ``download_fileobj``. small:
put_object/get_object (one GenerateDataKey / Decrypt each), with the seconds spent in
KMS calls (timed through botocore's events) to tell KMS's share of the latency;
range: get_object(Range=...) of the last bytes, variant "unauthenticated" (CTR range,
``unauthenticated_ranges=True``, object without index) or "authenticated" (through the
integrity index of an object uploaded with IntegrityIndex=True). load: the mixed workload
of ``_common.mixed_load``, every thread on this one client, ranges unauthenticated (CTR,
as plain boto3's are), whole reads authenticated; variant "cache": the caching materials
manager.
"""

from __future__ import annotations

import io
import statistics
import threading
import time
from typing import Any

import _common as c
import boto3

from s3cse import EncryptionClient, KmsKeyring
from s3cse.errors import ObjectNotFoundError
from s3cse.keyrings import CachingMaterialsManager
from s3cse.transfer import TransferConfig


class KmsTimer:
    """Times the keyring's KMS calls through botocore's events, to split a read's latency."""

    def __init__(self, kms: Any) -> None:
        self.samples: list[float] = []
        self._started = threading.local()
        kms.meta.events.register("before-call.kms", self._before)
        kms.meta.events.register("after-call.kms", self._after)

    def _before(self, **_: Any) -> None:
        self._started.at = time.perf_counter()

    def _after(self, **_: Any) -> None:
        self.samples.append(time.perf_counter() - self._started.at)


def load_calls(client: EncryptionClient, bucket: str, job: dict[str, Any]) -> c.LoadCalls:
    config = TransferConfig(
        multipart_threshold=job["part_size"],
        multipart_chunksize=job["part_size"],
        max_concurrency=job["part_concurrency"],
    )

    def download(key: str) -> bytes:
        sink = io.BytesIO()
        client.download_fileobj(bucket, key, sink, Config=config)
        return sink.getvalue()

    return c.LoadCalls(
        put=lambda k, data: client.put_object(Bucket=bucket, Key=k, Body=data),
        get=lambda k: client.get_object(Bucket=bucket, Key=k)["Body"].read(),
        get_range=lambda k, header: client.get_object(Bucket=bucket, Key=k, Range=header)[
            "Body"
        ].read(),
        upload=lambda k, data: client.upload_fileobj(io.BytesIO(data), bucket, k, Config=config),
        download=download,
        delete=lambda k: client.delete_object(Bucket=bucket, Key=k),
        missing=lambda exc: isinstance(exc, ObjectNotFoundError),
    )


def main() -> None:
    job = c.job()
    bucket, key = job["bucket"], job.get("key", "")
    s3 = boto3.client("s3", config=c.botocore_config(job))
    s3.list_buckets()  # open a connection outside the timed sections
    ranges = job.get("variant") == "unauthenticated" or job["workload"] == "load"
    options: dict[str, Any] = {"unauthenticated_ranges": True} if ranges else {}
    kms = boto3.client("kms", config=c.botocore_config(job))
    timer = KmsTimer(kms)
    keyring = KmsKeyring(job["kms_key_id"], kms_client=kms)
    if job.get("variant") == "cache":  # one data key for many objects
        client = EncryptionClient(
            materials=CachingMaterialsManager(keyring), s3_client=s3, **options
        )
    else:
        client = EncryptionClient(keyring, s3_client=s3, **options)
    result: dict[str, Any] = {"rss_after_setup_mib": c.vm_rss_mib()}
    workload = job["workload"]
    if workload == "upload":
        extra = {"IntegrityIndex": True} if job.get("variant") == "index" else None
        result.update(
            c.timed_transfer(
                job,
                lambda name: client.upload_file(name, bucket, key, ExtraArgs=extra),
                lambda stream: client.upload_fileobj(stream, bucket, key, ExtraArgs=extra),
            )
        )
        how = "upload_file / upload_fileobj from a pipe (default TransferConfig)"
        result["api"] = how + (", IntegrityIndex=True" if extra else "")
    elif workload == "download":
        result.update(
            c.timed_transfer(
                job,
                lambda name: client.download_file(bucket, key, name),
                lambda stream: client.download_fileobj(bucket, key, stream),
            ),
            api="download_file / download_fileobj to a pipe (default TransferConfig)",
        )
    elif workload == "small":
        result.update(
            c.small_objects(
                lambda k, body: client.put_object(Bucket=bucket, Key=k, Body=body),
                lambda k: client.get_object(Bucket=bucket, Key=k)["Body"].read(),
                job,
            )
        )
        result.update(
            api="put_object / get_object",
            kms_seconds=sum(timer.samples),
            kms_timed_calls=len(timer.samples),
        )
    elif workload == "range":
        _, _, header = c.last_range(job["size"], job["range_length"])
        result.update(
            c.repeated_reads(
                lambda: client.get_object(Bucket=bucket, Key=key, Range=header)["Body"].read(), job
            )
        )
        result.update(
            api="get_object(Range=...)",
            kms_median_seconds=statistics.median(timer.samples[1:] or [0.0]),
            kms_calls_per_read=len(timer.samples) / result["reads"],
            kms_calls=len(timer.samples),
        )
    elif workload == "load":
        result.update(c.mixed_load(load_calls(client, bucket, job), job))
        result["api"] = (
            "put_object, get_object (whole; Range with unauthenticated_ranges="
            "True), upload_fileobj / download_fileobj, delete_object"
        )
    else:
        raise SystemExit(f"unknown workload {workload}")
    c.emit(result)


if __name__ == "__main__":
    main()
