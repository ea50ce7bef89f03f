"""The async client: client-side encryption around an aiobotocore S3 client.

``AsyncEncryptionClient`` has the sync client's operations and options, awaited::

    async with AsyncEncryptionClient.create(AsyncKmsKeyring("alias/data")) as client:
        await client.put_object(Bucket="b", Key="k", Body=b"...")
        response = await client.get_object(Bucket="b", Key="k")
        data = await response["Body"].read()

The sync client is generated from this one (``_async/`` to ``_sync/``): every request,
check, key, range plan and cipher is the same code; only the waiting differs. Key
wrapping is awaited through the materials manager's async entry points
(``aencryption_materials``, ``adecrypt_data_key``), so ``AsyncKmsKeyring`` calls KMS with
aiobotocore; raw AES/RSA keyrings compute in place.

Nothing blocks the event loop for long: bodies of known length are encrypted as aiohttp
reads them (on its worker threads), pipes are spooled on a worker thread, and the checksum
S3 expects is computed there too. (Over plain ``http://`` botocore still hashes each
request body for SigV4 on the loop; real S3 endpoints are ``https://``.)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from ._async.client import AsyncEncryptionClient as _AsyncEncryptionClient
from ._async.reader import AsyncObjectReader
from ._async.session import fetch_content_metadata, probe_sidecar, probe_sidecars
from ._async.streams import AsyncDecryptedBody
from .core.config import CryptoConfig, CryptoOptions
from .core.materials import Keyring, MaterialsManager
from .io.retries import aio_botocore_config

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "AsyncDecryptedBody",
    "AsyncEncryptionClient",
    "AsyncObjectReader",
    "afetch_content_metadata",
    "aprobe_sidecar",
    "aprobe_sidecars",
]

afetch_content_metadata = fetch_content_metadata
aprobe_sidecar = probe_sidecar
aprobe_sidecars = probe_sidecars


class AsyncEncryptionClient(_AsyncEncryptionClient):
    """Client-side encryption around an aiobotocore S3 client.

    Give it a keyring (``AsyncKmsKeyring``, ``AesKeyring``, ``RsaKeyring`` or a
    ``MultiKeyring``) or a materials manager, an open aiobotocore S3 client, and
    optionally a ``CryptoConfig`` or its fields as keyword arguments (``CryptoOptions``).
    Or let ``AsyncEncryptionClient.create(...)`` open (and close) the S3 client.
    """

    @classmethod
    @contextlib.asynccontextmanager
    async def create(
        cls,
        keyring: Keyring | None = None,
        *,
        materials: MaterialsManager | None = None,
        config: CryptoConfig | None = None,
        session: Any = None,
        s3_client_args: Mapping[str, Any] | None = None,
        **options: Unpack[CryptoOptions],
    ) -> AsyncIterator[AsyncEncryptionClient]:
        """A client with its own aiobotocore S3 client, closed on exit with any KMS
        client its keyrings opened. The endpoint comes from ``AWS_ENDPOINT_URL_S3``
        (or ``s3_client_args={"endpoint_url": ...}``), as for boto3."""
        args = dict(s3_client_args or {})
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3")
        if endpoint and "endpoint_url" not in args:
            args["endpoint_url"] = endpoint
        args.setdefault("config", aio_botocore_config())
        if session is None:
            from aiobotocore.session import get_session

            session = get_session()
        async with session.create_client("s3", **args) as s3:
            client = cls(keyring, materials=materials, s3_client=s3, config=config, **options)
            try:
                yield client
            finally:
                await client.materials.aclose()
