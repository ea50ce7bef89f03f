"""Object attributes through ``s3cse cp``, run in a subprocess against moto's S3 (which
keeps ACLs, storage classes and tags, as AWS does): on single PUTs and multipart
uploads, on the sidecars where they belong, kept or replaced by s3:// to s3:// copies;
copies re-encrypted under a ``--to-`` key; stdin uploads sized by ``--expected-size``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient, KmsKeyring
from s3cse import errors as e

from .test_cli import TIMEOUT, assert_clean_error, err, run

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
EXPIRES = datetime(2031, 5, 17, 8, 30, tzinfo=timezone.utc)
ATTRIBUTE_ARGS = [
    "--content-type",
    "application/x-report",
    "--cache-control",
    "max-age=60",
    "--content-disposition",
    'attachment; filename="r.bin"',
    "--content-encoding",
    "identity",
    "--content-language",
    "fr-CA",
    "--expires",
    "2031-05-17T08:30:00Z",
    "--metadata",
    "owner=alice,dept=ops",
    "--storage-class",
    "STANDARD_IA",
    "--acl",
    "public-read",
    "--tagging",
    "team=data&tier=gold%20plus",
]
TAGS = {"team": "data", "tier": "gold plus"}
SIDECARS = (".instruction", ".s3cse-index")
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@dataclass(frozen=True)
class Keys:
    a: Path
    b: Path
    a_raw: bytes
    b_raw: bytes


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    d = tmp_path_factory.mktemp("attribute-keys")
    a, b = os.urandom(32), os.urandom(32)
    (d / "a.key").write_bytes(a)
    (d / "b.key").write_bytes(b)
    return Keys(d / "a.key", d / "b.key", a, b)


@dataclass
class Target:
    """A bucket of an S3 server: ``cp`` run against it, under a prefix of the test's own."""

    endpoint: str
    bucket: str
    s3: Any
    keeps_acl: bool
    prefix: str = field(default_factory=lambda: f"attrs-{uuid.uuid4().hex[:8]}")

    def url(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}/{name}"

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def cp(self, *args: Any, stdin: bytes | None = None) -> Any:
        return run("cp", *args, "--endpoint-url", self.endpoint, stdin=stdin)


@pytest.fixture
def moto(stack: Any, moto_bucket: str, moto_s3: Any) -> Target:
    return Target(stack.moto_s3_endpoint, moto_bucket, moto_s3, keeps_acl=True)


@pytest.fixture(params=["seaweedfs", "moto"])
def anywhere(request: pytest.FixtureRequest, stack: Any, bucket: str, s3: Any) -> Target:
    """Both servers: SeaweedFS keeps every attribute but the ACL."""
    if request.param == "moto":
        moto: Target = request.getfixturevalue("moto")
        return moto
    return Target(stack.s3_endpoint, bucket, s3, keeps_acl=False)


def tags_of(s3: Any, bucket: str, key: str) -> dict[str, str]:
    tag_set = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def public_read(s3: Any, bucket: str, key: str) -> bool:
    grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return any(g["Grantee"].get("URI") == ALL_USERS and g["Permission"] == "READ" for g in grants)


def user_metadata(head: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in head["Metadata"].items() if not k.startswith("x-amz-")}


def plaintext(s3: Any, bucket: str, key: str, raw: bytes) -> bytes:
    client = EncryptionClient(AesKeyring(raw), s3_client=s3)
    body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def assert_attributes(target: Target, key: str) -> None:
    head = target.s3.head_object(Bucket=target.bucket, Key=key)
    assert head["ContentType"] == "application/x-report"
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == 'attachment; filename="r.bin"'
    assert head["ContentEncoding"] == "identity"
    assert head["ContentLanguage"] == "fr-CA"
    assert head["Expires"] == EXPIRES
    assert user_metadata(head) == {"owner": "alice", "dept": "ops"}
    assert head["StorageClass"] == "STANDARD_IA"
    assert tags_of(target.s3, target.bucket, key) == TAGS
    assert public_read(target.s3, target.bucket, key) or not target.keeps_acl


@pytest.mark.parametrize("size", [1000, 9 * MiB + 5], ids=["single-put", "multipart"])
def test_every_attribute_lands_on_the_object_and_acl_and_tags_on_its_sidecars(
    anywhere: Target, keys: Keys, tmp_path: Path, size: int
) -> None:
    target, s3 = anywhere, anywhere.s3
    src = tmp_path / "report.bin"
    data = os.urandom(size)
    src.write_bytes(data)
    result = target.cp(
        src,
        target.url("r.bin"),
        "--aes-key-file",
        keys.a,
        "--instruction-file",
        "--integrity-index",
        *ATTRIBUTE_ARGS,
    )
    assert result.returncode == 0, err(result)
    key = target.key("r.bin")
    assert_attributes(target, key)
    for suffix in SIDECARS:
        sidecar = s3.head_object(Bucket=target.bucket, Key=key + suffix)
        assert tags_of(s3, target.bucket, key + suffix) == TAGS
        assert public_read(s3, target.bucket, key + suffix) or not target.keeps_acl
        assert sidecar.get("StorageClass", "STANDARD") == "STANDARD"
        assert user_metadata(sidecar) == {}
        assert sidecar.get("ContentType") != "application/x-report"
        assert "CacheControl" not in sidecar and "Expires" not in sidecar
    assert plaintext(s3, target.bucket, key, keys.a_raw) == data


def test_metadata_takes_json_and_the_content_type_is_guessed_from_the_file_name(
    moto: Target, moto_s3: Any, keys: Keys, tmp_path: Path
) -> None:
    page = tmp_path / "index.html"
    page.write_bytes(b"<p>hello</p>")
    meta = json.dumps({"Owner": "bob", "note": "a,b=c"})
    result = moto.cp(page, moto.url("index.html"), "--aes-key-file", keys.a, "--metadata", meta)
    assert result.returncode == 0, err(result)
    head = moto_s3.head_object(Bucket=moto.bucket, Key=moto.key("index.html"))
    assert head["ContentType"] == "text/html"
    assert user_metadata(head) == {"owner": "bob", "note": "a,b=c"}

    result = moto.cp(page, moto.url("plain.html"), "--aes-key-file", keys.a, "--no-guess-mime-type")
    assert result.returncode == 0, err(result)
    head = moto_s3.head_object(Bucket=moto.bucket, Key=moto.key("plain.html"))
    assert head["ContentType"] != "text/html"

    result = moto.cp("-", moto.url("piped.html"), "--aes-key-file", keys.a, stdin=b"<p>x</p>")
    assert result.returncode == 0, err(result)
    head = moto_s3.head_object(Bucket=moto.bucket, Key=moto.key("piped.html"))
    assert head["ContentType"] != "text/html"  # stdin has no name to guess from


@pytest.mark.parametrize(
    "metadata",
    [
        "x-amz-key-v2=forged",
        "owner=a,X-Amz-Iv=AAAA",
        '{"x-amz-c": "115"}',
        "x-amz-unencrypted-content-length=1",
    ],
)
def test_an_encryption_metadata_name_in_metadata_is_refused_before_anything_is_written(
    moto: Target, moto_s3: Any, keys: Keys, tmp_path: Path, metadata: str
) -> None:
    src = tmp_path / "f.txt"
    src.write_bytes(b"data")
    result = moto.cp(
        src,
        moto.url("f.txt"),
        "--aes-key-file",
        keys.a,
        "--instruction-file",
        "--metadata",
        metadata,
    )
    assert_clean_error(result, 2, "--metadata", "reserved for encryption metadata")
    listed = moto_s3.list_objects_v2(Bucket=moto.bucket, Prefix=moto.prefix)
    assert listed.get("KeyCount", 0) == 0


@pytest.fixture
def source(
    moto: Target, moto_s3: Any, keys: Keys, tmp_path: Path
) -> tuple[str, bytes, dict[str, Any]]:
    """An object uploaded with every attribute, under key A; its name, data and head."""
    src = tmp_path / "src.bin"
    data = os.urandom(4000)
    src.write_bytes(data)
    result = moto.cp(src, moto.url("src.bin"), "--aes-key-file", keys.a, *ATTRIBUTE_ARGS)
    assert result.returncode == 0, err(result)
    return "src.bin", data, moto_s3.head_object(Bucket=moto.bucket, Key=moto.key("src.bin"))


def copied(moto: Target, s3: Any, keys: Keys, src: str, dst: str, *flags: Any) -> tuple[str, Any]:
    """``cp`` of the object ``src`` to ``dst`` (read and written with key A): the
    copy's key and head."""
    result = moto.cp(moto.url(src), moto.url(dst), "--aes-key-file", keys.a, *flags)
    assert result.returncode == 0, err(result)
    key = moto.key(dst)
    return key, s3.head_object(Bucket=moto.bucket, Key=key)


def test_an_s3_copy_keeps_the_source_attributes_and_tags_with_flags_overriding_them(
    moto: Target, moto_s3: Any, keys: Keys, source: tuple[str, bytes, dict[str, Any]]
) -> None:
    name, data, src_head = source
    key, head = copied(moto, moto_s3, keys, name, "copy.bin")
    for header in (
        "ContentType",
        "CacheControl",
        "ContentDisposition",
        "ContentEncoding",
        "ContentLanguage",
        "Expires",
    ):
        assert head[header] == src_head[header], header
    assert user_metadata(head) == {"owner": "alice", "dept": "ops"}
    assert tags_of(moto_s3, moto.bucket, key) == TAGS
    # re-encrypted: a fresh data key, not the source's encryption metadata
    assert head["Metadata"]["x-amz-3"] != src_head["Metadata"]["x-amz-3"]
    assert head.get("StorageClass", "STANDARD") == "STANDARD"  # as aws s3 cp: not copied
    assert plaintext(moto_s3, moto.bucket, key, keys.a_raw) == data

    key, head = copied(
        moto,
        moto_s3,
        keys,
        name,
        "override.bin",
        "--content-type",
        "text/csv",
        "--tagging",
        "only=this",
    )
    assert head["ContentType"] == "text/csv"
    assert head["CacheControl"] == "max-age=60"  # the rest still copied
    assert user_metadata(head) == {"owner": "alice", "dept": "ops"}
    assert tags_of(moto_s3, moto.bucket, key) == {"only": "this"}


def test_an_s3_copy_with_replace_stores_only_the_flags_given(
    moto: Target, moto_s3: Any, keys: Keys, source: tuple[str, bytes, dict[str, Any]]
) -> None:
    name, data, _ = source
    flags = ("--metadata-directive", "REPLACE", "--cache-control", "no-store")
    key, head = copied(moto, moto_s3, keys, name, "replaced.bin", *flags)
    assert head["CacheControl"] == "no-store"
    assert head.get("ContentType") != "application/x-report"
    for header in ("ContentDisposition", "ContentLanguage", "Expires"):
        assert header not in head, header
    assert user_metadata(head) == {}
    assert tags_of(moto_s3, moto.bucket, key) == {}
    assert plaintext(moto_s3, moto.bucket, key, keys.a_raw) == data


def test_an_s3_copy_under_a_to_aes_key_reads_only_with_the_new_key(
    moto: Target, moto_s3: Any, keys: Keys, source: tuple[str, bytes, dict[str, Any]]
) -> None:
    name, data, src_head = source
    key, _ = copied(moto, moto_s3, keys, name, "rekeyed.bin", "--to-aes-key-file", keys.b)
    assert plaintext(moto_s3, moto.bucket, key, keys.b_raw) == data
    result = moto.cp(moto.url("rekeyed.bin"), "-", "--aes-key-file", keys.a)
    assert_clean_error(result, 1, "key")
    assert result.stdout == b""
    # the source is untouched and still reads under its own key
    after = moto_s3.head_object(Bucket=moto.bucket, Key=moto.key(name))
    assert (after["ETag"], after["LastModified"]) == (src_head["ETag"], src_head["LastModified"])
    assert plaintext(moto_s3, moto.bucket, moto.key(name), keys.a_raw) == data


def test_an_s3_copy_under_a_to_kms_key_carries_the_given_context(
    moto: Target,
    moto_s3: Any,
    kms: Any,
    kms_key_id: str,
    keys: Keys,
    source: tuple[str, bytes, dict[str, Any]],
) -> None:
    name, data, _ = source
    flags = ("--to-kms-key-id", kms_key_id, "--to-encryption-context", "dept=finance")
    key, _ = copied(moto, moto_s3, keys, name, "kms.bin", *flags)
    client = EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=moto_s3)
    body = client.get_object(Bucket=moto.bucket, Key=key, EncryptionContext={"dept": "finance"})[
        "Body"
    ].read()
    assert body == data
    with pytest.raises(e.KeyUnwrapError):  # the old key does not open it
        plaintext(moto_s3, moto.bucket, key, keys.a_raw)


@pytest.mark.parametrize("local_side", ["src", "dst"])
def test_to_key_options_are_refused_when_either_side_is_local(
    moto: Target, moto_s3: Any, keys: Keys, tmp_path: Path, local_side: str
) -> None:
    local = tmp_path / "local.bin"
    local.write_bytes(b"data")
    ends = (
        (local, moto.url("x.bin")) if local_side == "src" else (moto.url("x.bin"), tmp_path / "out")
    )
    result = moto.cp(*ends, "--aes-key-file", keys.a, "--to-aes-key-file", keys.b)
    assert_clean_error(result, 2, "--to-", "s3://")
    assert moto_s3.list_objects_v2(Bucket=moto.bucket, Prefix=moto.prefix).get("KeyCount", 0) == 0
    assert not (tmp_path / "out").exists()


def run_with_parts(most: int, *args: Any, stdin: bytes) -> Any:
    """The command with S3's part limit lowered to ``most`` (instead of 10,000), so that
    outgrowing it takes megabytes rather than 80 GB."""
    code = (
        "import sys; from s3cse.core import multipart; "
        f"multipart.MAX_PARTS = {most}; "
        "from s3cse.cli import main; sys.argv[0] = 's3cse'; main()"
    )
    env = {k: v for k, v in os.environ.items() if k != "S3CSE_DEBUG"}
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


def test_expected_size_cuts_stdin_into_parts_that_hold_it(
    moto: Target, moto_s3: Any, keys: Keys
) -> None:
    data = os.urandom(17 * MiB + 3)  # more than 2 default (8 MiB) parts hold
    args = ["cp", "-", moto.url("stream.bin"), "--aes-key-file", keys.a]
    args += ["--endpoint-url", moto.endpoint]

    result = run_with_parts(2, *args, stdin=data)
    assert_clean_error(result, 2, "--expected-size", "nothing was stored")
    uploads = moto_s3.list_multipart_uploads(Bucket=moto.bucket, Prefix=moto.prefix)
    assert uploads.get("Uploads", []) == []
    assert moto_s3.list_objects_v2(Bucket=moto.bucket, Prefix=moto.prefix).get("KeyCount", 0) == 0

    too_small = run_with_parts(2, *args, "--expected-size", 16 * MiB, stdin=data)
    assert_clean_error(too_small, 2, f"--expected-size said {16 * MiB}")
    uploads = moto_s3.list_multipart_uploads(Bucket=moto.bucket, Prefix=moto.prefix)
    assert uploads.get("Uploads", []) == []

    result = run_with_parts(2, *args, "--expected-size", len(data), stdin=data)
    assert result.returncode == 0, err(result)
    key = moto.key("stream.bin")
    assert plaintext(moto_s3, moto.bucket, key, keys.a_raw) == data
    parts = moto_s3.head_object(Bucket=moto.bucket, Key=key, PartNumber=2)["PartsCount"]
    assert parts == 2


def test_expected_size_is_refused_for_a_file_upload(
    moto: Target, keys: Keys, tmp_path: Path
) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(b"x")
    result = moto.cp(src, moto.url("f.bin"), "--aes-key-file", keys.a, "--expected-size", 10)
    assert_clean_error(result, 2, "--expected-size", "stdin")


def test_recursive_copies_guess_types_tag_every_object_and_rekey_s3_copies(
    moto: Target, moto_s3: Any, keys: Keys, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "page.html").write_bytes(b"<p>a</p>")
    (tree / "sub" / "data.json").write_bytes(b"{}")
    up = moto.cp(tree, moto.url("up"), "--recursive", "--aes-key-file", keys.a, "--tagging", "t=1")
    assert up.returncode == 0, err(up)
    types = {"page.html": "text/html", "sub/data.json": "application/json"}
    for name, content_type in types.items():
        key = moto.key(f"up/{name}")
        assert moto_s3.head_object(Bucket=moto.bucket, Key=key)["ContentType"] == content_type
        assert tags_of(moto_s3, moto.bucket, key) == {"t": "1"}

    copied = moto.cp(
        moto.url("up"),
        moto.url("down"),
        "--recursive",
        "--aes-key-file",
        keys.a,
        "--to-aes-key-file",
        keys.b,
    )
    assert copied.returncode == 0, err(copied)
    for name, content_type in types.items():
        key = moto.key(f"down/{name}")
        assert moto_s3.head_object(Bucket=moto.bucket, Key=key)["ContentType"] == content_type
        assert tags_of(moto_s3, moto.bucket, key) == {"t": "1"}
        expected = (tree / name).read_bytes()
        assert plaintext(moto_s3, moto.bucket, key, keys.b_raw) == expected
