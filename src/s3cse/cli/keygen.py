"""``s3cse keygen``: new master keys for the raw AES and RSA keyrings, written private
(mode 0600) and never over an existing file unless told."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import ConfigurationError
from ..keyrings.rsa import generate_rsa_pem
from .exits import fail


@click.group()
def keygen() -> None:
    """Generate master keys for the raw AES and RSA keyrings."""


def _write_secret(path: str, data: bytes, force: bool) -> None:
    target = Path(path)
    if target.exists() and not force:
        fail(ConfigurationError(f"{path} exists; pass --force to overwrite it"))
    # Replace, never rewrite in place: the old file may be readable by others.
    target.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(target, 0o600)


@keygen.command("aes")
@click.argument("file")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def keygen_aes(file: str, force: bool) -> None:
    """Write a new 256-bit AES key to FILE (base64 text, mode 0600)."""
    import base64

    _write_secret(file, base64.b64encode(os.urandom(32)) + b"\n", force)
    click.echo(f"wrote a 256-bit AES key to {file}")


@keygen.command("rsa")
@click.argument("file")
@click.option("--bits", default=3072, show_default=True, help="Key size (2048 or more).")
@click.option(
    "--public-out",
    type=click.Path(dir_okay=False),
    help="Also write the public key (PEM) here, for encrypt-only users.",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def keygen_rsa(file: str, bits: int, public_out: str | None, force: bool) -> None:
    """Write a new RSA private key to FILE (PEM, PKCS#8, mode 0600)."""
    from cryptography.hazmat.primitives import serialization

    try:
        pem = generate_rsa_pem(bits)
    except ConfigurationError as exc:
        fail(exc)
    _write_secret(file, pem, force)
    if public_out:
        private = serialization.load_pem_private_key(pem, password=None)
        Path(public_out).write_bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    click.echo(f"wrote a {bits}-bit RSA private key to {file}")
