"""Writing an encrypted object in one request through a session: the checks, the data
key, the ciphertext with its length, then the sidecars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import requests
from ..io.backends import AsyncPutBody, async_encrypt_body, async_put_source, async_upload_args
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
    stale = await session.prepare_sidecars(bucket, key, plan)
    materials = await session.encryption_materials(plan.encryption_request(config, length))
    sealed = requests.seal_put(plan, materials, config)
    ciphertext = await async_encrypt_body(source, sealed, config)
    try:
        response = await session.call(
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
    await session.finish_sidecars(bucket, key, sealed, ciphertext.length, ciphertext.macs(), stale)
    return response
