"""KMS's refusals, each turned into the s3cse error that says what to do about it."""

from __future__ import annotations

from ..errors import (
    KeyUnwrapError,
    KmsAccessDeniedError,
    KmsError,
    KmsKeyUnavailableError,
    S3CSEError,
)
from ..io.awsenv import CREDENTIAL_CODES, CREDENTIALS_HINT, unreachable

_UNUSABLE = {"DisabledException", "KMSInvalidStateException", "KeyUnavailableException"}
_THROTTLED = {"ThrottlingException", "Throttling", "RequestLimitExceeded", "LimitExceededException"}
_DENIED = {"AccessDeniedException", "AccessDenied"}
# The IAM action behind each call the keyring makes.
_ACTIONS = {
    "decrypt": "kms:Decrypt",
    "generate_data_key": "kms:GenerateDataKey",
    "encrypt": "kms:Encrypt",
}


def translate_kms_error(exc: Exception, key_id: str, operation: str) -> S3CSEError:
    """Turn a botocore failure into the s3cse error a user can act on.

    KMS tells apart a key that does not exist (``NotFoundException``), one that exists
    but cannot be used now (``DisabledException``, ``KMSInvalidStateException``), one
    these credentials may not use (``AccessDeniedException``) and a data key wrapped
    under another key (``IncorrectKeyException``): each gets its own remedy.
    """
    # botocore's connection errors carry ``response = None``
    error = (getattr(exc, "response", None) or {}).get("Error", {})
    code = error.get("Code", "")
    message = error.get("Message", "") or str(exc)
    if code == "NotFoundException":
        return _not_found(key_id, code, message)
    if code in _UNUSABLE:
        return KmsKeyUnavailableError(
            f"KMS key {key_id} cannot be used ({code}: {message})", hint=_UNUSABLE_HINTS.get(code)
        )
    if code in CREDENTIAL_CODES:
        return KmsAccessDeniedError(
            f"KMS does not accept these credentials for {operation} on key {key_id} "
            f"({code}: {message})",
            hint=CREDENTIALS_HINT,
        )
    if code in _DENIED:
        action = _ACTIONS.get(operation, f"kms:{operation}")
        return KmsAccessDeniedError(
            f"KMS denied {operation} on key {key_id} ({code})",
            hint=f"Grant {action} on the key to these credentials",
        )
    if code == "IncorrectKeyException":
        return KeyUnwrapError(
            f"KMS key {key_id} cannot decrypt this object: its data key was wrapped under "
            "another KMS key",
            hint="Pass the KMS key the object was written with (--kms-key-id on the command line)",
        )
    if code == "InvalidCiphertextException":
        return KeyUnwrapError(
            "KMS rejected the wrapped data key: it, or its stored encryption context, was "
            "altered, or it belongs to another KMS key",
            hint="The object's metadata may have been tampered with",
        )
    if code in _THROTTLED:
        return KmsError(
            f"KMS kept throttling {operation} on key {key_id} ({code}: {message})",
            hint="botocore retried with backoff and gave up: lower the request rate, "
            "cache data keys (CachingMaterialsManager) or raise the KMS quota",
        )
    if code:
        return KmsError(f"KMS {operation} failed on key {key_id} ({code}: {message})")
    reason = unreachable(exc, "kms")
    if reason is not None:
        return KmsError(f"KMS {operation} failed on key {key_id}: {reason[0]}", hint=reason[1])
    return KmsError(
        f"KMS {operation} failed on key {key_id}: {exc}", hint="Check the KMS endpoint and network"
    )


_UNUSABLE_HINTS = {
    "DisabledException": "Enable the key ('aws kms enable-key') or use another one",
    "KMSInvalidStateException": (
        "A key pending deletion can be restored ('aws kms cancel-key-deletion', then "
        "'aws kms enable-key'); otherwise use another key"
    ),
    "KeyUnavailableException": "KMS cannot reach the key's key store now: retry later",
}


def _not_found(key_id: str, code: str, message: str) -> KmsKeyUnavailableError:
    """No such key or alias: often the right name in the wrong region or account."""
    if key_id.startswith("alias/") or ":alias/" in key_id:
        return KmsKeyUnavailableError(
            f"the KMS alias {key_id} does not exist ({code}: {message})",
            hint="Check the alias and the region (--region, AWS_REGION); list the aliases "
            "with 'aws kms list-aliases', or create it with 'aws kms create-alias' "
            "(locally: s3cse local create-kms-key --alias ALIAS)",
        )
    return KmsKeyUnavailableError(
        f"KMS key {key_id} does not exist ({code}: {message})",
        hint="Check the key id or ARN, the account and the region (--region, AWS_REGION)",
    )
