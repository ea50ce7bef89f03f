"""AWS KMS keyring: data keys from GenerateDataKey, unwrapped with Decrypt.

Request building and response checking are pure functions; the KMS call itself is one
method (``_call``, and ``_acall`` for the async client), so both shells reuse the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from ..core.materials import (
    DecryptionRequest,
    EncryptionMaterials,
    EncryptionRequest,
    Keyring,
    check_legacy_wrap,
    require_ascii_map,
)
from ..core.metadata import WRAP_KMS_CONTEXT, WRAP_KMS_V1
from ..errors import (
    ConfigurationError,
    EncryptionContextMismatchError,
    KeyUnwrapError,
    KmsAccessDeniedError,
    KmsError,
    KmsKeyUnavailableError,
    MetadataError,
    S3CSEError,
    excerpt,
    revealing_values,
)
from ..io.awsenv import CREDENTIAL_CODES, CREDENTIALS_HINT, unreachable
from ..io.retries import aio_botocore_config, botocore_config

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


def decrypt_request(key_id: str, request: DecryptionRequest, legacy: bool) -> dict[str, Any]:
    """Decrypt parameters, after checking the stored context against the expected one.

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
    return {"KeyId": key_id, "CiphertextBlob": md.encrypted_data_key, "EncryptionContext": stored}


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


def encrypt_request(key_id: str, request: EncryptionRequest, data_key: bytes) -> dict[str, Any]:
    """Encrypt parameters that re-wrap an existing data key, with the same context rules."""
    params = generate_request(key_id, request)
    return {
        "KeyId": key_id,
        "Plaintext": data_key,
        "EncryptionContext": params["EncryptionContext"],
    }


def answer_field(response: Mapping[str, Any], name: str, key_id: str, operation: str) -> bytes:
    """A binary field KMS must have answered with. botocore hands back a 200 whose body
    was cut short (or whose headers were) as a response without its fields."""
    value = response.get(name)
    if not isinstance(value, bytes) or not value:
        raise KmsError(
            f"KMS answered {operation} on key {key_id} without its {name}: the response "
            "was cut short or is not a KMS answer",
            hint="Retry; if it persists, check what sits between s3cse and the KMS endpoint",
        )
    return value


def materials_from(
    key_id: str,
    request: EncryptionRequest,
    params: Mapping[str, Any],
    response: Mapping[str, Any],
    data_key: bytes | None = None,
) -> EncryptionMaterials:
    """Materials from a GenerateDataKey (or, given ``data_key``, an Encrypt) response."""
    operation = "GenerateDataKey" if data_key is None else "Encrypt"
    return EncryptionMaterials(
        suite=request.suite,
        data_key=answer_field(response, "Plaintext", key_id, operation)
        if data_key is None
        else data_key,
        encrypted_data_key=answer_field(response, "CiphertextBlob", key_id, operation),
        wrap_alg=WRAP_KMS_CONTEXT,
        context=dict(params["EncryptionContext"]),
    )


KmsOperation = Literal["generate_data_key", "encrypt", "decrypt"]


class KmsClient(Protocol):
    """The calls a KMS keyring makes: a boto3 KMS client has them (``AsyncKmsKeyring``:
    an aiobotocore one, whose calls are awaited). Typed loosely so that clients typed by
    stubs fit, while an object lacking one of them is caught by a type checker."""

    @property
    def generate_data_key(self) -> Callable[..., Any]: ...

    @property
    def encrypt(self) -> Callable[..., Any]: ...

    @property
    def decrypt(self) -> Callable[..., Any]: ...


class KmsKeyring(Keyring):
    """Writes ``kms+context``; reads it and, with legacy on, V1-era ``kms``.

    Every operation is pure request building, one KMS call (``_call``, or ``_acall``
    for the async client: by default the same call on a worker thread) and pure
    response checking. ``AsyncKmsKeyring`` makes the call with an aiobotocore client.
    """

    def __init__(self, key_id: str, *, kms_client: KmsClient | None = None) -> None:
        if not key_id:
            raise ConfigurationError("a KMS keyring needs a key id, ARN or alias")
        self.key_id = key_id
        self._client = kms_client

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_id={self.key_id!r})"

    @property
    def client(self) -> KmsClient:
        if self._client is None:
            import boto3

            self._client = boto3.client("kms", config=botocore_config())
        return self._client

    def wrap_algorithms(self) -> frozenset[str]:
        return frozenset({WRAP_KMS_CONTEXT, WRAP_KMS_V1})

    def on_encrypt(self, request: EncryptionRequest) -> EncryptionMaterials:
        params = generate_request(self.key_id, request)
        return materials_from(self.key_id, request, params, self._call("generate_data_key", params))

    def wrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        """KMS Encrypt of an existing data key under this key, with the same context rules."""
        params = encrypt_request(self.key_id, request, data_key)
        return materials_from(self.key_id, request, params, self._call("encrypt", params), data_key)

    def on_decrypt(self, request: DecryptionRequest) -> bytes:
        params = decrypt_request(self.key_id, request, request.legacy)
        return answer_field(self._call("decrypt", params), "Plaintext", self.key_id, "Decrypt")

    async def aon_encrypt(self, request: EncryptionRequest) -> EncryptionMaterials:
        params = generate_request(self.key_id, request)
        return materials_from(
            self.key_id, request, params, await self._acall("generate_data_key", params)
        )

    async def awrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        params = encrypt_request(self.key_id, request, data_key)
        return materials_from(
            self.key_id, request, params, await self._acall("encrypt", params), data_key
        )

    async def aon_decrypt(self, request: DecryptionRequest) -> bytes:
        params = decrypt_request(self.key_id, request, request.legacy)
        return answer_field(
            await self._acall("decrypt", params), "Plaintext", self.key_id, "Decrypt"
        )

    def _call(self, operation: KmsOperation, params: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response: dict[str, Any] = getattr(self.client, operation)(**params)
        except (ClientError, BotoCoreError) as exc:
            raise translate_kms_error(exc, self.key_id, operation) from None
        return response

    async def _acall(self, operation: KmsOperation, params: dict[str, Any]) -> dict[str, Any]:
        """A boto3 client blocks: keep it off the event loop."""
        return await asyncio.to_thread(self._call, operation, params)


class AsyncKmsKeyring(KmsKeyring):
    """The KMS keyring of the async client: KMS is called with an aiobotocore client.

    Give it an open aiobotocore KMS client (``kms_client=``), or let it open its own on
    first use (endpoint from ``AWS_ENDPOINT_URL_KMS`` as usual), closed by ``aclose()``
    (``AsyncEncryptionClient.create`` does that on exit).
    """

    def __init__(self, key_id: str, *, kms_client: KmsClient | None = None) -> None:
        super().__init__(key_id, kms_client=kms_client)
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._opening: asyncio.Lock | None = None

    @property
    def client(self) -> KmsClient:
        if self._client is None:
            raise ConfigurationError(
                "AsyncKmsKeyring works with AsyncEncryptionClient only; the sync client "
                "takes KmsKeyring"
            )
        return self._client

    def _call(self, operation: KmsOperation, params: dict[str, Any]) -> dict[str, Any]:
        raise ConfigurationError(
            "AsyncKmsKeyring works with AsyncEncryptionClient only; the sync client takes "
            "KmsKeyring"
        )

    async def _acall(self, operation: KmsOperation, params: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:  # opening the client fails too when no region is set
            client = await self._aclient()
            response: dict[str, Any] = await getattr(client, operation)(**params)
        except (ClientError, BotoCoreError) as exc:
            raise translate_kms_error(exc, self.key_id, operation) from None
        return response

    async def _aclient(self) -> KmsClient:
        if self._client is not None:
            return self._client
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._client is None:
                from aiobotocore.session import get_session

                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(
                    get_session().create_client("kms", config=aio_botocore_config())
                )
                self._exit_stack = stack
        return self.client

    async def aclose(self) -> None:
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            self._client = None
            await stack.aclose()
