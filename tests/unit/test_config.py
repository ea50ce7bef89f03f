"""CryptoConfig: safe defaults, strict combinations, picklable."""

from __future__ import annotations

import pickle

import pytest

from s3cse.core.config import CryptoConfig
from s3cse.core.suites import GCM_HKDF_COMMIT, GCM_IV12_TAG16, CommitmentPolicy, FormatVersion
from s3cse.errors import ConfigurationError

P = CommitmentPolicy


def test_defaults() -> None:
    config = CryptoConfig()
    assert config.format is FormatVersion.V3
    assert config.policy is P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    assert config.legacy is False
    assert config.delayed_authentication is False
    assert config.instruction_file is False
    assert config.write_suite is GCM_HKDF_COMMIT
    assert config.instruction_suffix == ".instruction"
    assert config.policy.decrypt_requires_commitment


@pytest.mark.parametrize("fmt", ["v2", "V2", "2", 2, FormatVersion.V2])
def test_format_v2_alone(fmt: object) -> None:
    config = CryptoConfig(format=fmt)  # type: ignore[arg-type]
    assert config.format is FormatVersion.V2
    assert config.policy is P.FORBID_ENCRYPT_ALLOW_DECRYPT
    assert config.write_suite is GCM_IV12_TAG16
    assert not config.policy.decrypt_requires_commitment


@pytest.mark.parametrize(
    ("fmt", "policy", "expected"),
    [
        ("v3", "REQUIRE_ENCRYPT_ALLOW_DECRYPT", P.REQUIRE_ENCRYPT_ALLOW_DECRYPT),
        ("v3", "require_encrypt_require_decrypt", P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT),
        ("v3", P.REQUIRE_ENCRYPT_ALLOW_DECRYPT, P.REQUIRE_ENCRYPT_ALLOW_DECRYPT),
        ("v2", "FORBID_ENCRYPT_ALLOW_DECRYPT", P.FORBID_ENCRYPT_ALLOW_DECRYPT),
    ],
)
def test_valid_combinations(fmt: str, policy: object, expected: CommitmentPolicy) -> None:
    config = CryptoConfig(format=fmt, commitment_policy=policy)  # type: ignore[arg-type]
    assert config.policy is expected


@pytest.mark.parametrize(
    ("fmt", "policy"),
    [
        ("v2", P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT),
        ("v2", P.REQUIRE_ENCRYPT_ALLOW_DECRYPT),
        ("v2", "REQUIRE_ENCRYPT_ALLOW_DECRYPT"),
        ("v3", P.FORBID_ENCRYPT_ALLOW_DECRYPT),
        (FormatVersion.V3, "forbid_encrypt_allow_decrypt"),
    ],
)
def test_conflicting_combinations(fmt: object, policy: object) -> None:
    with pytest.raises(ConfigurationError, match="commitment policy"):
        CryptoConfig(format=fmt, commitment_policy=policy)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["v4", "v0", "abc", "", "3.0", 7])
def test_unknown_format(fmt: object) -> None:
    with pytest.raises(ConfigurationError):
        CryptoConfig(format=fmt)  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", ["REQUIRE", "ALLOW_ALL", "", "REQUIRE-ENCRYPT-ALLOW-DECRYPT"])
def test_unknown_policy(policy: str) -> None:
    with pytest.raises(ConfigurationError, match="unknown commitment policy"):
        CryptoConfig(commitment_policy=policy)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["v1", "1", 1, FormatVersion.V1])
def test_format_v1_refused(fmt: object) -> None:
    with pytest.raises(ConfigurationError, match="v1"):
        CryptoConfig(format=fmt)  # type: ignore[arg-type]


def test_negative_spool_threshold() -> None:
    with pytest.raises(ConfigurationError):
        CryptoConfig(spool_threshold=-1)
    assert CryptoConfig(spool_threshold=0).spool_threshold == 0


def test_configuration_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        CryptoConfig(format="v9")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "config",
    [
        CryptoConfig(),
        CryptoConfig(format="v2", legacy=True, instruction_file=True),  # type: ignore[arg-type]
        CryptoConfig(
            commitment_policy=P.REQUIRE_ENCRYPT_ALLOW_DECRYPT,
            delayed_authentication=True,
            spool_threshold=5,
            spool_dir="/tmp/x",
        ),
    ],
)
def test_picklable(config: CryptoConfig) -> None:
    copy = pickle.loads(pickle.dumps(config))
    assert copy == config
    assert copy.format is config.format
    assert copy.policy is config.policy


def test_frozen_and_with_changes() -> None:
    config = CryptoConfig()
    with pytest.raises(AttributeError):
        config.legacy = True  # type: ignore[misc]
    changed = config.with_changes(legacy=True)
    assert changed.legacy is True and config.legacy is False
    v2 = config.with_changes(format="v2", commitment_policy=None)
    assert v2.policy is P.FORBID_ENCRYPT_ALLOW_DECRYPT
    assert v2.write_suite is GCM_IV12_TAG16
    strict = CryptoConfig(commitment_policy=P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    with pytest.raises(ConfigurationError):
        strict.with_changes(format="v2")
