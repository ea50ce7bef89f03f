"""AWS KMS keyring: data keys from GenerateDataKey, unwrapped with Decrypt.

Request building (``kms_context``) and response checking are pure functions; the KMS
call itself is one method (``_call``, and ``_acall`` for the async client), so both
shells reuse the rest. Its failures become s3cse errors in ``kms_errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, Protocol

from ..core.materials import (
    DataKey,
    DecryptionRequest,
    EncryptionMaterials,
    EncryptionRequest,
    Keyring,
)
from ..core.metadata import WRAP_KMS_CONTEXT, WRAP_KMS_V1
from ..errors import ConfigurationError, KmsError
from ..io.retries import aio_botocore_config, botocore_config
from .kms_arns import AllowList, check_key_used, default_region, discovery_key_id, region_of
from .kms_context import V1_CONTEXT_KEY, decrypt_request, encrypt_request, generate_request
from .kms_errors import translate_kms_error

__all__ = [
    "AsyncKmsKeyring",
    "KmsClient",
    "KmsKeyring",
    "answer_field",
    "materials_from",
]


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

    With ``discovery``, Decrypt names no key: KMS uses the one the wrapped data key was
    made under (for a V1-era ``kms`` object, the ``kms_cmk_id`` it stores), and the key
    KMS says it used must be on ``allow`` (key ARNs, ``account:ID`` or
    ``account:PARTITION:ID``; see ``kms_arns``) before its data key is used. A
    discovery keyring writes only if it is also given ``key_id``.

    A key ARN's own Region is where its KMS client is made (unless ``kms_client`` is
    given), so the ARN of a multi-Region key's replica reads, in the replica's Region,
    what the primary wrapped elsewhere. ``region`` sets the discovery keyring's Region.
    """

    def __init__(
        self,
        key_id: str | None = None,
        *,
        kms_client: KmsClient | None = None,
        discovery: bool = False,
        allow: Iterable[str] = (),
        region: str | None = None,
    ) -> None:
        allow = [allow] if isinstance(allow, str) else list(allow)
        if not key_id and not discovery:
            raise ConfigurationError(
                "a KMS keyring needs a key id, ARN or alias, or discovery=True with an "
                "allow-list to read objects wrapped under any allowed key"
            )
        if allow and not discovery:
            raise ConfigurationError(
                "a KMS allow-list is for discovery: pass discovery=True (on the command "
                "line --kms-discovery) or drop it"
            )
        self.key_id = key_id or None
        self.region = region or region_of(key_id) or None
        self.discovery = discovery
        self.allow = AllowList.parse(allow, self.region or default_region()) if discovery else None
        self._client = kms_client

    def __repr__(self) -> str:
        if self.allow is None:
            return f"{type(self).__name__}(key_id={self.key_id!r})"
        return (
            f"{type(self).__name__}(key_id={self.key_id!r}, discovery=True, "
            f"allow={str(self.allow)!r})"
        )

    @property
    def client(self) -> KmsClient:
        if self._client is None:
            import boto3

            self._client = boto3.client("kms", region_name=self.region, config=botocore_config())
        return self._client

    def wrap_algorithms(self) -> frozenset[str]:
        return frozenset({WRAP_KMS_CONTEXT, WRAP_KMS_V1})

    def on_encrypt(self, request: EncryptionRequest) -> EncryptionMaterials:
        key_id = self._writing_key()
        params = generate_request(key_id, request)
        return materials_from(key_id, request, params, self._call("generate_data_key", params))

    def wrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        """KMS Encrypt of an existing data key under this key, with the same context rules."""
        key_id = self._writing_key()
        params = encrypt_request(key_id, request, data_key)
        return materials_from(key_id, request, params, self._call("encrypt", params), data_key)

    def on_decrypt(self, request: DecryptionRequest) -> bytes:
        params = self._decrypt_params(request)
        return self._data_key(params, self._call("decrypt", params))

    async def aon_encrypt(self, request: EncryptionRequest) -> EncryptionMaterials:
        key_id = self._writing_key()
        params = generate_request(key_id, request)
        return materials_from(
            key_id, request, params, await self._acall("generate_data_key", params)
        )

    async def awrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        key_id = self._writing_key()
        params = encrypt_request(key_id, request, data_key)
        return materials_from(
            key_id, request, params, await self._acall("encrypt", params), data_key
        )

    async def aon_decrypt(self, request: DecryptionRequest) -> bytes:
        params = self._decrypt_params(request)
        return self._data_key(params, await self._acall("decrypt", params))

    def _writing_key(self) -> str:
        if self.key_id is None:
            raise ConfigurationError(
                "a KMS discovery keyring only reads: give it a key id to write with "
                "(on the command line --kms-key-id beside --kms-discovery)"
            )
        return self.key_id

    def _decrypt_params(self, request: DecryptionRequest) -> dict[str, Any]:
        """Decrypt names this keyring's key; under discovery, none (KMS finds it in the
        wrapped key) or, for a V1-era ``kms`` object, the key it says it was wrapped
        under, refused before KMS is asked when that is plainly not allowed."""
        if self.allow is None:
            return decrypt_request(self.key_id, request, request.legacy)
        params = decrypt_request(None, request, request.legacy)
        if request.metadata.wrap_alg == WRAP_KMS_V1:
            claimed = request.metadata.context[V1_CONTEXT_KEY]
            params["KeyId"] = discovery_key_id(claimed, self.allow, self._region())
        return params

    def _region(self) -> str | None:
        """The Region KMS is asked in: the one given, else the client's."""
        meta = getattr(self._client, "meta", None) if self._client is not None else None
        return self.region or getattr(meta, "region_name", None) or default_region()

    def _data_key(self, params: Mapping[str, Any], response: Mapping[str, Any]) -> DataKey:
        """The data key KMS answered with, and the key it says it used; under discovery
        that key must be allowed, else the data key is dropped unused."""
        name = self._key_name(params)
        plaintext = answer_field(response, "Plaintext", name, "Decrypt")
        answered = response.get("KeyId")
        used = answered if isinstance(answered, str) and answered else None
        if self.allow is not None:
            check_key_used(used, self.allow)
        return DataKey(plaintext, used or self.key_id)

    def _key_name(self, params: Mapping[str, Any]) -> str:
        """The key a request is about, as error messages name it."""
        return str(params.get("KeyId") or self.key_id or "(the one the wrapped data key names)")

    def _call(self, operation: KmsOperation, params: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response: dict[str, Any] = getattr(self.client, operation)(**params)
        except (ClientError, BotoCoreError) as exc:
            raise translate_kms_error(exc, self._key_name(params), operation) from None
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

    _exit_stack: contextlib.AsyncExitStack | None = None
    """What closes the client this keyring opened itself (none until it does)."""
    _opening: asyncio.Lock | None = None

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
            raise translate_kms_error(exc, self._key_name(params), operation) from None
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
                    get_session().create_client(
                        "kms", region_name=self.region, config=aio_botocore_config()
                    )
                )
                self._exit_stack = stack
        return self.client

    async def aclose(self) -> None:
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            self._client = None
            await stack.aclose()
