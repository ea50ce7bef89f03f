"""Plain boto3 / s3transfer, no encryption: the ceiling every other client is compared to.

upload/download: ``upload_file`` / ``download_file`` with s3transfer's default
TransferConfig (8 MiB threshold and parts, 10 threads); from or to a pipe (job "pipe"):
``upload_fileobj`` / ``download_fileobj``. small: put_object/get_object.
range: one ranged GET per read. kms: the latency of bare KMS GenerateDataKey and Decrypt
calls (what every encrypted put and get adds), to tell KMS time from S3 time. load: the
mixed workload of ``_common.mixed_load``, every thread on this one client.
"""

from __future__ import annotations

import io
from typing import Any

import _common as c
import boto3


def kms_latency(kms: Any, job: dict[str, Any]) -> dict[str, float]:
    generate, decrypt = c.Clock(), c.Clock()
    for _ in range(job["reads"] + 1):
        with generate.timed():
            blob = kms.generate_data_key(KeyId=job["kms_key_id"], KeySpec="AES_256")
        with decrypt.timed():
            kms.decrypt(CiphertextBlob=blob["CiphertextBlob"])
    del generate.samples[0], decrypt.samples[0]  # warm-up
    return {
        "generate_median_seconds": generate.median(),
        "decrypt_median_seconds": decrypt.median(),
        "seconds": generate.seconds + decrypt.seconds,
    }


def load_calls(s3: Any, bucket: str, job: dict[str, Any]) -> c.LoadCalls:
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=job["part_size"],
        multipart_chunksize=job["part_size"],
        max_concurrency=job["part_concurrency"],
    )

    def download(key: str) -> bytes:
        sink = io.BytesIO()
        s3.download_fileobj(bucket, key, sink, Config=config)
        return sink.getvalue()

    def missing(exc: Exception) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return code in ("NoSuchKey", "404", "NotFound")

    return c.LoadCalls(
        put=lambda k, data: s3.put_object(Bucket=bucket, Key=k, Body=data),
        get=lambda k: s3.get_object(Bucket=bucket, Key=k)["Body"].read(),
        get_range=lambda k, header: s3.get_object(Bucket=bucket, Key=k, Range=header)[
            "Body"
        ].read(),
        upload=lambda k, data: s3.upload_fileobj(io.BytesIO(data), bucket, k, Config=config),
        download=download,
        delete=lambda k: s3.delete_object(Bucket=bucket, Key=k),
        missing=missing,
    )


def main() -> None:
    job = c.job()
    bucket, key = job["bucket"], job.get("key", "")
    s3 = boto3.client("s3", config=c.botocore_config(job))
    s3.list_buckets()  # open a connection outside the timed sections
    result: dict[str, Any] = {"rss_after_setup_mib": c.vm_rss_mib()}
    workload = job["workload"]
    if workload == "upload":
        result.update(
            c.timed_transfer(
                job,
                lambda name: s3.upload_file(name, bucket, key),
                lambda stream: s3.upload_fileobj(stream, bucket, key),
            ),
            api="upload_file / upload_fileobj from a pipe (s3transfer defaults)",
        )
    elif workload == "download":
        result.update(
            c.timed_transfer(
                job,
                lambda name: s3.download_file(bucket, key, name),
                lambda stream: s3.download_fileobj(bucket, key, stream),
            ),
            api="download_file / download_fileobj to a pipe (s3transfer defaults)",
        )
    elif workload == "small":
        result.update(
            c.small_objects(
                lambda k, body: s3.put_object(Bucket=bucket, Key=k, Body=body),
                lambda k: s3.get_object(Bucket=bucket, Key=k)["Body"].read(),
                job,
            )
        )
        result["api"] = "put_object / get_object"
    elif workload == "range":
        _, _, header = c.last_range(job["size"], job["range_length"])
        result.update(
            c.repeated_reads(
                lambda: s3.get_object(Bucket=bucket, Key=key, Range=header)["Body"].read(), job
            )
        )
        result["api"] = "get_object(Range=...)"
    elif workload == "load":
        result.update(c.mixed_load(load_calls(s3, bucket, job), job))
        result["api"] = (
            "put_object, get_object (whole and Range), upload_fileobj / "
            "download_fileobj (s3transfer), delete_object"
        )
    elif workload == "kms":
        result.update(kms_latency(boto3.client("kms"), job))
        if job.get("direct_kms_endpoint"):  # moto itself, without the KMS gate in front
            direct = kms_latency(boto3.client("kms", endpoint_url=job["direct_kms_endpoint"]), job)
            result.update({f"direct_{name}": value for name, value in direct.items()})
    else:
        raise SystemExit(f"unknown workload {workload}")
    c.emit(result)


if __name__ == "__main__":
    main()
