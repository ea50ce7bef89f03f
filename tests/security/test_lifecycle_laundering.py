"""``migrate`` and ``rotate`` must not launder what a strict reader refuses.

Both jobs read an object and write it back under stronger protection (V3, or a new
wrap). If they read more leniently than the user asked (legacy modes, a context they do
not check), the rewritten object carries a forgery, or drops the context it was bound
to, and from then on a strict default reader accepts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse import errors as e
from s3cse.lifecycle import Job, KeySpec, run

from .. import legacy
from ..keys import aes_key, aes_keyring
from .test_kms_binding import FORGED, KNOWN, _plant_cbc_forgery

pytestmark = pytest.mark.integration

CONTEXT = {"dept": "finance"}


def _kms_reader(kms: Any, kms_key_id: str, s3: Any) -> EncryptionClient:
    return EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3)


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "s3cse.cli", *args],
        capture_output=True,
        timeout=120,
        check=False,
        env=dict(os.environ),
    )


def _assert_bound(
    reader: EncryptionClient, bucket: str, key: str, context: dict[str, str], plaintext: bytes
) -> None:
    """Readable under ``context``, and refused to a caller who names none."""
    got = reader.get_object(Bucket=bucket, Key=key, EncryptionContext=context)
    assert got["Body"].read() == plaintext
    with pytest.raises(e.EncryptionContextMismatchError):
        reader.get_object(Bucket=bucket, Key=key)


def _stored(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def test_migrate_does_not_launder_a_relabelled_forgery(
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    """The forged CBC block stays refused: not read without --legacy, not read with it
    (the label lies), and never rewritten as a V3 object a strict reader would accept."""
    EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3, format="v2").put_object(
        Bucket=bucket, Key=f"{key_name}/src", Body=KNOWN, EncryptionContext=CONTEXT
    )
    forged = f"{key_name}/forged"
    _plant_cbc_forgery(s3, bucket, f"{key_name}/src", forged)
    before = _stored(s3, bucket, forged)
    url = f"s3://{bucket}/{forged}"
    for extra in ([], ["--legacy"], ["--legacy", "--encryption-context", "dept=finance"]):
        result = _cli("migrate", url, "--kms-key-id", kms_key_id, "--json", *extra)
        assert result.returncode == 1, result.stderr
        actions = [json.loads(line) for line in result.stdout.splitlines()][:-1]
        assert [a["action"] for a in actions] == ["failed"], actions
        assert _stored(s3, bucket, forged) == before
    with pytest.raises(e.S3CSEError):
        _kms_reader(kms, kms_key_id, s3).get_object(Bucket=bucket, Key=forged)


def test_migrate_reads_legacy_modes_only_when_told(
    s3: Any,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "aes.key"
    key_file.write_bytes(aes_key(0))
    ciphertext, md = legacy.v1_aes_cbc(aes_key(0), b"old bytes")
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    job = Job("migrate", bucket, key_name, KeySpec(aes_key_file=str(key_file)))
    summary = run(job)
    assert [r.action for r in summary.results] == ["failed"]
    assert "legacy" in summary.results[0].detail
    assert _stored(s3, bucket, key_name) == ciphertext
    told = Job("migrate", bucket, key_name, KeySpec(aes_key_file=str(key_file)), legacy=True)
    assert run(told).counts() == {"migrated": 1}
    strict = EncryptionClient(aes_keyring(0), s3_client=s3)
    assert strict.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"old bytes"


def test_migrate_keeps_a_v1_kms_objects_context(
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    """A V1-era ``kms`` object bound to dept=finance is migrated only by a caller who
    names that context, and the V3 copy stays bound to it."""
    ciphertext, md = legacy.v2_kms_legacy_gcm(kms, kms_key_id, b"ledger", CONTEXT)
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    unnamed = Job("migrate", bucket, key_name, KeySpec(kms_key_id=kms_key_id), legacy=True)
    assert [r.action for r in run(unnamed).results] == ["failed"]
    assert _stored(s3, bucket, key_name) == ciphertext
    named = Job(
        "migrate",
        bucket,
        key_name,
        KeySpec(kms_key_id=kms_key_id),
        legacy=True,
        encryption_context=tuple(CONTEXT.items()),
    )
    assert run(named).counts() == {"migrated": 1}
    _assert_bound(_kms_reader(kms, kms_key_id, s3), bucket, key_name, CONTEXT, b"ledger")


def test_migrate_writes_another_context_only_when_told(
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3, format="v2").put_object(
        Bucket=bucket, Key=key_name, Body=b"q3", EncryptionContext=CONTEXT
    )
    url = f"s3://{bucket}/{key_name}"
    result = _cli(
        "migrate",
        url,
        "--kms-key-id",
        kms_key_id,
        "--encryption-context",
        "dept=finance",
        "--to-encryption-context",
        "dept=audit",
    )
    assert result.returncode == 0, result.stderr
    _assert_bound(_kms_reader(kms, kms_key_id, s3), bucket, key_name, {"dept": "audit"}, b"q3")


def test_rotate_keeps_the_context_and_checks_it(
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    new_key = kms.create_key(Description="rotation target")["KeyMetadata"]["KeyId"]
    EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=b"payroll", EncryptionContext=CONTEXT
    )
    unnamed = Job(
        "rotate", bucket, key_name, KeySpec(kms_key_id=kms_key_id), KeySpec(kms_key_id=new_key)
    )
    assert [r.action for r in run(unnamed).results] == ["failed"]
    named = Job(
        "rotate",
        bucket,
        key_name,
        KeySpec(kms_key_id=kms_key_id),
        KeySpec(kms_key_id=new_key),
        encryption_context=tuple(CONTEXT.items()),
    )
    assert run(named).counts() == {"rotated": 1}
    _assert_bound(_kms_reader(kms, new_key, s3), bucket, key_name, CONTEXT, b"payroll")


def test_rotate_does_not_bind_a_legacy_wrap_to_tampered_content(
    s3: Any,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    """``AESWrap`` binds the data key to nothing: rotating it to ``AES/GCM`` would vouch for
    whatever the object holds, so a tampered object is refused, and a legacy wrap is read
    only with legacy on."""
    old_key, new_key = tmp_path / "old.key", tmp_path / "new.key"
    old_key.write_bytes(aes_key(0))
    new_key.write_bytes(aes_key(1))
    ciphertext, md = legacy.v2_aeswrap_gcm(aes_key(0), b"x" * 1000)
    tampered = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    s3.put_object(Bucket=bucket, Key=key_name, Body=tampered, Metadata=md)

    def job(legacy_on: bool) -> Job:
        return Job(
            "rotate",
            bucket,
            key_name,
            KeySpec(aes_key_file=str(old_key)),
            KeySpec(aes_key_file=str(new_key)),
            legacy=legacy_on,
        )

    for legacy_on in (False, True):
        results = run(job(legacy_on)).results
        assert [r.action for r in results] == ["failed"], results
    assert s3.head_object(Bucket=bucket, Key=key_name)["Metadata"]["x-amz-wrap-alg"] == "AESWrap"
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    assert run(job(True)).counts() == {"rotated": 1}
    reader = EncryptionClient(
        aes_keyring(1), s3_client=s3, commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT"
    )
    assert reader.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"x" * 1000


def test_forged_text_never_appears(
    s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    """After every job above has run over the prefix, no reader setting releases the
    attacker's bytes."""
    EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3, format="v2").put_object(
        Bucket=bucket, Key=f"{key_name}/src", Body=KNOWN, EncryptionContext=CONTEXT
    )
    forged = f"{key_name}/forged"
    _plant_cbc_forgery(s3, bucket, f"{key_name}/src", forged)
    run(Job("migrate", bucket, forged, KeySpec(kms_key_id=kms_key_id), legacy=True))
    for options in ({}, {"legacy": True, "commitment_policy": "REQUIRE_ENCRYPT_ALLOW_DECRYPT"}):
        reader = EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3, **options)
        try:
            data = reader.get_object(Bucket=bucket, Key=forged)["Body"].read()
        except e.S3CSEError:
            continue
        assert FORGED not in data
