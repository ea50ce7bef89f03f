"""``s3cse inspect``: how an object is encrypted, as JSON; needs no key."""

from __future__ import annotations

import json
from typing import Any

import click

from ..client import describe, fetch_content_metadata, translate_s3_error
from ..core import listing
from ..errors import ConfigurationError, NotEncryptedError
from .clients import s3_client
from .keyused import KeyUse
from .objects import S3Url, has_integrity_index, head, s3_errors
from .options import (
    Sse,
    aws_options,
    endpoint_option,
    key_use_options,
    sse_c_hints,
    sse_options,
)


@click.command()
@click.argument("url")
@endpoint_option
@click.option(
    "--show-bytes",
    default=0,
    show_default=True,
    help="Also print the first N stored (ciphertext) bytes, in hex.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="JSON output (the default; accepted for symmetry with ls and rotate).",
)
@sse_options()
@key_use_options
@aws_options
def inspect(
    url: str,
    endpoint_url: str | None,
    show_bytes: int,
    as_json: bool,
    region: str | None,
    profile: str | None,
    **kwargs: Any,
) -> None:
    """Describe how an object is encrypted, as JSON (needs no key; never shows key
    material). An unencrypted object is reported as such ("format": "plain").

    Given a key (--kms-discovery with --kms-allow, --kms-key-id, a key file), it also
    unwraps the data key, under the checks of a read, and names the key that did
    ("key_used": for KMS the key's ARN as KMS answered); no content is read."""
    sse = Sse.from_options(kwargs)
    use = KeyUse.from_options(kwargs, region, profile)
    sse_c = sse.get_args()
    target = S3Url.parse(url)
    if target is None or not target.key:
        raise ConfigurationError("inspect takes s3://BUCKET/KEY")
    s3 = s3_client(endpoint_url, profile, region)
    with sse_c_hints(sse):
        response = head(s3, target.bucket, target.key, sse_c)
        info: dict[str, Any] = {"object": str(target), "stored_size": response["ContentLength"]}
        info.update(_encryption_info(s3, target, response, sse_c, use))
        info["integrity_index"] = has_integrity_index(s3, target, sse_c)
        info["s3_metadata"] = response.get("Metadata", {})
        if response.get("ServerSideEncryption") or response.get("SSECustomerAlgorithm"):
            info["server_side_encryption"] = response.get("ServerSideEncryption") or "SSE-C"
        if show_bytes > 0:
            try:
                raw = s3.get_object(
                    Bucket=target.bucket, Key=target.key, Range=f"bytes=0-{show_bytes - 1}", **sse_c
                )["Body"].read()
            except s3_errors() as exc:
                raise translate_s3_error(exc, target.bucket, target.key, "read") from None
            info["stored_bytes_hex"] = raw.hex()
    click.echo(json.dumps(info, indent=2))


def _encryption_info(
    s3: Any, url: S3Url, head: dict[str, Any], sse_c: dict[str, Any], use: KeyUse | None
) -> dict[str, Any]:
    """``describe`` of an encrypted object; an unencrypted one is said to be plain (and a
    folder marker to be one), which is an answer, not an error."""
    try:
        md = fetch_content_metadata(s3, url.bucket, url.key, head.get("Metadata", {}), sse_c=sse_c)
    except NotEncryptedError:
        info: dict[str, Any] = {"format": "plain", "encrypted": False}
        if listing.is_folder_marker(url.key, int(head.get("ContentLength") or 0)):
            info["folder_marker"] = True
        return info
    return {**describe(md), "encrypted": True, **(use(md) if use is not None else {})}
