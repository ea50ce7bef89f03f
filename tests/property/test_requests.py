"""Request planning shared by the sync and async clients (``protocol``): what a write
sends, what S3's answers say, which blocks a legacy CBC read fetches for its size."""

from __future__ import annotations

import os
import string

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from s3cse.core import listing, ranges, reads, requests
from s3cse.core.ciphers import ContentKey
from s3cse.core.config import CryptoConfig
from s3cse.core.errors import ConfigurationError
from s3cse.core.metadata import ContentMetadata
from s3cse.core.suites import CBC_IV16, GCM_HKDF_COMMIT, GCM_IV12_TAG16, FormatVersion

from .s3_ranges import s3_answer

NAMES = st.text(string.ascii_letters + "-", min_size=1, max_size=12)
ARGS = st.dictionaries(
    st.sampled_from([*requests.REFUSED_PUT_ARGS, "ContentType", "ACL", "StorageClass"]) | NAMES,
    st.text(max_size=8),
    max_size=5,
)
OPTION = st.none() | st.booleans() | st.sampled_from([0, 1, "", "yes"])


@given(
    args=ARGS,
    metadata=st.dictionaries(
        NAMES | st.sampled_from(["x-amz-key-v2", "X-Amz-Iv", "x-amz-meta-a", "x-amz-c"]),
        st.text(max_size=8),
        max_size=3,
    ),
    context=st.none() | st.dictionaries(NAMES, st.text(max_size=8), max_size=3),
    instruction_file=OPTION,
    integrity_index=OPTION,
    config_flags=st.tuples(st.booleans(), st.booleans()),
)
def test_a_put_plan_keeps_every_argument_or_refuses_plaintext_ones(
    args: dict[str, str],
    metadata: dict[str, str],
    context: dict[str, str] | None,
    instruction_file: object,
    integrity_index: object,
    config_flags: tuple[bool, bool],
) -> None:
    config = CryptoConfig(instruction_file=config_flags[0], integrity_index=config_flags[1])
    request = {**args, "Metadata": metadata}
    refused = set(args) & set(requests.REFUSED_PUT_ARGS)
    reserved = any(k.lower().startswith("x-amz-") for k in metadata)
    if refused or reserved:
        with pytest.raises(ConfigurationError):
            requests.plan_put(config, request, context, instruction_file, integrity_index)  # type: ignore[arg-type]
        return
    plan = requests.plan_put(config, request, context, instruction_file, integrity_index)  # type: ignore[arg-type]
    assert plan.args == request and plan.args is not request
    assert plan.context == (context or {})
    assert_options_resolved(plan, config, instruction_file, integrity_index)
    if context is not None:  # the plan holds its own copy: later edits do not leak in
        context["late"] = "x"
        assert "late" not in plan.context
    suffixes = plan.sidecar_suffixes()
    assert len(suffixes) == plan.instruction_file + plan.integrity_index == len(set(suffixes))


def assert_options_resolved(
    plan: requests.PutPlan, config: CryptoConfig, instruction_file: object, integrity_index: object
) -> None:
    """None leaves the client's setting; anything else is taken for its truth value."""
    assert plan.instruction_file is (
        config.instruction_file if instruction_file is None else bool(instruction_file)
    )
    assert plan.integrity_index is (
        config.integrity_index if integrity_index is None else bool(integrity_index)
    )


@given(
    instruction_file=OPTION, integrity_index=OPTION, flags=st.tuples(st.booleans(), st.booleans())
)
def test_put_options_default_to_the_clients(
    instruction_file: object, integrity_index: object, flags: tuple[bool, bool]
) -> None:
    config = CryptoConfig(instruction_file=flags[0], integrity_index=flags[1])
    plan = requests.plan_put(config, {}, None, instruction_file, integrity_index)  # type: ignore[arg-type]
    assert_options_resolved(plan, config, instruction_file, integrity_index)


@given(total=st.integers(1, 2**63), data=st.data())
def test_content_range_reads_back_what_s3_sent(total: int, data: st.DataObject) -> None:
    first = data.draw(st.integers(0, total - 1))
    last = data.draw(st.integers(first, total - 1))
    answer = {"ContentRange": f"bytes {first}-{last}/{total}", "ContentLength": last - first + 1}
    assert reads.content_range(answer) == (first, last, total)


@given(length=st.integers(0, 2**63), garbage=st.sampled_from(["", "bytes", "bytes */9", "x y"]))
def test_without_a_content_range_the_body_is_the_whole_object(length: int, garbage: str) -> None:
    answer = (
        {"ContentRange": garbage, "ContentLength": length} if garbage else {"ContentLength": length}
    )
    assert reads.content_range(answer) == (0, length - 1, length)


@given(plaintext_size=st.integers(0, 2**40), stored=st.integers(0, 15))
def test_a_listing_assumes_a_gcm_tag_but_never_a_negative_size(
    plaintext_size: int, stored: int
) -> None:
    assert listing.assumed_plaintext_size(plaintext_size + 16) == (plaintext_size, "assumed-gcm")
    assert listing.assumed_plaintext_size(stored) == (stored, "not-encrypted")


def metadata_for(key: ContentKey) -> ContentMetadata:
    return ContentMetadata(
        version=FormatVersion.V1 if not key.suite.authenticated else FormatVersion.V2,
        suite=key.suite,
        wrap_alg="AESWrap",
        encrypted_data_key=b"k" * 40,
        context={},
        iv=key.iv,
    )


@given(plaintext=st.binary(max_size=200))
def test_the_cbc_tail_range_holds_the_blocks_that_tell_the_size(plaintext: bytes) -> None:
    key = ContentKey(CBC_IV16, os.urandom(32), os.urandom(16))
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.key), modes.CBC(key.iv)).encryptor()
    stored = encryptor.update(padded) + encryptor.finalize()
    tail = reads.cbc_tail_range(metadata_for(key), len(stored))
    assert tail is not None
    answer = s3_answer(tail, len(stored))
    assert answer is not None and answer[1] == len(stored) - 1
    blocks = stored[answer[0] :]
    assert ranges.cbc_plaintext_size(key, len(stored), blocks, key.iv) == len(plaintext)


@given(suite=st.sampled_from([GCM_IV12_TAG16, GCM_HKDF_COMMIT]), stored=st.integers(16, 2**40))
def test_gcm_reads_need_no_tail(suite: object, stored: int) -> None:
    key = ContentKey(suite, bytes(32), bytes(12))  # type: ignore[arg-type]
    assert reads.cbc_tail_range(metadata_for(key), stored) is None
