"""The ``s3cse`` command: encrypted ``cp`` in the spirit of ``aws s3 cp``, key
generation, and the local S3 + KMS stack.

Exit codes: 0 success; 1 the operation failed; 2 bad usage or configuration;
3 the object failed authentication (tampered, or a wrong key commitment);
4 no such object or bucket.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import click

from . import local as local_stack
from .client import EncryptionClient, describe, fetch_content_metadata, translate_s3_error
from .config import CryptoConfig
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ObjectNotFoundError,
    S3CSEError,
)
from .keyrings import AesKeyring, KmsKeyring, RsaKeyring, load_aes_key_file, load_rsa_key_file
from .keyrings.rsa import generate_rsa_pem
from .materials import Keyring, MultiKeyring

EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND = 1, 2, 3, 4
F = TypeVar("F", bound=Callable[..., Any])


def _exit_code(exc: S3CSEError) -> int:
    if isinstance(exc, ConfigurationError):
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError):
        return EXIT_AUTH
    if isinstance(exc, ObjectNotFoundError):
        return EXIT_NOT_FOUND
    return EXIT_FAILED


def _fail(exc: S3CSEError) -> NoReturn:
    click.echo(f"s3cse: error: {exc}", err=True)
    if os.environ.get("S3CSE_DEBUG"):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    sys.exit(_exit_code(exc))


@dataclass(frozen=True)
class S3Url:
    bucket: str
    key: str

    @classmethod
    def parse(cls, text: str) -> S3Url | None:
        if not text.startswith("s3://"):
            return None
        bucket, _, key = text[5:].partition("/")
        if not bucket:
            raise ConfigurationError(f"{text!r} names no bucket: use s3://BUCKET/KEY")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _parse_context(pairs: Sequence[str]) -> dict[str, str]:
    context: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigurationError(f"--encryption-context takes KEY=VALUE, not {pair!r}")
        context[name] = value
    return context


def _parse_matdesc(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"--matdesc must be a JSON object, not {text!r}") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigurationError("--matdesc must be a JSON object of string values")
    return value


def key_options(func: F) -> F:
    """The options every command that encrypts or decrypts takes."""
    options = [
        click.option("--kms-key-id", help="AWS KMS key id, ARN or alias to wrap data keys."),
        click.option("--aes-key-file", type=click.Path(dir_okay=False),
                     help="File with a 256-bit AES key (32 raw bytes or base64)."),
        click.option("--rsa-key-file", type=click.Path(dir_okay=False),
                     help="PEM RSA key: the private key (a public key suffices to encrypt)."),
        click.option("--encryption-context", "encryption_context", multiple=True,
                     metavar="KEY=VALUE", help="KMS encryption context entry (repeatable)."),
        click.option("--matdesc", help="Material description (JSON) for AES/RSA keys."),
        click.option("--format", "fmt", type=click.Choice(["v3", "v2"]), default="v3",
                     show_default=True, help="Format to write; v3 commits to the key."),
        click.option("--instruction-file", is_flag=True,
                     help="Store the wrapped key in KEY.instruction, not in metadata."),
        click.option("--integrity-index", is_flag=True,
                     help="Also write KEY.s3cse-index: authenticated ranged reads."),
        click.option("--legacy", is_flag=True,
                     help="Allow reading legacy unauthenticated modes (CBC, kms, AESWrap, V1)."),
        click.option("--commitment-policy",
                     type=click.Choice([
                         "FORBID_ENCRYPT_ALLOW_DECRYPT",
                         "REQUIRE_ENCRYPT_ALLOW_DECRYPT",
                         "REQUIRE_ENCRYPT_REQUIRE_DECRYPT",
                     ], case_sensitive=False),
                     help="Key commitment policy (default follows --format)."),
        click.option("--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL_S3 or AWS)."),
        click.option("--kms-endpoint-url",
                     help="KMS endpoint (default: AWS_ENDPOINT_URL_KMS or AWS)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass
class KeyOptions:
    kms_key_id: str | None
    aes_key_file: str | None
    rsa_key_file: str | None
    encryption_context: tuple[str, ...]
    matdesc: str | None
    fmt: str
    instruction_file: bool
    integrity_index: bool
    legacy: bool
    commitment_policy: str | None
    endpoint_url: str | None
    kms_endpoint_url: str | None
    quiet: bool = False

    def keyrings(self) -> list[Keyring]:
        import boto3

        matdesc = _parse_matdesc(self.matdesc)
        rings: list[Keyring] = []
        if self.kms_key_id:
            kms = boto3.client("kms", endpoint_url=self.kms_endpoint_url)
            rings.append(KmsKeyring(self.kms_key_id, kms_client=kms))
        if self.aes_key_file:
            rings.append(AesKeyring(load_aes_key_file(self.aes_key_file), matdesc))
        if self.rsa_key_file:
            rings.append(RsaKeyring(load_rsa_key_file(self.rsa_key_file), matdesc))
        if not rings:
            raise ConfigurationError(
                "no key given: pass --kms-key-id, --aes-key-file or --rsa-key-file"
            )
        return rings

    def client(self, *, writing: bool) -> EncryptionClient:
        import boto3

        rings = self.keyrings()
        if writing and len(rings) > 1:
            raise ConfigurationError("to encrypt, give exactly one of the key options")
        keyring = rings[0] if len(rings) == 1 else MultiKeyring(rings)
        config = CryptoConfig(
            format=self.fmt,  # type: ignore[arg-type]
            commitment_policy=self.commitment_policy.upper() if self.commitment_policy
            else None,  # type: ignore[arg-type]
            legacy=self.legacy,
            instruction_file=self.instruction_file,
            integrity_index=self.integrity_index,
        )
        s3 = boto3.client("s3", endpoint_url=self.endpoint_url)
        return EncryptionClient(keyring, s3_client=s3, config=config)

    @property
    def context(self) -> dict[str, str]:
        return _parse_context(self.encryption_context)


def _key_options(kwargs: dict[str, Any]) -> KeyOptions:
    names = [name for name in KeyOptions.__dataclass_fields__ if name != "quiet"]
    return KeyOptions(**{name: kwargs.pop(name) for name in names})


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="s3cse")
def main() -> None:
    """Amazon S3 client-side encryption, compatible with the AWS S3 Encryption Clients."""


@main.command()
@click.argument("src")
@click.argument("dst")
@key_options
@click.option("--content-type", help="Content-Type to store with an upload.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def cp(src: str, dst: str, content_type: str | None, quiet: bool, **kwargs: Any) -> None:
    """Copy SRC to DST, encrypting on upload and decrypting on download.

    SRC and DST are local paths, - (stdin/stdout), or s3://BUCKET/KEY. A download is
    written to a temporary file beside DST and renamed only after the whole object has
    been authenticated; on any failure nothing is left at DST.
    """
    options = _key_options(kwargs)
    options.quiet = quiet
    try:
        source, target = S3Url.parse(src), S3Url.parse(dst)
        if source is None and target is None:
            raise ConfigurationError("one of SRC and DST must be s3://BUCKET/KEY")
        extra = {"ContentType": content_type} if content_type else {}
        if source is None and target is not None:
            target = _s3_target(target, src)
            done = _upload(options, src, target, extra)
        elif source is not None and target is None:
            done = _download(options, source, dst)
        else:
            assert source is not None and target is not None
            target = _s3_target(target, source.key)
            done = _copy(options, source, target, extra)
    except S3CSEError as exc:
        _fail(exc)
    if not quiet and done:
        click.echo(done, err=dst == "-")


def _s3_target(target: S3Url, source_name: str) -> S3Url:
    if not target.key or target.key.endswith("/"):
        if source_name == "-":
            raise ConfigurationError("uploading stdin needs a full s3://BUCKET/KEY")
        return S3Url(target.bucket, target.key + Path(source_name).name)
    return target


def _upload(options: KeyOptions, src: str, target: S3Url, extra: dict[str, Any]) -> str:
    client = options.client(writing=True)
    stream: IO[bytes]
    if src == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(src, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ConfigurationError(f"cannot read {src}: {exc.strerror}") from None
    size = None if src == "-" else os.path.getsize(src)
    with stream, _progress(f"upload {target}", size, options.quiet) as advance:
        client.upload_fileobj(
            stream, target.bucket, target.key, Callback=advance,
            ExtraArgs={"EncryptionContext": options.context, **extra},
        )
    return f"upload: {src} to {target}"


@contextlib.contextmanager
def _progress(label: str, total: int | None, quiet: bool) -> Iterator[Any]:
    """A progress bar on a terminal's stderr; silent when piped or asked to be quiet."""
    if not _shows_progress(quiet):
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TransferSpeedColumn,
    )

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), transient=True,
                  console=_stderr_console()) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.advance(task, done)


def _shows_progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _download(options: KeyOptions, source: S3Url, dst: str) -> str:
    client = options.client(writing=False)
    if dst == "-":
        response = client.get_object(
            Bucket=source.bucket, Key=source.key, EncryptionContext=options.context
        )
        with response["Body"] as body:
            for chunk in body.iter_chunks():
                sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return ""
    target = Path(dst)
    if target.is_dir() or dst.endswith(os.sep):
        target = target / Path(source.key).name
    try:
        size = client.head_object(Bucket=source.bucket, Key=source.key)["ContentLength"] \
            if _shows_progress(options.quiet) else None
        with _progress(f"download {source}", size, options.quiet) as advance:
            client.download_file(source.bucket, source.key, target, Callback=advance,
                                 EncryptionContext=options.context)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {target}: {exc.strerror or exc}") from None
    return f"download: {source} to {target}"


def _copy(options: KeyOptions, source: S3Url, target: S3Url, extra: dict[str, Any]) -> str:
    reader = options.client(writing=False)
    writer = options.client(writing=True)
    response = reader.get_object(
        Bucket=source.bucket, Key=source.key, EncryptionContext=options.context
    )
    if _has_integrity_index(reader, source):
        extra["IntegrityIndex"] = True  # a re-encrypted copy gets a fresh index too
    with response["Body"] as body:
        writer.upload_fileobj(body, target.bucket, target.key,
                              ExtraArgs={"EncryptionContext": options.context, **extra})
    return f"copy: {source} to {target}"


def _has_integrity_index(client: EncryptionClient, url: S3Url) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    from .index import SUFFIX

    try:
        client.s3.head_object(Bucket=url.bucket, Key=url.key + SUFFIX)
    except (ClientError, BotoCoreError):
        return False
    return True


@main.command()
@click.argument("url")
@click.option("--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL_S3 or AWS).")
@click.option("--show-bytes", default=0, show_default=True,
              help="Also print the first N stored (ciphertext) bytes, in hex.")
def inspect(url: str, endpoint_url: str | None, show_bytes: int) -> None:
    """Describe how an object is encrypted (needs no key; never shows key material)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        target = S3Url.parse(url)
        if target is None or not target.key:
            raise ConfigurationError("inspect takes s3://BUCKET/KEY")
        s3 = boto3.client("s3", endpoint_url=endpoint_url)
        try:
            head = s3.head_object(Bucket=target.bucket, Key=target.key)
        except (ClientError, BotoCoreError) as exc:
            raise translate_s3_error(exc, target.bucket, target.key, "head") from None
        md = fetch_content_metadata(s3, target.bucket, target.key, head.get("Metadata", {}))
        info: dict[str, Any] = {"object": str(target), "stored_size": head["ContentLength"]}
        info.update(describe(md))
        info["s3_metadata"] = head.get("Metadata", {})
        if show_bytes > 0:
            raw = s3.get_object(Bucket=target.bucket, Key=target.key,
                                Range=f"bytes=0-{show_bytes - 1}")["Body"].read()
            info["stored_bytes_hex"] = raw.hex()
    except S3CSEError as exc:
        _fail(exc)
    click.echo(json.dumps(info, indent=2))


@main.group()
def keygen() -> None:
    """Generate master keys for the raw AES and RSA keyrings."""


def _write_secret(path: str, data: bytes, force: bool) -> None:
    target = Path(path)
    if target.exists() and not force:
        _fail(ConfigurationError(f"{path} exists; pass --force to overwrite it"))
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
@click.option("--public-out", type=click.Path(dir_okay=False),
              help="Also write the public key (PEM) here, for encrypt-only users.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def keygen_rsa(file: str, bits: int, public_out: str | None, force: bool) -> None:
    """Write a new RSA private key to FILE (PEM, PKCS#8, mode 0600)."""
    from cryptography.hazmat.primitives import serialization

    try:
        pem = generate_rsa_pem(bits)
    except ConfigurationError as exc:
        _fail(exc)
    _write_secret(file, pem, force)
    if public_out:
        private = serialization.load_pem_private_key(pem, password=None)
        Path(public_out).write_bytes(private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ))
    click.echo(f"wrote a {bits}-bit RSA private key to {file}")


@main.group()
def local() -> None:
    """Run a local S3 (SeaweedFS) and KMS (moto server) on 127.0.0.1."""


state_dir_option = click.option(
    "--state-dir", default=local_stack.DEFAULT_STATE_DIR, show_default=True,
    help="Where the stack keeps its data, logs and PIDs.",
)


def _print_env(stack: local_stack.LocalStack) -> None:
    for name, value in stack.env().items():
        click.echo(f"export {name}={value}")


@local.command("start")
@state_dir_option
@click.option("--bucket", "buckets", multiple=True, help="Bucket to create (repeatable).")
def local_start(state_dir: str, buckets: tuple[str, ...]) -> None:
    """Start the stack and print the environment that points clients at it."""
    try:
        stack = local_stack.start(state_dir, buckets=buckets)
    except S3CSEError as exc:
        _fail(exc)
    click.echo(f"# local S3 at {stack.s3_endpoint}, KMS at {stack.kms_endpoint}", err=True)
    _print_env(stack)


def _running_stack(state_dir: str) -> local_stack.LocalStack:
    stack = local_stack.status(state_dir)
    if stack is None:
        _fail(S3CSEError("no local stack is running", hint="Start it with: s3cse local start"))
    return stack


@local.command("env")
@state_dir_option
def local_env(state_dir: str) -> None:
    """Print the environment for the running stack (use: eval "$(s3cse local env)")."""
    _print_env(_running_stack(state_dir))


@local.command("stop")
@state_dir_option
def local_stop(state_dir: str) -> None:
    """Stop the stack started from this state directory."""
    stopped = local_stack.stop(state_dir)
    click.echo("stopped the local stack" if stopped else "no local stack was running")


@local.command("create-kms-key")
@state_dir_option
def local_create_kms_key(state_dir: str) -> None:
    """Create a KMS key on the local stack and print its id."""
    import boto3

    stack = _running_stack(state_dir)
    env = stack.env()
    kms = boto3.client(
        "kms", endpoint_url=stack.kms_endpoint, region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    click.echo(kms.create_key(Description="s3cse local")["KeyMetadata"]["KeyId"])


if __name__ == "__main__":  # pragma: no cover
    main()
