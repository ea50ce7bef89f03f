"""aioboto3's client-side encryption (``aioboto3.s3.cse.S3CSE``), KMS context, AES-GCM.

Its API has put_object and get_object only: put_object reads the whole body into memory
and encrypts it in one piece (one PUT, no multipart); get_object reads and decrypts the
whole object in memory. Requests are awaited one after another. range: get_object with
Range on its own GCM objects (its source maps the range onto CTR); the bytes returned are
checked like everyone else's.
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
from typing import Any

import _common as c
from aioboto3.s3.cse import S3CSE, KMSCryptoContext


def args(service: str) -> dict[str, str]:
    url = c.endpoint(service)
    return {"endpoint_url": url} if url else {}


async def run(job: dict[str, Any]) -> dict[str, Any]:
    bucket, key = job["bucket"], job.get("key", "")
    context = KMSCryptoContext(
        job["kms_key_id"], kms_client_args=args("kms"), authenticated_encryption=True
    )
    async with S3CSE(context, s3_client_args=args("s3")) as cse:
        await cse._s3_client.list_buckets()  # open a connection outside the timed sections
        result: dict[str, Any] = {"rss_after_setup_mib": c.vm_rss_mib()}
        workload = job["workload"]
        if workload == "upload":
            start, cpu = time.perf_counter(), time.process_time()
            with open(job["file"], "rb") as source:
                await cse.put_object(Body=source, Bucket=bucket, Key=key)
            result.update(
                seconds=time.perf_counter() - start,
                cpu_seconds=time.process_time() - cpu,
                api="put_object(Body=file): one PUT, encrypted in memory",
            )
        elif workload == "download":
            start, cpu = time.perf_counter(), time.process_time()
            response = await cse.get_object(Bucket=bucket, Key=key)
            body = await response["Body"].read()
            with open(job["file"], "wb") as sink:
                sink.write(body)
            del body
            result.update(
                seconds=time.perf_counter() - start,
                cpu_seconds=time.process_time() - cpu,
                api="get_object, whole body decrypted in memory",
            )
        elif workload == "small":
            result.update(await small(cse, bucket, job))
            result["api"] = "put_object / get_object, awaited one by one"
        elif workload == "range":
            _, _, header = c.last_range(job["size"], job["range_length"])
            samples, correct = [], True
            for attempt in range(job["reads"] + 1):
                start = time.perf_counter()
                response = await cse.get_object(Bucket=bucket, Key=key, Range=header)
                data = await response["Body"].read()
                if attempt:
                    samples.append(time.perf_counter() - start)
                correct = correct and hashlib.sha256(data).hexdigest() == job["expect_sha256"]
                result["returned_bytes"] = len(data)
            result.update(
                median_seconds=statistics.median(samples),
                seconds=sum(samples),
                reads=job["reads"] + 1,
                correct=correct,
                api="get_object(Range=...)",
            )
        else:
            raise SystemExit(f"unknown workload {workload}")
    return result


async def small(cse: S3CSE, bucket: str, job: dict[str, Any]) -> dict[str, Any]:
    bodies = c.small_bodies(job["count"], job["object_size"])
    keys = [f"{job['prefix']}/{i}" for i in range(len(bodies))]
    start = time.perf_counter()
    for key, body in zip(keys, bodies, strict=True):
        await cse.put_object(Body=body, Bucket=bucket, Key=key)
    middle = time.perf_counter()
    correct = True
    for key, body in zip(keys, bodies, strict=True):
        response = await cse.get_object(Bucket=bucket, Key=key)
        correct = await response["Body"].read() == body and correct
    end = time.perf_counter()
    return {
        "put_seconds": middle - start,
        "get_seconds": end - middle,
        "seconds": end - start,
        "correct": correct,
    }


def main() -> None:
    c.emit(asyncio.run(run(c.job())))


if __name__ == "__main__":
    main()
