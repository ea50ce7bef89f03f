"""Attacks on whole objects streamed through their integrity index.

A streamed read hands out each 256 KiB chunk once its index entry verifies. The attacker
may rewrite the object and its index at will but holds no key. Whatever they do, what a
reader receives is either the whole genuine object, or a prefix of whole chunks each of
which verified against an entry under a key bound to this object, followed by an
authentication error; never a byte that was not authenticated. An index that cannot
vouch for the object (its header forged, its size or the object's changed, moved from
another object, stale after an overwrite by a client that knows nothing of indexes,
emptied, or a user's object under its name) only takes the streaming away: the whole
object is then authenticated before any of it is released, as without an index.

Each attack runs through the command (``cat``) and the library (``download_fileobj``,
sync and async); the released bytes are compared with exactly what may be released.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient
from s3cse.core.integrity import CHUNK_SIZE, HEADER_SIZE, MAC_LENGTH, SUFFIX
from s3cse.errors import AuthenticationError

from ..conftest import MakeClient
from ..integration.test_cli import assert_clean_error, run
from .test_destinations import Recorder

pytestmark = pytest.mark.integration

SECRET = bytes(range(96, 128))
DATA = os.urandom(4 * CHUNK_SIZE + 100)
OTHER = os.urandom(3 * CHUNK_SIZE + 7)


def client_of(s3: Any) -> EncryptionClient:
    return EncryptionClient(AesKeyring(SECRET), s3_client=s3)


def stored(s3: Any, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def rewrite(s3: Any, bucket: str, key: str, change: Callable[[bytes], bytes]) -> None:
    """Store ``change(stored bytes)`` under ``key``, its metadata kept."""
    metadata = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    body = change(stored(s3, bucket, key))
    s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata)


def flipped(position: int) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        out = bytearray(data)
        out[position] ^= 0x01
        return bytes(out)

    return change


# ---------------------------------------------------------------- the attacks


def entry(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key + SUFFIX, flipped(HEADER_SIZE + MAC_LENGTH + 3))  # chunk 1's


def header(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key + SUFFIX, flipped(HEADER_SIZE - 1))  # its MAC


def trailer(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key + SUFFIX, flipped(-1))


def forged_entries(s3: Any, bucket: str, key: str) -> None:
    def change(index: bytes) -> bytes:
        return index[:HEADER_SIZE] + os.urandom(len(index) - HEADER_SIZE)

    rewrite(s3, bucket, key + SUFFIX, change)


def moved(s3: Any, bucket: str, key: str) -> None:
    client_of(s3).put_object(Bucket=bucket, Key=key + "-other", Body=DATA, IntegrityIndex=True)
    rewrite(s3, bucket, key + SUFFIX, lambda _: stored(s3, bucket, key + "-other" + SUFFIX))


def index_cut(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key + SUFFIX, lambda index: index[:-MAC_LENGTH])


def index_extended(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key + SUFFIX, lambda index: index + bytes(MAC_LENGTH))


def index_emptied(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key + SUFFIX, lambda _: b"")


def user_object(s3: Any, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key + SUFFIX, Body=b"my own notes, not an index")


def object_cut(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key, lambda body: body[:-CHUNK_SIZE])


def object_extended(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key, lambda body: body[:-16] + os.urandom(CHUNK_SIZE) + body[-16:])


def chunk(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key, flipped(CHUNK_SIZE + 11))  # chunk 1


def tag(s3: Any, bucket: str, key: str) -> None:
    rewrite(s3, bucket, key, flipped(-1))


def overwritten(s3: Any, bucket: str, key: str) -> None:
    """Another client rewrites the object and leaves the index alone (stale)."""
    client_of(s3).put_object(Bucket=bucket, Key=key + "-new", Body=OTHER)
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key + "-new"})


@dataclass(frozen=True)
class Attack:
    changes: tuple[Callable[[Any, str, str], None], ...]
    released: bytes
    """Exactly what may reach the reader."""
    fails: bool


WHOLE_FIRST = b""  # an index that cannot vouch: nothing before the whole object verifies
ATTACKS = {
    # the stream itself catches it: the chunks before the bad one, then the error
    "entry": Attack((entry,), DATA[:CHUNK_SIZE], True),
    "forged-entries": Attack((forged_entries,), b"", True),
    "chunk": Attack((chunk,), DATA[:CHUNK_SIZE], True),
    "trailer+chunk": Attack((trailer, chunk), DATA[:CHUNK_SIZE], True),
    "tag": Attack((tag,), DATA, True),  # every chunk verified against its entry
    # the index is never needed whole: a reader does not read its trailer
    "trailer": Attack((trailer,), DATA, False),
    # an index that cannot vouch for the object: verify-first, as without one
    "header": Attack((header,), DATA, False),
    "header+chunk": Attack((header, chunk), WHOLE_FIRST, True),
    "moved": Attack((moved,), DATA, False),
    "moved+chunk": Attack((moved, chunk), WHOLE_FIRST, True),
    "index-cut+chunk": Attack((index_cut, chunk), WHOLE_FIRST, True),
    "index-extended+chunk": Attack((index_extended, chunk), WHOLE_FIRST, True),
    "index-emptied+chunk": Attack((index_emptied, chunk), WHOLE_FIRST, True),
    "user-object+chunk": Attack((user_object, chunk), WHOLE_FIRST, True),
    "object-cut": Attack((object_cut,), WHOLE_FIRST, True),
    "object-extended": Attack((object_extended,), WHOLE_FIRST, True),
    "overwritten": Attack((overwritten,), OTHER, False),
    "overwritten+chunk": Attack((overwritten, chunk), WHOLE_FIRST, True),
}


@pytest.fixture(params=list(ATTACKS), ids=list(ATTACKS))
def attacked(request: pytest.FixtureRequest, s3: Any, bucket: str, key_name: str) -> Attack:
    client_of(s3).put_object(Bucket=bucket, Key=key_name, Body=DATA, IntegrityIndex=True)
    attack: Attack = ATTACKS[request.param]
    for change in attack.changes:
        change(s3, bucket, key_name)
    return attack


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streaming-attack-keys") / "aes.key"
    path.write_bytes(SECRET)
    return path


def test_cat_releases_only_authenticated_bytes(
    attacked: Attack, bucket: str, key_name: str, key_file: Path
) -> None:
    result = run("cat", f"s3://{bucket}/{key_name}", "--aes-key-file", key_file)
    if attacked.fails:
        assert_clean_error(result, 3, f"s3://{bucket}/{key_name}")
    else:
        assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == attacked.released, (len(result.stdout), len(attacked.released))


def test_download_fileobj_releases_only_authenticated_bytes(
    make_client: MakeClient, attacked: Attack, bucket: str, key_name: str
) -> None:
    client = make_client(AesKeyring(SECRET))
    writer = Recorder()
    if attacked.fails:
        with pytest.raises(AuthenticationError):
            client.download_fileobj(bucket, key_name, writer)
    else:
        client.download_fileobj(bucket, key_name, writer)
    assert bytes(writer.received) == attacked.released
