"""``s3cse presign``: refused by default, since a presigned URL of a client-side
encrypted object hands out ciphertext; ``--ciphertext`` prints one anyway, with a
warning that says what it gives."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ConfigurationError
from ..io import awsenv
from .objects import S3Url, refuse_prefix
from .options import aws_options, endpoint_option
from .output import display_key

DEFAULT_EXPIRES = 3600
MAX_EXPIRES = 7 * 24 * 3600
"""The longest a Signature Version 4 presigned URL lives."""


@click.command()
@click.argument("url", metavar="s3://BUCKET/KEY")
@click.option(
    "--ciphertext",
    is_flag=True,
    help="Print the URL anyway: it gives the stored (encrypted) bytes, never the plaintext.",
)
@click.option(
    "--expires-in",
    type=click.IntRange(1, MAX_EXPIRES),
    default=DEFAULT_EXPIRES,
    show_default=True,
    help=f"Seconds until the URL expires (at most {MAX_EXPIRES}, 7 days).",
)
@endpoint_option
@aws_options
def presign(
    url: str,
    ciphertext: bool,
    expires_in: int,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """Refuse to presign an encrypted object, unless --ciphertext.

    The URL would let anyone fetch the object as S3 stores it: ciphertext. Its data key
    is wrapped under your master key (in the object's metadata, or in its instruction
    file, which the URL does not cover), so whoever holds the URL cannot decrypt it
    without the master key and an S3 encryption client. To share the plaintext,
    download it (s3cse cp) and share the file."""
    target = S3Url.parse(url)
    if target is None:
        raise ConfigurationError(f"presign takes s3://BUCKET/KEY, not {url!r}")
    refuse_prefix(target, "presign")
    if not ciphertext:
        raise ConfigurationError(
            f"a presigned URL of {target} would give its ciphertext, not its plaintext "
            "(the data key is wrapped under your master key and, in an instruction file, "
            "is not even covered by the URL)",
            hint="To share the plaintext, download it with s3cse cp and share the file; "
            "to hand out the encrypted bytes anyway, pass --ciphertext",
        )
    s3 = _signing_client(endpoint_url, profile, region)
    link = s3.generate_presigned_url(
        "get_object", Params={"Bucket": target.bucket, "Key": target.key}, ExpiresIn=expires_in
    )
    click.echo(
        display_key(
            f"s3cse: warning: this URL gives the stored, encrypted bytes of {target} to "
            f"whoever holds it, for {expires_in} seconds: decrypting them takes the master "
            "key and the object's metadata (or its instruction file, which the URL does not "
            "give)"
        ),
        err=True,
    )
    click.echo(link)


def _signing_client(endpoint_url: str | None, profile: str | None, region: str | None) -> Any:
    """An S3 client that presigns with Signature Version 4 (what every region takes, and
    what the expiry limit is for), where botocore may otherwise pick the legacy one."""
    from botocore.config import Config

    session = awsenv.session(profile, region)
    return session.client("s3", endpoint_url=endpoint_url, config=Config(signature_version="s3v4"))
