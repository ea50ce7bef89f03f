"""Which of an object's attributes its sidecars share, through the library, sync and
async: the tags (and the ACL, see ``core.requests.SIDECAR_SHARED_ARGS``) on every write
and on copies that replace them; never the storage class, user metadata or Content-*."""

from __future__ import annotations

import os
from typing import Any

import pytest

from ..conftest import MakeClient
from ..keys import aes_keyring
from .test_sidecar_promises import exists, read, write

pytestmark = pytest.mark.integration
SIDECARS = (".instruction", ".s3cse-index")
MiB = 1024 * 1024


def tags(s3: Any, bucket: str, key: str) -> dict[str, str]:
    tag_set = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


@pytest.mark.parametrize(("how", "size"), [("put", 700), ("multipart", 11 * MiB)])
def test_sidecars_take_the_tags_of_their_object_but_not_its_class_or_metadata(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, how: str, size: int
) -> None:
    client = make_client(aes_keyring(0), instruction_file=True, integrity_index=True)
    data = os.urandom(size)
    attributes = {
        "Tagging": "team=data&t=a%20b",
        "StorageClass": "STANDARD_IA",
        "Metadata": {"owner": "alice"},
        "ContentLanguage": "de",
    }
    write(client, bucket, key_name, data, how, **attributes)
    head = s3.head_object(Bucket=bucket, Key=key_name)
    assert head["StorageClass"] == "STANDARD_IA" and head["ContentLanguage"] == "de"
    assert head["Metadata"]["owner"] == "alice"
    for suffix in SIDECARS:
        sidecar = s3.head_object(Bucket=bucket, Key=key_name + suffix)
        assert tags(s3, bucket, key_name + suffix) == {"team": "data", "t": "a b"}
        assert sidecar.get("StorageClass", "STANDARD") == "STANDARD"
        assert "owner" not in sidecar["Metadata"] and "ContentLanguage" not in sidecar
    assert read(client, bucket, key_name) == data


def test_a_copy_that_replaces_the_tags_replaces_those_of_the_sidecars(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), instruction_file=True, integrity_index=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"tagged", Tagging="old=1")
    copy = key_name + "-copy"
    client.copy_object(
        Bucket=bucket,
        Key=copy,
        CopySource={"Bucket": bucket, "Key": key_name},
        TaggingDirective="REPLACE",
        Tagging="new=2",
    )
    for name in (copy, *(copy + suffix for suffix in SIDECARS)):
        assert exists(s3, bucket, name)
        assert tags(s3, bucket, name) == {"new": "2"}
    assert tags(s3, bucket, key_name + SIDECARS[0]) == {"old": "1"}
    assert read(client, bucket, copy) == b"tagged"
