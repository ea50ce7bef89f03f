"""What reading Parquet through s3cse:// costs in requests, counted at a proxy in front
of the local S3 and at the KMS gate: one HEAD and one KMS Decrypt per object per
filesystem however often it is opened, and about as many GETs as plain s3fs."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s3cse.core.integrity import IndexMismatchError
from s3cse.local import stack as local
from s3cse.local.counting import RequestCounter
from s3cse.local.kms_gate import RESET_PATH, STATS_PATH

pytestmark = pytest.mark.integration

EXTRA_GETS = 2
"""GETs s3cse:// may make beyond s3fs's for one Parquet file: its index (header and
entries, once per filesystem) and the footer read that checks remembered materials."""


@pytest.fixture
def counter(stack: local.LocalStack) -> Iterator[RequestCounter]:
    with RequestCounter(stack.s3_port) as proxy:
        yield proxy


def kms_decrypts(stack: local.LocalStack, reset: bool = False) -> int:
    path = RESET_PATH if reset else STATS_PATH
    request = urllib.request.Request(
        stack.kms_endpoint + path, data=b"" if reset else None, method="POST" if reset else "GET"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.loads(response.read())["requests"].get("Decrypt", 0))


def table(rows: int = 400_000) -> pa.Table:
    rng = np.random.default_rng(5)
    return pa.table({f"c{i}": rng.random(rows) for i in range(4)})


def filesystem(protocol: str, counter: RequestCounter, stack: Any, **options: Any) -> Any:
    env = stack.env()
    return fsspec.filesystem(
        protocol,
        skip_instance_cache=True,
        endpoint_url=counter.endpoint,
        key=env["AWS_ACCESS_KEY_ID"],
        secret=env["AWS_SECRET_ACCESS_KEY"],
        client_kwargs={"region_name": env["AWS_DEFAULT_REGION"]},
        **options,
    )


def read_counts(counter: RequestCounter, read: Any) -> tuple[Any, dict[str, int]]:
    counter.reset()
    result = read()
    counts = counter.counts()
    return result, {"GET": counts["GET"], "HEAD": counts["HEAD"]}


def test_parquet_costs_one_head_and_one_kms_call_and_about_s3fs_gets(
    stack: Any, counter: RequestCounter, kms_key_id: str, bucket: str, key_name: str
) -> None:
    data = table()
    path = f"{bucket}/{key_name}/t.parquet"
    writer = filesystem("s3cse", counter, stack, kms_key_id=kms_key_id)
    pq.write_table(data, path, filesystem=writer, row_group_size=100_000)
    plain = filesystem("s3", counter, stack)
    pq.write_table(data, f"{path}.plain", filesystem=plain, row_group_size=100_000)

    baseline, s3fs_counts = read_counts(
        counter, lambda: pd.read_parquet(f"{path}.plain", filesystem=plain)
    )
    fs = filesystem("s3cse", counter, stack, kms_key_id=kms_key_id)
    kms_decrypts(stack, reset=True)
    frame, counts = read_counts(counter, lambda: pd.read_parquet(path, filesystem=fs))
    pd.testing.assert_frame_equal(frame, baseline)
    print(f"pandas: s3fs {s3fs_counts}, s3cse {counts}")
    assert counts["HEAD"] <= 1 and kms_decrypts(stack) == 1
    assert counts["GET"] <= s3fs_counts["GET"] + EXTRA_GETS, (counts, s3fs_counts)

    # opened again and again (a column, a row group, the whole file): no HEAD, no KMS
    counter.reset()
    assert pq.read_table(path, filesystem=fs, columns=["c2"]).equals(data.select(["c2"]))
    assert pq.ParquetFile(fs.open(path)).read_row_group(3).equals(data.slice(300_000))
    assert pq.read_table(path, filesystem=fs).equals(data)
    assert counter.counts()["HEAD"] == 0 and kms_decrypts(stack) == 1


def test_an_object_overwritten_between_opens_is_read_with_its_new_materials(
    stack: Any, counter: RequestCounter, kms_key_id: str, bucket: str, key_name: str
) -> None:
    path = f"{bucket}/{key_name}/o.bin"
    fs = filesystem("s3cse", counter, stack, kms_key_id=kms_key_id)
    other = filesystem("s3cse", counter, stack, kms_key_id=kms_key_id)
    fs.pipe(path, b"first version " * 1000)
    assert fs.cat(path) == b"first version " * 1000
    with fs.open(path) as f:
        assert f.read(5) == b"first"
    kms_decrypts(stack, reset=True)
    other.pipe(path, b"second, longer version " * 3000)  # not through fs: it cannot know
    with fs.open(path) as f:
        assert f.size == 23 * 3000
        assert f.read() == b"second, longer version " * 3000
    assert fs.cat_file(path, 8, 14) == b"longer"
    assert kms_decrypts(stack) == 1  # the new version's key, once


def test_an_overwrite_while_a_file_is_open_fails_its_reads_never_mixes_versions(
    stack: Any, counter: RequestCounter, kms_key_id: str, bucket: str, key_name: str
) -> None:
    path = f"{bucket}/{key_name}/m.bin"
    size = 3 * 1024 * 1024
    fs = filesystem("s3cse", counter, stack, kms_key_id=kms_key_id)
    fs.pipe(path, b"a" * size)
    with fs.open(path) as f:
        assert f.read(4) == b"aaaa"
        filesystem("s3cse", counter, stack, kms_key_id=kms_key_id).pipe(path, b"b" * size)
        f.seek(size // 2)
        with pytest.raises(Exception) as raised:
            f.read(1024 * 1024)
    assert "PreconditionFailed" in repr(raised.value) or "412" in repr(raised.value)
    with fs.open(path) as f:
        assert f.read() == b"b" * size


def test_a_tampered_chunk_still_fails_after_its_materials_were_remembered(
    stack: Any, s3: Any, counter: RequestCounter, kms_key_id: str, bucket: str, key_name: str
) -> None:
    key = f"{key_name}/t.bin"
    fs = filesystem("s3cse", counter, stack, kms_key_id=kms_key_id)
    fs.pipe(f"{bucket}/{key}", bytes(range(256)) * 8192)  # 2 MiB: 8 chunks
    assert fs.cat(f"{bucket}/{key}") == bytes(range(256)) * 8192
    stored = s3.get_object(Bucket=bucket, Key=key)
    body = bytearray(stored["Body"].read())
    body[600_000] ^= 1
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(body), Metadata=stored["Metadata"])
    with pytest.raises(IndexMismatchError, match="chunk 2"), fs.open(f"{bucket}/{key}") as f:
        f.read()


def test_ranges_read_side_by_side_open_their_object_once(
    stack: Any, counter: RequestCounter, kms_key_id: str, bucket: str, key_name: str
) -> None:
    path = f"{bucket}/{key_name}/r.bin"
    data = bytes(range(256)) * 4096  # 1 MiB: 4 chunks
    filesystem("s3cse", counter, stack, kms_key_id=kms_key_id).pipe(path, data)
    fs = filesystem("s3cse", counter, stack, kms_key_id=kms_key_id)
    kms_decrypts(stack, reset=True)
    counter.reset()
    starts = [0, 300_000, 600_000, 1_000_000]
    got = fs.cat_ranges([path] * 4, starts, [s + 1000 for s in starts])
    assert got == [data[s : s + 1000] for s in starts]
    assert counter.counts()["HEAD"] <= 1 and kms_decrypts(stack) == 1
