"""Writing an encrypted object in one request through a session: the checks, the data
key, the ciphertext with its length, then the sidecars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import requests
from ..errors import S3CSEError
from ..io.backends import (
    AsyncPutBody,
    async_both,
    async_encrypt_body,
    async_put_source,
    async_upload_args,
)
from .session import AsyncSession


async def put_object(
    session: AsyncSession,
    bucket: str,
    key: str,
    body: AsyncPutBody,
    context: Mapping[str, str] | None,
    instruction_file: bool | None,
    integrity_index: bool | None,
    kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """Encrypt ``body`` and store it with PutObject (``kwargs``), then its sidecars."""
    config = session.config
    plan = requests.plan_put(config, kwargs, context, instruction_file, integrity_index)
    source, length = async_put_source(body)
    requests.check_plaintext_limit(length, config.write_suite)
    writes_sidecars = bool(plan.sidecar_suffixes())
    stale = await session.prepare_sidecars(bucket, key, plan) if writes_sidecars else []
    materials = await session.encryption_materials(plan.encryption_request(config, length))
    sealed = requests.seal_put(plan, materials, config)
    ciphertext = await async_encrypt_body(source, sealed, config)

    async def store() -> dict[str, Any]:
        try:
            return await session.call(
                "put_object",
                bucket,
                key,
                "upload",
                ContentLength=ciphertext.length,
                **await async_upload_args(session.s3, ciphertext.stream, sealed.args),
                **sealed.args,
            )
        finally:
            ciphertext.close()

    async def stale_beside() -> list[str]:
        try:
            return await session.prepare_sidecars(bucket, key, plan)
        except S3CSEError:
            return []  # removing stale sidecars is best effort; this write stands

    if writes_sidecars:
        response = await store()
    else:
        # Nothing of this write lands under a sidecar's name, so there is nothing to
        # refuse beforehand: the look for the old version's sidecars runs beside the PUT
        # instead of before it, and a small write costs one round trip, not two.
        stale, response = await async_both(stale_beside, store)
    await session.finish_sidecars(bucket, key, sealed, ciphertext.length, ciphertext.macs(), stale)
    return response
