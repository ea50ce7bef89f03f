"""``s3cse cat``: decrypt objects to stdout."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..client import EncryptionClient
from ..errors import ConfigurationError
from .clients import KeyOptions
from .objects import S3Url
from .options import Sse, read_key_options, sse_c_hints, sse_options


@click.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@read_key_options
@sse_options()
def cat(urls: tuple[str, ...], **kwargs: Any) -> None:
    """Decrypt objects to stdout. An object with an integrity index streams, each 256 KiB
    chunk written once it verifies; any other is authenticated whole before any of its
    bytes are written (large ones are spooled to a temporary file first)."""
    options = KeyOptions.from_options(kwargs)
    sse = Sse.from_options(kwargs)
    targets = []
    for url in urls:
        target = S3Url.parse(url)
        if target is None or not target.key:
            raise ConfigurationError(f"cat takes s3://BUCKET/KEY, not {url!r}")
        targets.append(target)
    client = options.client(writing=False)
    for target in targets:
        cat_one(client, options, sse, target)


def cat_one(client: EncryptionClient, options: KeyOptions, sse: Sse, source: S3Url) -> None:
    with sse_c_hints(sse):
        response = client.get_object(
            Bucket=source.bucket,
            Key=source.key,
            EncryptionContext=options.context,
            IndexedStreaming=True,
            **sse.get_args(),
        )
    out = sys.stdout.buffer
    try:
        with response["Body"] as body:
            while piece := body.read1():
                out.write(piece)
    finally:  # what verified reaches stdout, even if a later chunk fails
        out.flush()
