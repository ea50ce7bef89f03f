"""The encryption context of a KMS data key: the request parameters that bind a data key
to it, and the checks of a stored context against the expected one before KMS is asked.

Pure functions: the keyrings in ``kms`` make the calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..core.materials import (
    DecryptionRequest,
    EncryptionRequest,
    check_legacy_wrap,
    require_ascii_map,
)
from ..core.metadata import WRAP_KMS_CONTEXT
from ..errors import (
    ConfigurationError,
    EncryptionContextMismatchError,
    MetadataError,
    excerpt,
    revealing_values,
)

RESERVED_CONTEXT_KEY = "aws:x-amz-cek-alg"
V1_CONTEXT_KEY = "kms_cmk_id"
_RESERVED_KEYS = (RESERVED_CONTEXT_KEY, V1_CONTEXT_KEY)


def generate_request(key_id: str, request: EncryptionRequest) -> dict[str, Any]:
    """GenerateDataKey parameters: the caller's context plus the reserved algorithm key."""
    context = require_ascii_map(request.encryption_context, "encryption context")
    reserved = [k for k in _RESERVED_KEYS if k in context]
    if reserved:
        raise ConfigurationError(
            f"{', '.join(reserved)} is reserved in the encryption context; remove it"
        )
    context[RESERVED_CONTEXT_KEY] = request.suite.kms_context_value
    return {"KeyId": key_id, "KeySpec": "AES_256", "EncryptionContext": context}


def decrypt_request(key_id: str | None, request: DecryptionRequest, legacy: bool) -> dict[str, Any]:
    """Decrypt parameters, after checking the stored context against the expected one.
    Without ``key_id`` (discovery) KMS takes the key from the wrapped data key.

    The checks run before KMS is called. KMS binds a data key to the exact context it was
    made with, but it answers for whatever context the metadata says, so the metadata
    alone must not decide which checks apply: a ``kms+context`` key relabelled ``kms``
    would otherwise skip both the algorithm binding and the caller's context.
    """
    md = request.metadata
    check_legacy_wrap(md.wrap_alg, legacy)
    stored = dict(md.context)
    if md.wrap_alg == WRAP_KMS_CONTEXT:
        _check_algorithm_binding(stored, md.suite.kms_context_value)
        visible = {k: v for k, v in stored.items() if k not in _RESERVED_KEYS}
    else:
        _check_v1_context(stored)
        visible = {k: v for k, v in stored.items() if k != V1_CONTEXT_KEY}
    _check_expected_context(dict(request.encryption_context), visible)
    params: dict[str, Any] = {"CiphertextBlob": md.encrypted_data_key, "EncryptionContext": stored}
    if key_id is not None:
        params["KeyId"] = key_id
    return params


def _check_algorithm_binding(stored: Mapping[str, str], claimed: str) -> None:
    """A ``kms+context`` data key is bound to its content algorithm by the reserved key:
    every writer of that wrap stores it, so its absence is as much a forgery as a
    different value (KMS would hand out the key for whatever algorithm is claimed)."""
    bound = stored.get(RESERVED_CONTEXT_KEY)
    if bound is None:
        raise MetadataError(
            f"the object's KMS encryption context lacks {RESERVED_CONTEXT_KEY}, which every "
            "'kms+context' writer stores: the metadata was altered"
        )
    if bound != claimed:
        raise MetadataError(
            f"the encryption context binds the key to {excerpt(bound)} but the object claims "
            f"{claimed!r}: a downgrade attempt or altered metadata"
        )


def _check_v1_context(stored: Mapping[str, str]) -> None:
    """A genuine V1-era ``kms`` envelope holds the key id under ``kms_cmk_id`` (plus any
    material description of the writer's) and never the V2 algorithm key: a ``kms`` label
    on a context carrying it is a ``kms+context`` key relabelled to dodge its binding."""
    if RESERVED_CONTEXT_KEY in stored:
        raise MetadataError(
            f"the object claims the V1-era 'kms' wrap, but its encryption context carries "
            f"{RESERVED_CONTEXT_KEY}, which only 'kms+context' writers store: the metadata "
            "was altered to skip the algorithm and context checks"
        )
    if V1_CONTEXT_KEY not in stored:
        raise MetadataError(
            f"the object claims the V1-era 'kms' wrap without the {V1_CONTEXT_KEY} every "
            "writer of that wrap stores: the metadata was altered"
        )


def _check_expected_context(expected: dict[str, str], visible: dict[str, str]) -> None:
    """The caller's context must equal the stored one, always: passing none expects none,
    so an object bound to a context is never read by a caller who did not name it."""
    if RESERVED_CONTEXT_KEY in expected or V1_CONTEXT_KEY in expected:
        raise ConfigurationError(
            f"{RESERVED_CONTEXT_KEY} and {V1_CONTEXT_KEY} are reserved; do not pass them in "
            "the encryption context"
        )
    if visible != expected:
        raise EncryptionContextMismatchError(
            "the encryption context given does not match the one stored with the object: "
            + context_difference(expected, visible, values=revealing_values())
        )


def context_difference(
    given: Mapping[str, str], stored: Mapping[str, str], *, values: bool = False
) -> str:
    """Which keys differ between two encryption contexts: missing, unexpected, or with
    another value. Values are quoted only when asked (``values``): a context is not
    secret to KMS, but it may say more than an error line should carry by default."""
    missing = sorted(set(stored) - set(given))
    unexpected = sorted(set(given) - set(stored))
    differing = sorted(k for k in set(given) & set(stored) if given[k] != stored[k])
    parts = []
    if missing:
        parts.append(
            "missing (stored with the object, not given): "
            + _names(missing, lambda k: f"={excerpt(stored[k], 40)}", values)
        )
    if unexpected:
        parts.append(
            "unexpected (given, not stored with the object): "
            + _names(unexpected, lambda k: f"={excerpt(given[k], 40)}", values)
        )
    if differing:
        parts.append(
            "another value given for: "
            + _names(
                differing,
                lambda k: f" (given {excerpt(given[k], 40)}, stored {excerpt(stored[k], 40)})",
                values,
            )
        )
    return "; ".join(parts)


_SHOWN = 10  # keys named at most per kind of difference


def _names(keys: list[str], value: Callable[[str], str], values: bool) -> str:
    """The keys (and, if ``values``, what ``value`` says of each), a few at most."""
    shown = [excerpt(k, 40) + (value(k) if values else "") for k in keys[:_SHOWN]]
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(shown) + more


def encrypt_request(key_id: str, request: EncryptionRequest, data_key: bytes) -> dict[str, Any]:
    """Encrypt parameters that re-wrap an existing data key, with the same context rules."""
    params = generate_request(key_id, request)
    return {
        "KeyId": key_id,
        "Plaintext": data_key,
        "EncryptionContext": params["EncryptionContext"],
    }
