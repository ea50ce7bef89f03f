"""s3cse with a KMS keyring and default settings (format V3, default TransferConfig).

upload: ``upload_file`` (variant "index": ExtraArgs IntegrityIndex=True); download:
``download_file``; small: put_object/get_object (one GenerateDataKey / Decrypt each);
range: get_object(Range=...) of the last bytes, variant "unauthenticated" (CTR range,
``unauthenticated_ranges=True``, object without index) or "authenticated" (through the
integrity index of an object uploaded with IntegrityIndex=True).
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import _common as c
import boto3

from s3cse import EncryptionClient, KmsKeyring
from s3cse.caching import CachingMaterialsManager


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


def main() -> None:
    job = c.job()
    bucket, key = job["bucket"], job.get("key", "")
    s3 = boto3.client("s3")
    s3.list_buckets()  # open a connection outside the timed sections
    options = {"unauthenticated_ranges": True} if job.get("variant") == "unauthenticated" else {}
    kms = boto3.client("kms")
    timer = KmsTimer(kms)
    keyring = KmsKeyring(job["kms_key_id"], kms_client=kms)
    if job.get("variant") == "cache":  # one data key for many objects
        client = EncryptionClient(materials=CachingMaterialsManager(keyring), s3_client=s3,
                                  **options)
    else:
        client = EncryptionClient(keyring, s3_client=s3, **options)
    result: dict[str, Any] = {"rss_after_setup_mib": c.vm_rss_mib()}
    clock = c.Clock()
    workload = job["workload"]
    if workload == "upload":
        extra = {"IntegrityIndex": True} if job.get("variant") == "index" else None
        with clock.timed():
            client.upload_file(job["file"], bucket, key, ExtraArgs=extra)
        how = "upload_file (default TransferConfig)" + (", IntegrityIndex=True" if extra else "")
        result.update(**clock.totals(), api=how)
    elif workload == "download":
        with clock.timed():
            client.download_file(bucket, key, job["file"])
        result.update(**clock.totals(), api="download_file (default TransferConfig)")
    elif workload == "small":
        result.update(c.small_objects(
            lambda k, body: client.put_object(Bucket=bucket, Key=k, Body=body),
            lambda k: client.get_object(Bucket=bucket, Key=k)["Body"].read(), job))
        result["api"] = "put_object / get_object"
    elif workload == "range":
        _, _, header = c.last_range(job["size"], job["range_length"])
        result.update(c.repeated_reads(
            lambda: client.get_object(Bucket=bucket, Key=key, Range=header)["Body"].read(),
            job))
        result.update(api="get_object(Range=...)",
                      kms_median_seconds=statistics.median(timer.samples[1:] or [0.0]),
                      kms_calls_per_read=len(timer.samples) / result["reads"])
    else:
        raise SystemExit(f"unknown workload {workload}")
    c.emit(result)


if __name__ == "__main__":
    main()
