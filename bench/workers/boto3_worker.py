"""Plain boto3 / s3transfer, no encryption: the ceiling every other client is compared to.

upload/download: ``upload_file`` / ``download_file`` with s3transfer's default
TransferConfig (8 MiB threshold and parts, 10 threads). small: put_object/get_object.
range: one ranged GET per read. kms: the latency of bare KMS GenerateDataKey and Decrypt
calls (what every encrypted put and get adds), to tell KMS time from S3 time.
"""

from __future__ import annotations

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
    return {"generate_median_seconds": generate.median(),
            "decrypt_median_seconds": decrypt.median(),
            "seconds": generate.seconds + decrypt.seconds}


def main() -> None:
    job = c.job()
    bucket, key = job["bucket"], job.get("key", "")
    s3 = boto3.client("s3")
    s3.list_buckets()  # open a connection outside the timed sections
    result: dict[str, Any] = {"rss_after_setup_mib": c.vm_rss_mib()}
    clock = c.Clock()
    workload = job["workload"]
    if workload == "upload":
        with clock.timed():
            s3.upload_file(job["file"], bucket, key)
        result.update(**clock.totals(), api="upload_file (s3transfer defaults)")
    elif workload == "download":
        with clock.timed():
            s3.download_file(bucket, key, job["file"])
        result.update(**clock.totals(), api="download_file (s3transfer defaults)")
    elif workload == "small":
        result.update(c.small_objects(
            lambda k, body: s3.put_object(Bucket=bucket, Key=k, Body=body),
            lambda k: s3.get_object(Bucket=bucket, Key=k)["Body"].read(), job))
        result["api"] = "put_object / get_object"
    elif workload == "range":
        _, _, header = c.last_range(job["size"], job["range_length"])
        result.update(c.repeated_reads(
            lambda: s3.get_object(Bucket=bucket, Key=key, Range=header)["Body"].read(), job))
        result["api"] = "get_object(Range=...)"
    elif workload == "kms":
        result.update(kms_latency(boto3.client("kms"), job))
        if job.get("direct_kms_endpoint"):  # moto itself, without the KMS gate in front
            direct = kms_latency(boto3.client("kms", endpoint_url=job["direct_kms_endpoint"]),
                                 job)
            result.update({f"direct_{name}": value for name, value in direct.items()})
    else:
        raise SystemExit(f"unknown workload {workload}")
    c.emit(result)


if __name__ == "__main__":
    main()
