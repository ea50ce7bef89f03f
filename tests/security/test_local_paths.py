"""Keys chosen by a bucket writer must not decide where a download lands.

``cp --recursive`` makes one local file per object. A key with ``.``/``..``/empty
segments, a trailing ``/`` or (on Windows) ``\\``, a drive or a device name must be
refused, per object, rather than write outside the destination or over another
object's file; and a symlink inside the destination must not carry a write out of it.

Objects are stored in moto's S3: unlike SeaweedFS it keeps keys with dot segments and
empty segments, as AWS does.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient
from s3cse.local import stack as local

from ..integration.test_cli import err, run

SECRET = bytes(range(32))
REFUSED = 2  # every failure a refused key: a local path problem


@dataclass(frozen=True)
class MotoBucket:
    s3: Any
    bucket: str
    endpoint: str
    key_file: Path

    def put(self, key: str, body: bytes) -> None:
        EncryptionClient(AesKeyring(SECRET), s3_client=self.s3).put_object(
            Bucket=self.bucket, Key=key, Body=body
        )

    def cp(self, *args: Any) -> Any:
        return run("cp", *args, "--aes-key-file", self.key_file, "--endpoint-url", self.endpoint)


@pytest.fixture
def moto(
    moto_s3: Any,
    moto_bucket: str,
    stack: local.LocalStack,
    tmp_path_factory: pytest.TempPathFactory,
) -> MotoBucket:
    key_file = tmp_path_factory.mktemp("keys") / "aes.key"
    key_file.write_bytes(SECRET)
    return MotoBucket(moto_s3, moto_bucket, stack.moto_s3_endpoint, key_file)


@pytest.fixture
def prefix() -> str:
    return f"paths-{uuid.uuid4().hex[:8]}"


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


# ---------------------------------------------------------------------------- aliasing keys


ALIASES = {
    "a.csv/.": "a.csv",  # a '.' segment: pathlib drops it
    "x//b.csv": "x/b.csv",  # an empty segment
    "y/./c.csv": "y/c.csv",
    "z/../d.csv": "d.csv",  # a '..' game
}


def test_keys_aliasing_another_objects_file_are_refused(
    moto: MotoBucket, prefix: str, tmp_path: Path
) -> None:
    real = {name: f"real {name}".encode() for name in [*ALIASES.values(), "good.txt"]}
    for name, data in real.items():
        moto.put(f"{prefix}/{name}", data)
    for alias in ALIASES:
        moto.put(f"{prefix}/{alias}", b"forged by a bucket writer")
    out = tmp_path / "out"
    # one at a time, in listing order: each alias comes after or before its victim
    result = moto.cp("-r", f"s3://{moto.bucket}/{prefix}", out, "--concurrency", "1")
    assert result.returncode == REFUSED, err(result)
    errors = [line for line in err(result).splitlines() if line.startswith("s3cse: error:")]
    for alias in ALIASES:
        assert any(f"s3://{moto.bucket}/{prefix}/{alias}]" in line for line in errors), errors
    assert (
        errors[-1] == f"s3cse: error: {len(ALIASES)} of {len(real) + len(ALIASES)} objects failed"
    )
    assert files_under(out) == real  # each file holds its own object, the rest copied


def test_a_trailing_slash_object_with_data_is_refused_not_dropped(
    moto: MotoBucket, prefix: str, tmp_path: Path
) -> None:
    moto.put(f"{prefix}/data/", b"this is no folder marker")
    moto.put(f"{prefix}/encrypted-marker/", b"")  # empty plaintext: a marker
    moto.s3.put_object(Bucket=moto.bucket, Key=f"{prefix}/plain-marker/", Body=b"")
    moto.s3.put_object(
        Bucket=moto.bucket,
        Key=f"{prefix}/typed-marker/",
        Body=b"x",
        ContentType="application/x-directory",
    )
    moto.put(f"{prefix}/kept.txt", b"kept")
    out = tmp_path / "out"
    result = moto.cp("-r", f"s3://{moto.bucket}/{prefix}", out)
    assert result.returncode == REFUSED, err(result)
    lines = err(result).splitlines()
    assert len(lines) == 2, lines
    assert f"s3://{moto.bucket}/{prefix}/data/]" in lines[0] and "marker" in lines[0]
    assert lines[1] == "s3cse: error: 1 of 2 objects failed"
    assert files_under(out) == {"kept.txt": b"kept"}


def test_a_single_download_into_a_directory_refuses_a_dot_segment_name(
    moto: MotoBucket, prefix: str, tmp_path: Path
) -> None:
    moto.put(f"{prefix}/a.csv/.", b"forged")
    (tmp_path / "a.csv").write_bytes(b"mine")
    result = moto.cp(f"s3://{moto.bucket}/{prefix}/a.csv/.", f"{tmp_path}{os.sep}")
    assert result.returncode == REFUSED, err(result)
    assert "'.'" in err(result) and f"{prefix}/a.csv/.]" in err(result)
    assert (tmp_path / "a.csv").read_bytes() == b"mine"


# ---------------------------------------------------------------------------- symlinks


def test_a_symlinked_directory_inside_the_destination_is_not_followed_out(
    moto: MotoBucket, prefix: str, tmp_path: Path
) -> None:
    elsewhere, out = tmp_path / "elsewhere", tmp_path / "out"
    elsewhere.mkdir()
    (out / "real").mkdir(parents=True)
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)
    (out / "inside").symlink_to(out / "real", target_is_directory=True)
    moto.put(f"{prefix}/sub/deeper/evil.txt", b"planted")
    moto.put(f"{prefix}/sub/evil.txt", b"planted")
    moto.put(f"{prefix}/inside/ok.txt", b"fine")
    result = moto.cp("-r", f"s3://{moto.bucket}/{prefix}", out)
    assert result.returncode == REFUSED, err(result)
    assert err(result).count("symbolic link") == 2, err(result)
    assert list(elsewhere.iterdir()) == []  # nothing written, no directory made there
    assert (out / "real" / "ok.txt").read_bytes() == b"fine"  # a link within: followed


def test_a_symlink_as_the_file_itself_is_replaced_or_refused_never_written_through(
    moto: MotoBucket, prefix: str, tmp_path: Path
) -> None:
    outside, out = tmp_path / "outside.txt", tmp_path / "out"
    outside.write_bytes(b"not yours")
    out.mkdir()
    (out / "file.txt").symlink_to(outside)
    (out / "device.txt").symlink_to(os.devnull)
    moto.put(f"{prefix}/file.txt", b"downloaded")
    moto.put(f"{prefix}/device.txt", b"downloaded")
    result = moto.cp("-r", f"s3://{moto.bucket}/{prefix}", out)
    assert result.returncode == REFUSED, err(result)
    assert f"{prefix}/device.txt]" in err(result) and "symbolic link" in err(result)
    assert (out / "device.txt").is_symlink()  # left alone, not written through
    assert outside.read_bytes() == b"not yours"
    assert not (out / "file.txt").is_symlink()  # the rename replaced the link
    assert (out / "file.txt").read_bytes() == b"downloaded"
