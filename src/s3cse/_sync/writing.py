# Generated from s3cse/_async/writing.py by scripts/unasync.py: edit that file instead.
"""Writing an encrypted object in one request through a session: the checks, the data
key, the ciphertext with its length, then the sidecars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import requests
from ..errors import S3CSEError
from ..io.backends import (
    PutBody,
    both,
    encrypt_body,
    put_source,
    upload_args,
)
from .session import Session


def put_object(
    session: Session,
    bucket: str,
    key: str,
    body: PutBody,
    context: Mapping[str, str] | None,
    instruction_file: bool | None,
    integrity_index: bool | None,
    kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """Encrypt ``body`` and store it with PutObject (``kwargs``), then its sidecars."""
    config = session.config
    plan = requests.plan_put(config, kwargs, context, instruction_file, integrity_index)
    source, length = put_source(body)
    requests.check_plaintext_limit(length, config.write_suite)
    writes_sidecars = bool(plan.sidecar_suffixes())
    stale = session.prepare_sidecars(bucket, key, plan) if writes_sidecars else []
    materials = session.encryption_materials(plan.encryption_request(config, length))
    sealed = requests.seal_put(plan, materials, config)
    ciphertext = encrypt_body(source, sealed, config)

    def store() -> dict[str, Any]:
        try:
            return session.call(
                "put_object",
                bucket,
                key,
                "upload",
                ContentLength=ciphertext.length,
                **upload_args(session.s3, ciphertext.stream, sealed.args),
                **sealed.args,
            )
        finally:
            ciphertext.close()

    def stale_beside() -> list[str]:
        try:
            return session.prepare_sidecars(bucket, key, plan)
        except S3CSEError:
            return []  # removing stale sidecars is best effort; this write stands

    if writes_sidecars:
        response = store()
    else:
        # Nothing of this write lands under a sidecar's name, so there is nothing to
        # refuse beforehand: the look for the old version's sidecars runs beside the PUT
        # instead of before it, and a small write costs one round trip, not two.
        stale, response = both(stale_beside, store)
    session.finish_sidecars(bucket, key, sealed, ciphertext.length, ciphertext.macs(), stale)
    return response
