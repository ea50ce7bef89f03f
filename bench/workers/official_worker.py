"""The official amazon-s3-encryption-client-python (v4), KMS keyring, its defaults (V3).

upload: its ``upload_file`` (encrypted multipart from 8 MiB on, 8 MiB parts sent one after
another, as GCM needs); download: ``get_object`` read to a file in 1 MiB chunks (without
delayed authentication it decrypts the whole object in memory first); small:
put_object/get_object; range: it refuses ``Range``, so the worker records the refusal and
times one full download instead.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import _common as c
import boto3
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring


def client(kms_key_id: str) -> S3EncryptionClient:
    keyring = KmsKeyring(kms_client=boto3.client("kms"), kms_key_id=kms_key_id)
    return S3EncryptionClient(
        wrapped_s3_client=boto3.client("s3"), config=S3EncryptionClientConfig(keyring=keyring)
    )


def main() -> None:
    job = c.job()
    bucket, key = job["bucket"], job.get("key", "")
    s3ec = client(job["kms_key_id"])
    s3ec.list_buckets()  # open a connection outside the timed sections
    result: dict[str, Any] = {"rss_after_setup_mib": c.vm_rss_mib()}
    clock = c.Clock()
    workload = job["workload"]
    if workload == "upload":
        with clock.timed():
            s3ec.upload_file(job["file"], bucket, key)
        result.update(**clock.totals(), api="upload_file (sequential 8 MiB parts)")
    elif workload == "download":
        with clock.timed():
            body = s3ec.get_object(Bucket=bucket, Key=key)["Body"]
            c.copy_stream(body.read, job["file"])
        result.update(**clock.totals(), api="get_object, Body read in 1 MiB chunks")
    elif workload == "small":
        result.update(
            c.small_objects(
                lambda k, body: s3ec.put_object(Bucket=bucket, Key=k, Body=body),
                lambda k: s3ec.get_object(Bucket=bucket, Key=k)["Body"].read(),
                job,
            )
        )
        result["api"] = "put_object / get_object"
    elif workload == "range":
        first, _, header = c.last_range(job["size"], job["range_length"])
        try:
            s3ec.get_object(Bucket=bucket, Key=key, Range=header)
            refusal = None
        except Exception as exc:  # the documented refusal: no ranged gets
            refusal = f"{type(exc).__name__}: {exc}"
        start = time.perf_counter()
        body = s3ec.get_object(Bucket=bucket, Key=key)["Body"]
        digest, offset = hashlib.sha256(), 0
        while chunk := body.read(c.READ_CHUNK):
            tail = chunk[max(first - offset, 0) :]
            if tail:
                digest.update(tail)
            offset += len(chunk)
        elapsed = time.perf_counter() - start
        result.update(
            median_seconds=elapsed,
            seconds=elapsed,
            reads=1,
            correct=digest.hexdigest() == job["expect_sha256"],
            refused_range=refusal,
            api="get_object of the whole object",
        )
    else:
        raise SystemExit(f"unknown workload {workload}")
    c.emit(result)


if __name__ == "__main__":
    main()
