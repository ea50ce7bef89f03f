"""Objects planted by someone who can write to the bucket, read back with s3cse.

Each is put with plain boto3 (the attacker's view of S3): metadata values as large as
the server takes, a plaintext length that lies, instruction files that are enormous or
not what they claim, and ranges past the end. Every reader (sync and async clients,
downloads, ``ObjectReader``, ``s3cse://``) must answer with an ``S3CSEError`` or with
exactly the true plaintext, never with bytes cut short, stretched, or unverified.
"""

from __future__ import annotations

import io
import json
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import pytest
from botocore.exceptions import ClientError

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.core.metadata import MAX_INSTRUCTION_FILE_SIZE
from s3cse.fs import S3CSEFileSystem
from s3cse.reader import ObjectReader

from .. import legacy
from ..conftest import MakeClient
from ..keys import aes_key, aes_keyring

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
ALLOW = "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
PLAINTEXT = bytes(range(256)) * 2 + b"tail!"  # 517 bytes: not a whole number of blocks


def replant(
    s3: Any,
    bucket: str,
    key: str,
    *,
    body: bytes | None = None,
    drop: tuple[str, ...] = (),
    **metadata: str,
) -> None:
    """Rewrite a stored object's body or metadata behind the client's back."""
    obj = s3.get_object(Bucket=bucket, Key=key)
    md = {k: v for k, v in obj["Metadata"].items() if k not in drop}
    md.update({k.replace("_", "-"): v for k, v in metadata.items()})
    data = obj["Body"].read() if body is None else body
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata=md)
    except ClientError as exc:  # the server's own limit on metadata: nothing to read
        pytest.skip(f"the server refuses this metadata ({exc.response['Error']['Code']})")


def read_all(client: Any, bucket: str, key: str, **kwargs: Any) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
    return data


def true_or_refused(read: Callable[[], bytes], want: bytes) -> str:
    """The reader either refuses with an s3cse error or returns exactly ``want``."""
    try:
        got = read()
    except e.S3CSEError as exc:
        assert len(str(exc)) < 2000, "error messages stay readable"
        return type(exc).__name__
    assert got == want, f"returned {len(got)} bytes, not the true {len(want)}"
    return "ok"


@pytest.fixture
def key_file(tmp_path: Path) -> str:
    path = tmp_path / "aes.key"
    path.write_bytes(aes_key(0))
    return str(path)


def filesystem(stack: Any, key_file: str, **options: Any) -> S3CSEFileSystem:
    fs: S3CSEFileSystem = fsspec.filesystem(
        "s3cse",
        aes_key_file=key_file,
        skip_instance_cache=True,
        endpoint_url=stack.s3_endpoint,
        **options,
    )
    return fs


# ---------------------------------------------------------------- huge metadata values


def _b64_of(size: int) -> str:
    import base64

    return base64.b64encode(os.urandom(size * 3 // 4)).decode()


HUGE_SIZES = [2 * 1024, 48 * 1024]
"""AWS takes 2 KiB of user metadata; SeaweedFS takes far more, but a header line past
64 KiB is more than botocore (http.client) reads back: 48 KiB stays below that."""
HUGE_FIELDS = {
    # format, field, value maker, what it must raise
    "v3-wrapped-key": ("v3", "x-amz-3", _b64_of, e.KeyUnwrapError),
    "v3-commitment": ("v3", "x-amz-d", _b64_of, e.MetadataError),
    "v3-matdesc-object": (
        "v3",
        "x-amz-m",
        lambda n: json.dumps({f"k{i}": "v" * 8 for i in range(n // 16)}),
        e.KeyUnwrapError,
    ),
    "v3-matdesc-nested": ("v3", "x-amz-m", lambda n: "[" * n, e.MetadataError),
    "v2-wrapped-key": ("v2", "x-amz-key-v2", _b64_of, e.KeyUnwrapError),
    "v2-iv": ("v2", "x-amz-iv", _b64_of, e.MetadataError),
    "v2-matdesc": ("v2", "x-amz-matdesc", lambda n: json.dumps({"k": "v" * n}), e.KeyUnwrapError),
    "v2-cek-alg": ("v2", "x-amz-cek-alg", lambda n: "A" * n, e.MetadataError),
    "v2-length": ("v2", "x-amz-unencrypted-content-length", lambda n: "9" * n, e.MetadataError),
}


@pytest.mark.parametrize("size", HUGE_SIZES, ids=lambda n: f"{n // 1024}KiB")
@pytest.mark.parametrize("case", sorted(HUGE_FIELDS))
def test_huge_metadata_values_are_refused(
    make_client: MakeClient,
    client_kind: str,
    s3: Any,
    bucket: str,
    key_name: str,
    case: str,
    size: int,
) -> None:
    fmt, field, make, error = HUGE_FIELDS[case]
    make_client(aes_keyring(0, {"purpose": "hostile"}), format=fmt).put_object(
        Bucket=bucket, Key=key_name, Body=PLAINTEXT
    )
    replant(s3, bucket, key_name, **{field: make(size)})
    reader = make_client(aes_keyring(0, {"purpose": "hostile"}), commitment_policy=ALLOW)
    with pytest.raises(e.S3CSEError) as info:
        read_all(reader, bucket, key_name)
    assert len(str(info.value)) < 2000, "a hostile value is not echoed whole"
    if client_kind == "async" and size > 8 * 1024:
        # aiohttp reads header lines of at most 8 KiB: the response itself is refused
        assert isinstance(info.value, e.S3RequestError), info.value
        return
    assert isinstance(info.value, error), info.value
    if issubclass(error, e.MetadataError):  # HEAD parses the metadata, unwraps nothing
        with pytest.raises(error):
            reader.head_object(Bucket=bucket, Key=key_name)


def test_huge_metadata_through_the_filesystem(
    stack: Any, key_file: str, s3: Any, bucket: str, key_name: str
) -> None:
    EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=PLAINTEXT
    )
    replant(s3, bucket, key_name, x_amz_m="{" * (48 * 1024))
    fs = filesystem(stack, key_file)
    with pytest.raises(e.MetadataError):
        fs.cat(f"{bucket}/{key_name}")
    with pytest.raises(e.MetadataError):
        fs.open(f"{bucket}/{key_name}", "rb")


# ---------------------------------------------------------------- a lying plaintext length


LIES = [-1000, -17, -16, -5, -1, 1, 5, 11, 16, 1000]


def _plant_cbc(s3: Any, bucket: str, key: str, v1: bool) -> None:
    builder = legacy.v1_aes_cbc if v1 else legacy.v2_aeswrap_cbc
    ciphertext, md = builder(aes_key(0), PLAINTEXT)
    s3.put_object(Bucket=bucket, Key=key, Body=ciphertext, Metadata=md)


@pytest.mark.parametrize("lie", LIES)
@pytest.mark.parametrize("kind", ["v1-cbc", "v2-cbc", "v2-gcm"])
def test_lying_plaintext_length(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, kind: str, lie: int
) -> None:
    if kind == "v2-gcm":
        make_client(aes_keyring(0), format="v2").put_object(
            Bucket=bucket, Key=key_name, Body=PLAINTEXT
        )
    else:
        _plant_cbc(s3, bucket, key_name, v1=kind == "v1-cbc")
    claimed = max(len(PLAINTEXT) + lie, 0)
    replant(s3, bucket, key_name, x_amz_unencrypted_content_length=str(claimed))
    options = {"legacy": True, "commitment_policy": ALLOW}
    plain = make_client(aes_keyring(0), **options)
    delayed = make_client(aes_keyring(0), delayed_authentication=True, **options)
    ranged = make_client(aes_keyring(0), unauthenticated_ranges=True, **options)
    outcomes = {
        "get": true_or_refused(lambda: read_all(plain, bucket, key_name), PLAINTEXT),
        "delayed": true_or_refused(lambda: read_all(delayed, bucket, key_name), PLAINTEXT),
        "download": true_or_refused(lambda: _download(plain, bucket, key_name), PLAINTEXT),
    }
    for header, want in (
        ("bytes=0-", PLAINTEXT),
        ("bytes=500-", PLAINTEXT[500:]),
        ("bytes=-20", PLAINTEXT[-20:]),
        ("bytes=510-600", PLAINTEXT[510:]),
        ("bytes=0-511", PLAINTEXT[:512]),
    ):
        outcomes[header] = true_or_refused(
            lambda header=header: read_all(ranged, bucket, key_name, Range=header), want
        )
    if kind == "v2-gcm":  # the length is not used for GCM at all: everything reads
        assert set(outcomes.values()) == {"ok"}, outcomes
        assert plain.head_object(Bucket=bucket, Key=key_name)["ContentLength"] == len(PLAINTEXT)
    else:
        # a length the ciphertext cannot hold is refused at once where it is used
        assert outcomes["get"] == "ok", outcomes  # the whole object needs no length
        if claimed // 16 != len(PLAINTEXT) // 16:
            with pytest.raises(e.MetadataError, match="unencrypted-content-length"):
                plain.head_object(Bucket=bucket, Key=key_name)


def _download(client: Any, bucket: str, key: str) -> bytes:
    sink = io.BytesIO()
    client.download_fileobj(bucket, key, sink)
    return sink.getvalue()


@pytest.mark.parametrize("lie", [-5, 5, 1000])
def test_lying_length_with_random_access(
    stack: Any, key_file: str, s3: Any, bucket: str, key_name: str, lie: int
) -> None:
    key_name = key_name.translate(str.maketrans("[]", "--"))  # fs.cat would glob them
    _plant_cbc(s3, bucket, key_name, v1=True)
    replant(s3, bucket, key_name, x_amz_unencrypted_content_length=str(len(PLAINTEXT) + lie))
    client = EncryptionClient(aes_keyring(0), s3_client=s3, legacy=True, commitment_policy=ALLOW)
    with ObjectReader(client, bucket, key_name) as reader:
        assert reader.size == len(PLAINTEXT)
        assert reader.read(0, 10**9) == PLAINTEXT
        assert reader.read(500, 600) == PLAINTEXT[500:]
        assert reader.read(len(PLAINTEXT), len(PLAINTEXT) + 100) == b""
    fs = filesystem(stack, key_file, legacy=True, commitment_policy=ALLOW)
    path = f"{bucket}/{key_name}"
    with fs.open(path, "rb") as f:
        assert f.size == len(PLAINTEXT)
        assert f.read() == PLAINTEXT
        f.seek(500)
        assert f.read(1000) == PLAINTEXT[500:]
    assert fs.cat(path) == PLAINTEXT
    assert fs.cat_file(path, start=510, end=10**6) == PLAINTEXT[510:]


# ---------------------------------------------------------------- hostile instruction files


def _with_instruction(make_client: MakeClient, bucket: str, key: str) -> Any:
    client = make_client(aes_keyring(0), instruction_file=True)
    client.put_object(Bucket=bucket, Key=key, Body=PLAINTEXT)
    return client


def test_enormous_instruction_file_is_refused_unread(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = _with_instruction(make_client, bucket, key_name)
    valid = s3.get_object(Bucket=bucket, Key=key_name + ".instruction")["Body"].read()
    # still a valid instruction file, only padded: size alone decides
    s3.put_object(
        Bucket=bucket, Key=key_name + ".instruction", Body=valid[:-1] + b" " * (50 * MiB) + b"}"
    )
    tracemalloc.start()
    try:
        for read in (
            lambda: read_all(client, bucket, key_name),
            lambda: client.head_object(Bucket=bucket, Key=key_name),
            lambda: _download(client, bucket, key_name),
        ):
            with pytest.raises(e.InstructionFileError, match="not read"):
                read()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"{peak} bytes held while refusing"


def test_instruction_file_at_the_cap_still_reads(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = _with_instruction(make_client, bucket, key_name)
    valid = s3.get_object(Bucket=bucket, Key=key_name + ".instruction")["Body"].read()
    padded = valid[:-1] + b" " * (MAX_INSTRUCTION_FILE_SIZE - len(valid)) + b"}"
    s3.put_object(Bucket=bucket, Key=key_name + ".instruction", Body=padded)
    assert read_all(client, bucket, key_name) == PLAINTEXT
    s3.put_object(Bucket=bucket, Key=key_name + ".instruction", Body=padded + b" ")
    with pytest.raises(e.InstructionFileError):
        read_all(client, bucket, key_name)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not even text",
        b"not json",
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b'{"x-amz-key-v2": 5, "x-amz-iv": "AAAA"}',
        b'{"x-amz-key-v2": ["a"]}',
        b'{"x-amz-key-v2": null}',
        b'{"x-amz-key-v2": "AAAA", "x-amz-evil": "1"}',
        b"[" * 100_000,
    ],
    ids=[
        "binary",
        "text",
        "array",
        "string",
        "null",
        "number-value",
        "list-value",
        "null-value",
        "unknown-key",
        "deep-nesting",
    ],
)
def test_malformed_instruction_files(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, body: bytes
) -> None:
    client = _with_instruction(make_client, bucket, key_name)
    s3.put_object(Bucket=bucket, Key=key_name + ".instruction", Body=body)
    with pytest.raises(e.InstructionFileError):
        read_all(client, bucket, key_name)


def test_hostile_instruction_file_through_the_filesystem(
    stack: Any, key_file: str, s3: Any, bucket: str, key_name: str
) -> None:
    EncryptionClient(aes_keyring(0), s3_client=s3, instruction_file=True).put_object(
        Bucket=bucket, Key=key_name, Body=PLAINTEXT
    )
    s3.put_object(Bucket=bucket, Key=key_name + ".instruction", Body=b" " * (2 * MiB))
    fs = filesystem(stack, key_file)
    with pytest.raises(e.InstructionFileError, match="not read"):
        fs.open(f"{bucket}/{key_name}", "rb")
    with pytest.raises(e.InstructionFileError, match="not read"):
        fs.cat(f"{bucket}/{key_name}")


# ---------------------------------------------------------------- ranges past the end


@pytest.mark.parametrize("kind", ["gcm", "gcm-indexed", "cbc"])
def test_ranges_past_the_end(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, kind: str
) -> None:
    size = len(PLAINTEXT)
    if kind == "cbc":
        _plant_cbc(s3, bucket, key_name, v1=False)
    else:
        make_client(aes_keyring(0)).put_object(
            Bucket=bucket, Key=key_name, Body=PLAINTEXT, IntegrityIndex=kind == "gcm-indexed"
        )
    client = make_client(
        aes_keyring(0),
        legacy=True,
        commitment_policy=ALLOW,
        unauthenticated_ranges=kind != "gcm-indexed",
    )
    # an end past the end is clamped, as S3 does
    for first in (0, 5, size - 1):
        response = client.get_object(
            Bucket=bucket, Key=key_name, Range=f"bytes={first}-{size + 10**6}"
        )
        assert response["Body"].read() == PLAINTEXT[first:]
        assert response["ContentRange"] == f"bytes {first}-{size - 1}/{size}"
        assert response["ContentLength"] == size - first
    # a start at or past the end is S3's 416, as its own error
    for first in (size, size + 1, size + 15, size + 16, size + 17, 10**9):
        with pytest.raises(e.InvalidRangeError, match="InvalidRange"):
            client.get_object(Bucket=bucket, Key=key_name, Range=f"bytes={first}-{first + 10}")[
                "Body"
            ].read()
        with pytest.raises(e.InvalidRangeError):
            client.get_object(Bucket=bucket, Key=key_name, Range=f"bytes={first}-")


@pytest.mark.parametrize("kind", ["whole", "indexed", "unauthenticated", "cbc"])
def test_random_access_past_the_end(
    stack: Any, key_file: str, s3: Any, bucket: str, key_name: str, kind: str
) -> None:
    size = len(PLAINTEXT)
    if kind == "cbc":
        _plant_cbc(s3, bucket, key_name, v1=True)
    else:
        EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
            Bucket=bucket, Key=key_name, Body=PLAINTEXT, IntegrityIndex=kind == "indexed"
        )
    options: dict[str, Any] = {
        "legacy": True,
        "commitment_policy": ALLOW,
        "unauthenticated_ranges": kind in ("unauthenticated", "cbc"),
    }
    client = EncryptionClient(aes_keyring(0), s3_client=s3, **options)
    with ObjectReader(client, bucket, key_name) as reader:
        assert reader.mode == ("unauthenticated" if kind == "cbc" else kind)
        assert reader.read(size - 5, size + 10**6) == PLAINTEXT[-5:]
        assert reader.read(size, size + 10) == b""
        assert reader.read(10**9, 10**9 + 10) == b""
        with pytest.raises(e.ConfigurationError):
            reader.read(-1, 10)
    fs = filesystem(stack, key_file, **options)
    path = f"{bucket}/{key_name}"
    with fs.open(path, "rb") as f:
        f.seek(size - 5)
        assert f.read(100) == PLAINTEXT[-5:]
        assert f.read(100) == b""  # at EOF
        f.seek(size + 1000)
        assert f.read() == b""
    assert fs.cat_file(path, start=size - 5, end=size + 10**6) == PLAINTEXT[-5:]
    assert fs.cat_file(path, start=size, end=size + 10) == b""
    assert fs.cat_file(path, start=size + 100) == b""
    assert fs.cat_file(path, start=-10) == PLAINTEXT[-10:]
    assert fs.cat_file(path, start=-10 * size) == PLAINTEXT


def test_truncated_object_is_not_taken_for_a_shorter_one(
    stack: Any, key_file: str, s3: Any, bucket: str, key_name: str
) -> None:
    EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=PLAINTEXT
    )
    replant(
        s3, bucket, key_name, body=s3.get_object(Bucket=bucket, Key=key_name)["Body"].read()[:-40]
    )
    client = EncryptionClient(aes_keyring(0), s3_client=s3)
    with ObjectReader(client, bucket, key_name) as reader, pytest.raises(e.TagMismatchError):
        reader.read(size := len(PLAINTEXT) - 40, size + 100)
    fs = filesystem(stack, key_file)
    with pytest.raises(e.TagMismatchError):
        fs.cat_file(f"{bucket}/{key_name}", start=len(PLAINTEXT) - 40, end=len(PLAINTEXT))
