"""Broken S3 connections during puts, multipart uploads, downloads and ranged reads.

Each case runs with the sync and the async client. A fault that botocore can retry
(the request had not been answered yet) must end in a correct object; one it cannot
(the body broke after the response started) or one that outlasts the retries must end
in an ``S3CSEError`` that names the object, with nothing partial left in S3 or on disk.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from s3cse import AesKeyring
from s3cse.errors import S3CSEError, S3RequestError
from s3cse.reader import ObjectReader
from s3cse.transfer import TransferConfig

from .conftest import Faulty, assert_absent, assert_no_uploads, leftovers
from .proxy import Fault, FaultProxy, s3_slow_down

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
KEY = AesKeyring(bytes(range(32)))
PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=3)


def payload(size: int, seed: int = 7) -> bytes:
    return (seed.to_bytes(4, "big") + os.urandom(28)) * (size // 32) + os.urandom(size % 32)


def put_path(bucket: str, key: str) -> bytes:
    """The start of the request line that writes ``key`` (keys are percent-encoded)."""
    return f"PUT /{bucket}/{quote(key, safe='/~')}".encode()


def get_path(bucket: str, key: str) -> bytes:
    """The request line of a GET of ``key`` itself (not of its sidecars)."""
    return f"GET /{bucket}/{quote(key, safe='/~')} ".encode()


def read(s3: Any, bucket: str, key: str) -> bytes:
    """The stored plaintext, read past the proxy with a fresh s3cse client."""
    from s3cse import EncryptionClient

    data: bytes = (
        EncryptionClient(KEY, s3_client=s3).get_object(Bucket=bucket, Key=key)["Body"].read()
    )
    return data


# ---------------------------------------------------------------------- single puts


@pytest.mark.parametrize("kind", ["reset", "cut"])
def test_put_broken_mid_body_is_retried(
    faulty: Faulty, s3: Any, bucket: str, key_name: str, kind: str
) -> None:
    data = payload(2 * MiB)
    (fault,) = faulty.s3_proxy.add(
        Fault(kind, "request", after=300_000, when=put_path(bucket, key_name))
    )
    faulty.client(KEY).put_object(Bucket=bucket, Key=key_name, Body=data)
    assert fault.fired == 1
    assert read(s3, bucket, key_name) == data


def test_put_whose_answer_stalls_is_retried(
    faulty: Faulty, s3: Any, bucket: str, key_name: str
) -> None:
    """S3 stored the object but its answer never came: the resend is harmless."""
    data = payload(MiB)
    (fault,) = faulty.s3_proxy.add(
        Fault("stall", "response", seconds=10, when=put_path(bucket, key_name))
    )
    faulty.client(KEY).put_object(Bucket=bucket, Key=key_name, Body=data)
    assert fault.fired == 1
    assert read(s3, bucket, key_name) == data


def test_put_slowed_down_by_s3_is_retried(
    faulty: Faulty, s3: Any, bucket: str, key_name: str
) -> None:
    (fault,) = faulty.s3_proxy.add(s3_slow_down(times=2, when=put_path(bucket, key_name)))
    faulty.client(KEY).put_object(Bucket=bucket, Key=key_name, Body=b"throttled once")
    assert fault.fired == 2
    assert read(s3, bucket, key_name) == b"throttled once"


def test_put_that_keeps_failing_leaves_nothing(
    faulty: Faulty, s3: Any, bucket: str, key_name: str
) -> None:
    faulty.s3_proxy.add(
        Fault("reset", "request", after=100_000, times=None, when=put_path(bucket, key_name))
    )
    with pytest.raises(S3RequestError) as raised:
        faulty.client(KEY).put_object(Bucket=bucket, Key=key_name, Body=payload(MiB))
    assert key_name in str(raised.value) and "upload" in str(raised.value)
    assert_absent(s3, bucket, key_name)


def test_failed_overwrite_keeps_the_previous_object(
    faulty: Faulty, s3: Any, bucket: str, key_name: str
) -> None:
    faulty.client(KEY).put_object(Bucket=bucket, Key=key_name, Body=b"version one")
    faulty.s3_proxy.add(
        Fault("cut", "request", after=50_000, times=None, when=put_path(bucket, key_name))
    )
    with pytest.raises(S3RequestError):
        faulty.client(KEY).put_object(Bucket=bucket, Key=key_name, Body=payload(MiB))
    assert read(s3, bucket, key_name) == b"version one"


def test_s3_unreachable_is_a_clear_error(
    faulty: Faulty, s3: Any, bucket: str, key_name: str
) -> None:
    faulty.s3_proxy.add(Fault("refuse", times=None))
    client = faulty.client(KEY)
    with pytest.raises(S3RequestError, match="upload failed") as raised:
        client.put_object(Bucket=bucket, Key=key_name, Body=b"x")
    assert "endpoint" in str(raised.value)
    with pytest.raises(S3RequestError, match="download failed"):
        client.get_object(Bucket=bucket, Key=key_name)
    faulty.s3_proxy.clear()
    assert_absent(s3, bucket, key_name)


# ---------------------------------------------------------------------- multipart uploads


def test_part_upload_reset_is_retried(faulty: Faulty, s3: Any, bucket: str, key_name: str) -> None:
    data = payload(12 * MiB)
    (fault,) = faulty.s3_proxy.add(Fault("reset", "request", after=MiB, when=b"partNumber=2"))
    faulty.client(KEY).upload_fileobj(io.BytesIO(data), bucket, key_name, Config=PARTS)
    assert fault.fired == 1
    assert read(s3, bucket, key_name) == data
    assert_no_uploads(s3, bucket, key_name)


class Pipe(io.RawIOBase):
    """A source of unknown length: uploads take the streamed multipart path."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


@pytest.mark.parametrize(
    "make_fault, make_source, failing",
    [
        (
            lambda: Fault("reset", "request", after=MiB, when=b"partNumber=2", times=None),
            lambda: io.BytesIO(payload(12 * MiB)),
            "part 2",
        ),
        (
            lambda: Fault("cut", "request", after=MiB, when=b"partNumber=3", times=None),
            lambda: Pipe(payload(17 * MiB)),
            "part 3",
        ),
        (
            lambda: s3_slow_down(times=None, when=b"<CompleteMultipartUpload"),
            lambda: io.BytesIO(payload(11 * MiB)),
            "completion",
        ),
    ],
    ids=["part", "streamed-part", "completion"],
)
def test_multipart_step_that_keeps_failing_aborts_the_upload(
    faulty: Faulty,
    s3: Any,
    bucket: str,
    key_name: str,
    make_fault: Any,
    make_source: Any,
    failing: str,
) -> None:
    faulty.s3_proxy.add(make_fault())
    with pytest.raises(S3RequestError, match=failing):
        faulty.client(KEY).upload_fileobj(make_source(), bucket, key_name, Config=PARTS)
    assert_absent(s3, bucket, key_name)
    assert_no_uploads(s3, bucket, key_name)


def test_failed_abort_names_the_upload_left_behind(
    faulty: Faulty, s3: Any, bucket: str, key_name: str
) -> None:
    """When S3 refuses the abort too, the error says how to clean up."""
    faulty.s3_proxy.add(
        Fault("reset", "request", after=MiB, when=b"partNumber=2", times=None),
        s3_slow_down(times=None, when=b"DELETE /"),
    )
    with pytest.raises(S3RequestError) as raised:
        faulty.client(KEY).upload_fileobj(
            io.BytesIO(payload(12 * MiB)), bucket, key_name, Config=PARTS
        )
    listing = s3.list_multipart_uploads(Bucket=bucket, Prefix=key_name)
    upload_ids = [u["UploadId"] for u in listing.get("Uploads", [])]
    assert len(upload_ids) == 1
    assert (
        f"abort-multipart-upload --bucket {bucket} --key {key_name} "
        f"--upload-id {upload_ids[0]}" in str(raised.value)
    )
    s3.abort_multipart_upload(Bucket=bucket, Key=key_name, UploadId=upload_ids[0])
    assert_absent(s3, bucket, key_name)


# ---------------------------------------------------------------------- downloads


@pytest.fixture
def stored(s3: Any, bucket: str, key_name: str) -> bytes:
    """A 12 MiB object with an integrity index (authenticated ranges), written directly."""
    from s3cse import EncryptionClient

    data = payload(12 * MiB, seed=3)
    EncryptionClient(KEY, s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=data, IntegrityIndex=True
    )
    return data


def test_download_reset_before_the_answer_is_retried(
    faulty: Faulty, stored: bytes, bucket: str, key_name: str
) -> None:
    (fault,) = faulty.s3_proxy.add(Fault("reset", "request", when=get_path(bucket, key_name)))
    body = faulty.client(KEY).get_object(Bucket=bucket, Key=key_name)["Body"]
    assert body.read() == stored
    assert fault.fired == 1


@pytest.mark.parametrize("kind", ["reset", "cut", "stall"])
def test_get_object_broken_mid_body_returns_no_plaintext(
    faulty: Faulty, stored: bytes, bucket: str, key_name: str, kind: str
) -> None:
    faulty.s3_proxy.add(
        Fault(kind, "response", after=3 * MiB, seconds=10, when=get_path(bucket, key_name))
    )
    with pytest.raises(S3RequestError, match="download failed after") as raised:
        faulty.client(KEY).get_object(Bucket=bucket, Key=key_name)["Body"].read()
    assert raised.value.key == key_name
    # the fault is spent: the same call now succeeds
    assert faulty.client(KEY).get_object(Bucket=bucket, Key=key_name)["Body"].read() == stored


@pytest.mark.parametrize("kind", ["reset", "cut", "stall"])
def test_download_file_broken_mid_body_leaves_the_destination_alone(
    faulty: Faulty, stored: bytes, bucket: str, key_name: str, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "report.bin"
    target.write_bytes(b"what was here before")
    faulty.s3_proxy.add(
        Fault(kind, "response", after=2 * MiB, seconds=10, when=get_path(bucket, key_name))
    )
    with pytest.raises(S3RequestError, match="failed after"):
        faulty.client(KEY).download_file(bucket, key_name, str(target), Config=PARTS)
    assert target.read_bytes() == b"what was here before"
    assert leftovers(tmp_path) == []
    faulty.client(KEY).download_file(bucket, key_name, str(target), Config=PARTS)
    assert target.read_bytes() == stored


def test_streamed_download_broken_mid_body_is_an_error(
    faulty: Faulty, stored: bytes, bucket: str, key_name: str
) -> None:
    faulty.s3_proxy.add(Fault("cut", "response", after=MiB, when=get_path(bucket, key_name)))
    sink = io.BytesIO()
    with pytest.raises(S3RequestError, match="failed after"):
        faulty.client(KEY).download_fileobj(
            bucket, key_name, sink, Config=TransferConfig(multipart_threshold=64 * MiB)
        )


@pytest.mark.parametrize("kind", ["reset", "cut"])
def test_ranged_get_broken_mid_body_is_an_error(
    faulty: Faulty, stored: bytes, bucket: str, key_name: str, kind: str
) -> None:
    faulty.s3_proxy.add(Fault(kind, "response", after=MiB, when=get_path(bucket, key_name)))
    client = faulty.client(KEY)
    with pytest.raises(S3RequestError, match="failed after"):
        client.get_object(Bucket=bucket, Key=key_name, Range="bytes=1000000-5999999")["Body"].read()
    again = client.get_object(Bucket=bucket, Key=key_name, Range="bytes=1000000-5999999")
    assert again["Body"].read() == stored[1_000_000:6_000_000]


def test_object_reader_broken_mid_body_is_an_error(
    s3_proxy: FaultProxy, kms_proxy: FaultProxy, stored: bytes, bucket: str, key_name: str
) -> None:
    """ObjectReader (random access, behind the filesystem) is sync only."""
    faulty = Faulty("sync", s3_proxy, kms_proxy, None)
    faulty.s3_proxy.add(Fault("reset", "response", after=MiB, when=get_path(bucket, key_name)))
    reader = ObjectReader(faulty.client(KEY), bucket, key_name)
    with pytest.raises(S3CSEError, match="failed after"):
        reader.read(4 * MiB, 7 * MiB - 1)
    assert reader.read(4 * MiB, 7 * MiB - 1) == stored[4 * MiB : 7 * MiB]


# ---------------------------------------------------------------------- answers cut short


def test_get_answer_cut_in_its_headers_is_a_clear_error(
    faulty: Faulty, stored: bytes, bucket: str, key_name: str
) -> None:
    """Through urllib3, botocore takes a 200 whose headers were cut off for a complete
    empty answer: s3cse refuses it. aiohttp notices, and botocore retries."""
    (fault,) = faulty.s3_proxy.add(
        Fault("cut", "response", after=60, when=get_path(bucket, key_name))
    )
    client = faulty.client(KEY)
    if faulty.kind == "async":
        assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == stored
    else:
        with pytest.raises(S3RequestError, match="cut short"):
            client.get_object(Bucket=bucket, Key=key_name)
    assert fault.fired == 1


def test_part_answer_cut_in_its_headers_aborts_the_upload(
    faulty: Faulty, s3: Any, bucket: str, key_name: str
) -> None:
    # past the interim "100 Continue" (25 bytes), inside the final answer's headers
    (fault,) = faulty.s3_proxy.add(Fault("cut", "response", after=70, when=b"partNumber=2"))
    data = payload(12 * MiB)
    client = faulty.client(KEY)
    if faulty.kind == "async":
        client.upload_fileobj(io.BytesIO(data), bucket, key_name, Config=PARTS)
        assert read(s3, bucket, key_name) == data
    else:
        with pytest.raises(S3RequestError, match="cut short"):
            client.upload_fileobj(io.BytesIO(data), bucket, key_name, Config=PARTS)
        assert_absent(s3, bucket, key_name)
    assert fault.fired == 1
    assert_no_uploads(s3, bucket, key_name)
