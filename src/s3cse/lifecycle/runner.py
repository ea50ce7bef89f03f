"""Running a job: the objects under its prefix, each processed on a thread pool or a
Dask cluster."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from ..client import (
    listing_with_sidecars,
)
from ..core import listing
from ..errors import S3CSEError
from ..io.s3api import S3Client
from .jobs import TEMP_SUFFIX, Job, ObjectResult, Summary, failed
from .migration import migrate
from .rotation import rotate


def list_keys(job: Job, s3: S3Client | None = None) -> Iterator[str]:
    """Object keys under the prefix, without sidecars, temporary keys and folder markers
    (empty objects whose key ends in ``/``: they hold nothing to encrypt). A user's object
    only named like a sidecar is listed (``sidecars``)."""
    s3 = s3 or job.s3()
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=job.bucket, Prefix=job.prefix)
    for item in listing.visible(listing_with_sidecars(s3, job.bucket, pages)):
        key = item["Key"]
        if TEMP_SUFFIX not in key and not listing.is_folder_marker(key, listing.stored_size(item)):
            yield key


def process(job: Job, key: str) -> ObjectResult:
    """One object; module-level and picklable so Dask workers can run it."""
    try:
        if job.kind == "rotate":
            return rotate(job, job.s3(), key)
        return migrate(job, job.s3(), key)
    except S3CSEError as exc:
        return failed(job, key, exc)
    except Exception as exc:  # a worker must report, not die: the run goes on
        return failed(job, key, S3CSEError(f"unexpected {type(exc).__name__}: {exc}"))


def run(
    job: Job,
    *,
    concurrency: int = 8,
    dask_address: str | None = None,
    on_result: Callable[[ObjectResult], None] | None = None,
) -> Summary:
    """Process every object under the prefix; results arrive through ``on_result``."""
    keys = list(list_keys(job))
    summary = Summary()

    def record(result: ObjectResult) -> None:
        summary.results.append(result)
        if on_result is not None:
            on_result(result)

    if dask_address:
        # imported by name: distributed is optional and carries no type information
        distributed: Any = importlib.import_module("distributed")
        with distributed.Client(dask_address) as client:
            futures = client.map(process, [job] * len(keys), keys, pure=False)
            for future in distributed.as_completed(futures):
                record(future.result())
        return summary
    pool = ThreadPoolExecutor(concurrency)
    try:
        for done in as_completed([pool.submit(process, job, key) for key in keys]):
            record(done.result())
    finally:
        # On an interrupt (Ctrl-C), drop the objects not started yet rather than work
        # through them all; those under way finish (each ends done or untouched).
        pool.shutdown(wait=True, cancel_futures=True)
    return summary
