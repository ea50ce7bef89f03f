"""The ``s3cse`` command, in the spirit of ``aws s3``: encrypted ``cp`` (single objects
and ``--recursive``), ``ls``, ``cat``, ``rm``, ``inspect``, bulk key ``rotate`` and
legacy ``migrate``, key generation, and the local S3 + KMS stack.

Exit codes: 0 success; 1 the operation failed (for commands over many objects: at least
one object failed); 2 bad usage or configuration, or (as with ``aws s3``) files skipped
with a warning by ``cp --recursive``, the rest copied; 3 the object failed authentication
(tampered, or a wrong key commitment); 4 no such object or bucket; 130 / 143 interrupted
by Ctrl-C / SIGTERM (after removing unverified files and aborting multipart uploads).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from typing import IO, Any, NoReturn, TypeVar

import click

from .client import (
    EncryptionClient,
    describe,
    fetch_content_metadata,
    listing_with_sidecars,
    probe_sidecar,
    translate_s3_error,
)
from .core import sidecars
from .core.config import CryptoConfig
from .core.materials import (
    DecryptionRequest,
    EncryptionMaterials,
    EncryptionRequest,
    Keyring,
    MaterialsManager,
    MultiKeyring,
)
from .core.requests import assumed_plaintext_size
from .core.sidecars import INDEX_SUFFIX, INSTRUCTION_SUFFIX
from .display import display_key, display_message
from .errors import (
    AuthenticationError,
    ConfigurationError,
    DestinationError,
    EncryptionContextMismatchError,
    InvalidRangeError,
    KmsError,
    LocalPathError,
    NotEncryptedError,
    ObjectNotFoundError,
    S3CSEError,
    S3RequestError,
    located,
)
from .io import awsenv
from .io.paths import PathClaims, local_name, prepare_parent
from .io.tree import Skipped, walk_tree
from .keyrings import (
    read_aes_key,
)
from .keyrings.raw import KeyFileNames
from .keyrings.rsa import generate_rsa_pem
from .local import stack as local_stack
from .transfer import stop_all_transfers

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND = 0, 1, 2, 3, 4
EXIT_SKIPPED = 2  # as aws s3: files were skipped with a warning, the rest was copied
F = TypeVar("F", bound=Callable[..., Any])
Callback = Callable[[int], None]

_DEBUG = False
# S3 deletes at most 1000 keys per request.
_DELETE_BATCH = 1000


def _debugging() -> bool:
    return _DEBUG or bool(os.environ.get("S3CSE_DEBUG"))


def _exit_code(exc: S3CSEError) -> int:
    if isinstance(exc, (ConfigurationError, DestinationError)):
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError):
        return EXIT_AUTH
    if isinstance(exc, ObjectNotFoundError):
        return EXIT_NOT_FOUND
    return EXIT_FAILED


def _print_traceback(exc: BaseException) -> None:
    import traceback

    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def _error_line(error: object) -> str:
    """``s3cse: error: ...``, with what the message quotes from S3 made terminal-safe."""
    return f"s3cse: error: {display_message(str(error))}"


def _fail(exc: S3CSEError) -> NoReturn:
    click.echo(_error_line(exc), err=True)
    if _debugging():
        _print_traceback(exc)
    sys.exit(_exit_code(exc))


def _unexpected(exc: BaseException) -> str:
    """One line for an error s3cse did not anticipate (botocore's are already readable)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, (BotoCoreError, ClientError)):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"unexpected {type(exc).__name__}: {exc} (run with --debug for a traceback)"


class _Main(click.Group):
    """Every error ends as one ``s3cse: error:`` line and an exit code, never a traceback
    (unless ``--debug`` or ``S3CSE_DEBUG``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with _terminate_as_interrupt():
                return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except S3CSEError as exc:
            _fail(exc)
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            click.echo(
                f"s3cse: {'terminated' if signum == signal.SIGTERM else 'interrupted'}", err=True
            )
            sys.exit(128 + signum)
        except BrokenPipeError:
            # the reader went away (``s3cse cat ... | head``): stop quietly
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_FAILED)
        except Exception as exc:
            click.echo(_error_line(_unexpected(exc)), err=True)
            if _debugging():
                _print_traceback(exc)
            sys.exit(EXIT_FAILED)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C raises ``KeyboardInterrupt``, so that
    the same clean-up runs: unverified download files go, multipart uploads are aborted."""

    signum = signal.SIGTERM


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> NoReturn:
    # one SIGTERM starts the clean-up; more would only cut it short (SIGKILL still works)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Terminated


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


def _parse_matdesc(text: str | None, option: str = "--matdesc") -> dict[str, str] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"{option} must be a JSON object, not {text!r}") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigurationError(f"{option} must be a JSON object of string values")
    return value


def _add_options(func: F, options: Sequence[Callable[[F], F]]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def _aws_option_list() -> list[Callable[[F], F]]:
    return [
        click.option(
            "--region",
            help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's).",
        ),
        click.option(
            "--profile",
            help="AWS profile from the AWS config and credentials files "
            "(default: AWS_PROFILE, else the default chain).",
        ),
    ]


def aws_options(func: F) -> F:
    """Which AWS account and region a command talks to, as ``aws`` takes them."""
    return _add_options(func, _aws_option_list())


def _key_source_options() -> list[Callable[[F], F]]:
    return [
        click.option("--kms-key-id", help="AWS KMS key id, ARN or alias to wrap data keys."),
        click.option(
            "--aes-key-file",
            type=click.Path(dir_okay=False),
            help="File with a 256-bit AES key (32 raw bytes or base64).",
        ),
        click.option(
            "--rsa-key-file",
            type=click.Path(dir_okay=False),
            help="PEM RSA key: the private key (a public key suffices to encrypt).",
        ),
        click.option(
            "--encryption-context",
            "encryption_context",
            multiple=True,
            metavar="KEY=VALUE",
            help="KMS encryption context entry (repeatable).",
        ),
        click.option("--matdesc", help="Material description (JSON) for AES/RSA keys."),
    ]


def _write_format_options() -> list[Callable[[F], F]]:
    return [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["v3", "v2"]),
            default="v3",
            show_default=True,
            help="Format to write; v3 commits to the key.",
        ),
        click.option(
            "--instruction-file",
            is_flag=True,
            help="Store the wrapped key in KEY.instruction, not in metadata.",
        ),
        click.option(
            "--integrity-index",
            is_flag=True,
            help="Also write KEY.s3cse-index: authenticated ranged reads.",
        ),
    ]


def _read_policy_options(policy_default: str) -> list[Callable[[F], F]]:
    return [
        click.option(
            "--legacy",
            is_flag=True,
            help="Allow reading legacy unauthenticated modes (CBC, kms, AESWrap, V1).",
        ),
        click.option(
            "--commitment-policy",
            type=click.Choice(
                [
                    "FORBID_ENCRYPT_ALLOW_DECRYPT",
                    "REQUIRE_ENCRYPT_ALLOW_DECRYPT",
                    "REQUIRE_ENCRYPT_REQUIRE_DECRYPT",
                ],
                case_sensitive=False,
            ),
            help=f"Key commitment policy (default {policy_default}).",
        ),
        click.option("--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL_S3 or AWS)."),
        click.option(
            "--kms-endpoint-url", help="KMS endpoint (default: AWS_ENDPOINT_URL_KMS or AWS)."
        ),
    ]


def key_options(func: F) -> F:
    """The options of a command that encrypts and decrypts (``cp``)."""
    return _add_options(
        func,
        [
            *_key_source_options(),
            *_write_format_options(),
            *_read_policy_options("follows --format"),
            *_aws_option_list(),
        ],
    )


def read_key_options(func: F) -> F:
    """The options of a command that only decrypts (``cat``): nothing about writing."""
    return _add_options(
        func,
        [
            *_key_source_options(),
            *_read_policy_options("REQUIRE_ENCRYPT_REQUIRE_DECRYPT"),
            *_aws_option_list(),
        ],
    )


CLI_KEY_FILES = KeyFileNames("--aes-key-file", "--rsa-key-file")
CLI_TARGET_KEY_FILES = KeyFileNames("--to-aes-key-file", "--to-rsa-key-file")


@dataclass
class KeyOptions:
    kms_key_id: str | None
    aes_key_file: str | None
    rsa_key_file: str | None
    encryption_context: tuple[str, ...]
    matdesc: str | None
    legacy: bool
    commitment_policy: str | None
    endpoint_url: str | None
    kms_endpoint_url: str | None
    region: str | None
    profile: str | None
    fmt: str = "v3"
    instruction_file: bool = False
    integrity_index: bool = False
    quiet: bool = False

    def keyrings(self, *, private: bool = False) -> list[Keyring]:
        if not (self.kms_key_id or self.aes_key_file or self.rsa_key_file):
            raise ConfigurationError(
                "no key given: pass --kms-key-id, --aes-key-file or --rsa-key-file"
            )
        from .lifecycle import KeySpec

        matdesc = _parse_matdesc(self.matdesc) or {}
        return KeySpec(
            self.kms_key_id,
            self.aes_key_file,
            self.rsa_key_file,
            tuple(sorted(matdesc.items())),
            self.kms_endpoint_url,
            region=self.region,
            profile=self.profile,
            names=CLI_KEY_FILES,
        ).keyrings(private=private)

    def client(self, *, writing: bool, cache: bool = False) -> EncryptionClient:
        rings = self.keyrings(private=not writing)
        if writing and len(rings) > 1:
            raise ConfigurationError("to encrypt, give exactly one of the key options")
        keyring = rings[0] if len(rings) == 1 else MultiKeyring(rings)
        config = CryptoConfig(
            format=self.fmt,  # type: ignore[arg-type]
            commitment_policy=self.commitment_policy.upper() if self.commitment_policy else None,  # type: ignore[arg-type]
            legacy=self.legacy,
            instruction_file=self.instruction_file,
            integrity_index=self.integrity_index,
        )
        s3 = awsenv.client(
            "s3", endpoint_url=self.endpoint_url, profile=self.profile, region=self.region
        )
        if cache:
            from .keyrings.cache import CachingMaterialsManager

            if writing and self.fmt != "v3":
                raise ConfigurationError(
                    "--cache-data-keys writes format v3 only: with v2 many objects would "
                    "share one key, random IVs and no key commitment"
                )
            return EncryptionClient(
                materials=CachingMaterialsManager(keyring), s3_client=s3, config=config
            )
        return EncryptionClient(keyring, s3_client=s3, config=config)

    @property
    def context(self) -> dict[str, str]:
        return _parse_context(self.encryption_context)


def _key_options(kwargs: dict[str, Any]) -> KeyOptions:
    """The key options a command took (a reading-only command takes no format options)."""
    fields = KeyOptions.__dataclass_fields__
    given = {name: kwargs.pop(name) for name in fields if name != "quiet" and name in kwargs}
    return KeyOptions(**given)


# ---------------------------------------------------------------------------- SSE


def sse_options(*, writes: bool = False, copies: bool = False) -> Callable[[F], F]:
    """Server-side encryption on top of client-side: SSE-S3, SSE-KMS or SSE-C."""
    options: list[Callable[[F], F]] = []
    if writes:
        options += [
            click.option(
                "--sse",
                type=click.Choice(["AES256", "aws:kms"]),
                help="Also encrypt server-side: AES256 (SSE-S3) or aws:kms (SSE-KMS).",
            ),
            click.option(
                "--sse-kms-key-id", help="KMS key for --sse aws:kms (default: the AWS managed key)."
            ),
        ]
    options.append(
        click.option(
            "--sse-c-key-file",
            type=click.Path(dir_okay=False),
            help="SSE-C: file with the 256-bit customer key (32 raw bytes or base64), sent "
            "with every request for the object and its sidecars.",
        )
    )
    if copies:
        options.append(
            click.option(
                "--sse-c-copy-source-key-file",
                type=click.Path(dir_okay=False),
                help="SSE-C key of the source objects of an s3:// to s3:// copy.",
            )
        )
    return lambda func: _add_options(func, options)


@dataclass(frozen=True)
class Sse:
    mode: str | None = None
    kms_key_id: str | None = None
    customer_key: bytes | None = field(default=None, repr=False)
    source_customer_key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_options(cls, kwargs: dict[str, Any]) -> Sse:
        mode, kms_key_id = kwargs.pop("sse", None), kwargs.pop("sse_kms_key_id", None)
        key_file = kwargs.pop("sse_c_key_file", None)
        source_file = kwargs.pop("sse_c_copy_source_key_file", None)
        if kms_key_id and mode != "aws:kms":
            raise ConfigurationError("--sse-kms-key-id goes with --sse aws:kms")
        if mode and key_file:
            raise ConfigurationError(
                "--sse and --sse-c-key-file exclude each other: an object has one kind of "
                "server-side encryption"
            )
        return cls(
            mode,
            kms_key_id,
            _load_sse_c_key(key_file) if key_file else None,
            _load_sse_c_key(source_file) if source_file else None,
        )

    def put_args(self) -> dict[str, Any]:
        """For objects written: PutObject / CreateMultipartUpload arguments."""
        args: dict[str, Any] = {}
        if self.mode:
            args["ServerSideEncryption"] = self.mode
        if self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return {**args, **_customer_key_args(self.customer_key)}

    def get_args(self) -> dict[str, Any]:
        """For the objects a command reads (HEAD, GET, instruction files, indexes)."""
        return _customer_key_args(self.customer_key)

    def source_args(self) -> dict[str, Any]:
        """For the sources of an s3:// to s3:// copy."""
        return _customer_key_args(self.source_customer_key)


def _customer_key_args(key: bytes | None) -> dict[str, Any]:
    # botocore adds SSECustomerKeyMD5 and base64-encodes the key itself
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key} if key else {}


def _load_sse_c_key(path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read SSE-C key file {path}: {exc.strerror}") from None
    try:
        key = read_aes_key(data)
    except ConfigurationError:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(
            f"SSE-C key file {path} must hold a 256-bit key: 32 raw bytes or their base64 "
            "(make one with: s3cse keygen aes FILE)"
        )
    return key


@contextlib.contextmanager
def _sse_c_hints(sse: Sse | None) -> Iterator[None]:
    """S3 answers a read of an SSE-C object without (or with the wrong) key with a bare
    400 or 403: say what to do about it."""
    try:
        yield
    except S3RequestError as exc:
        _add_sse_c_hint(exc, sse)
        raise


def _add_sse_c_hint(exc: S3CSEError, sse: Sse | None) -> None:
    if not isinstance(exc, S3RequestError) or exc.hint is not None:
        return
    text = exc.message
    with_key = sse is not None and (sse.customer_key or sse.source_customer_key)
    if not with_key and any(s in text for s in ("(400", "InvalidArgument", "customer key")):
        exc.hint = "If the object is stored with SSE-C, pass its key with --sse-c-key-file"
    elif with_key and any(s in text for s in ("(403", "AccessDenied", "(400")):
        exc.hint = "Check that the SSE-C key file holds the key the object was stored with"


# ---------------------------------------------------------------------------- main


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--debug", is_flag=True, help="Print a traceback with errors (as S3CSE_DEBUG=1 does)."
)
@click.version_option(package_name="s3cse")
def main(debug: bool) -> None:
    """Amazon S3 client-side encryption, compatible with the AWS S3 Encryption Clients.

    Objects are encrypted before they reach S3 and decrypted (and authenticated) after
    they come back; S3 never sees plaintext or keys. Endpoints come from --endpoint-url /
    --kms-endpoint-url or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_KMS.

    \b
    Exit codes:
      0  success
      1  the operation failed (over many objects: at least one object failed)
      2  bad usage or configuration (options, key files, local paths), or
         cp --recursive skipped files with a warning (the rest was copied)
      3  an object failed authentication (tampered, or a wrong key commitment)
      4  no such object or bucket
      130, 143  interrupted by Ctrl-C, SIGTERM (unverified files removed first)
    """
    global _DEBUG
    _DEBUG = _DEBUG or debug
    if debug:  # the library quotes encryption context values in its messages then
        os.environ["S3CSE_DEBUG"] = "1"


# ---------------------------------------------------------------------------- cp


@main.command()
@click.argument("src")
@click.argument("dst")
@key_options
@sse_options(writes=True, copies=True)
@click.option(
    "--recursive", "-r", is_flag=True, help="Copy a directory or everything under an s3:// prefix."
)
@click.option(
    "--cache-data-keys",
    is_flag=True,
    help="Reuse data keys across objects (format v3): far fewer KMS calls for many small objects.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Objects transferred at once with --recursive.",
)
@click.option("--content-type", help="Content-Type to store with an upload.")
@click.option(
    "--follow-symlinks/--no-follow-symlinks",
    default=True,
    show_default=True,
    help="With --recursive uploads: follow symbolic links to files and directories, or skip them.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def cp(
    src: str,
    dst: str,
    recursive: bool,
    cache_data_keys: bool,
    concurrency: int,
    content_type: str | None,
    follow_symlinks: bool,
    quiet: bool,
    **kwargs: Any,
) -> None:
    """Copy SRC to DST, encrypting on upload and decrypting on download.

    SRC and DST are local paths, - (stdin/stdout), or s3://BUCKET/KEY; an s3:// to
    s3:// copy decrypts and re-encrypts (with a fresh data key, under the given key). A
    download reaches DST only after the whole object has been authenticated: a file is
    written beside DST and renamed over it, a device, FIFO or stdout gets it from a
    private temporary spool; on any failure or interrupt nothing reaches DST.

    With --recursive, SRC and DST are a directory and an s3://BUCKET/PREFIX (either way),
    or two prefixes; instruction files and integrity indexes travel with their objects.
    An upload follows symbolic links (unless --no-follow-symlinks) and skips, with a
    warning on stderr, FIFOs, sockets, devices, dangling links and links that loop
    back to a directory above them; it then exits with 2 once the rest is copied.
    """
    options = _key_options(kwargs)
    options.quiet = quiet
    sse = Sse.from_options(kwargs)
    extra = {"ContentType": content_type} if content_type else {}
    if recursive:
        _copy_recursive(
            options,
            sse,
            src,
            dst,
            extra=extra,
            cache=cache_data_keys,
            concurrency=concurrency,
            quiet=quiet,
            follow_symlinks=follow_symlinks,
        )
        return
    source, target = S3Url.parse(src), S3Url.parse(dst)
    if source is None and target is None:
        raise ConfigurationError("one of SRC and DST must be s3://BUCKET/KEY")
    if source is not None:
        _refuse_prefix(source, "copy")
    with _sse_c_hints(sse):
        if source is None and target is not None:
            target = _s3_target(target, src)
            done = _upload(
                options.client(writing=True, cache=cache_data_keys),
                options,
                sse,
                src,
                target,
                extra,
            )
        elif source is not None and target is None:
            reader = options.client(writing=False, cache=cache_data_keys)
            with _prefix_hint(reader.s3, source, "copy"):
                done = _download(reader, options, sse, source, dst)
        else:
            assert source is not None and target is not None
            target = _s3_target(target, source.key)
            reader = options.client(writing=False, cache=cache_data_keys)
            with _prefix_hint(reader.s3, source, "copy"):
                done = _copy(
                    reader,
                    options.client(writing=True, cache=cache_data_keys),
                    options,
                    sse,
                    source,
                    target,
                    extra,
                )
    if not quiet and done:
        click.echo(display_key(done), err=dst == "-")


def _refuse_prefix(url: S3Url, verb: str) -> None:
    """A key ending in ``/`` (or none) names a prefix, or a folder marker: no file."""
    if not url.key or url.key.endswith("/"):
        raise ConfigurationError(
            f"{url} names a prefix (or a folder marker), not an object: pass --recursive to "
            f"{verb} everything under it"
        )


@contextlib.contextmanager
def _prefix_hint(s3: Any, url: S3Url, verb: str) -> Iterator[None]:
    """ "No such object" for a key that is a prefix of others: say so, as ``aws s3``
    users expect, and offer ``--recursive``."""
    try:
        yield
    except ObjectNotFoundError:
        if _is_prefix(s3, url):
            raise ConfigurationError(
                f"{url} is a prefix, not an object: pass --recursive to {verb} everything under it"
            ) from None
        raise


def _is_prefix(s3: Any, url: S3Url) -> bool:
    try:
        page = s3.list_objects_v2(Bucket=url.bucket, Prefix=url.key + "/", MaxKeys=1)
    except _s3_errors():
        return False
    return bool(page.get("Contents"))


def _s3_target(target: S3Url, source_name: str) -> S3Url:
    if not target.key or target.key.endswith("/"):
        if source_name == "-":
            raise ConfigurationError("uploading stdin needs a full s3://BUCKET/KEY")
        return S3Url(target.bucket, target.key + Path(source_name).name)
    return target


def _upload(
    client: EncryptionClient,
    options: KeyOptions,
    sse: Sse,
    src: str,
    target: S3Url,
    extra: dict[str, Any],
    callback: Callback | None = None,
) -> str:
    stream: IO[bytes]
    if src == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(src, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ConfigurationError(f"cannot read {src}: {exc.strerror}") from None
    args = {"EncryptionContext": options.context, **extra, **sse.put_args()}
    if callback is not None:
        with stream:
            client.upload_fileobj(
                stream, target.bucket, target.key, Callback=callback, ExtraArgs=args
            )
        return f"upload: {src} to {target}"
    size = None if src == "-" else os.path.getsize(src)
    with stream, _progress(f"upload {target}", size, options.quiet) as advance:
        client.upload_fileobj(stream, target.bucket, target.key, Callback=advance, ExtraArgs=args)
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

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
        console=_stderr_console(),
    ) as progress:
        task = progress.add_task(_bar_label(label), total=total)
        yield lambda done: progress.advance(task, done)


def _bar_label(label: str) -> str:
    """A progress bar's label: rich reads it as markup, and it may quote a key."""
    from rich.markup import escape

    return escape(display_key(label))


def _shows_progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _download(
    client: EncryptionClient, options: KeyOptions, sse: Sse, source: S3Url, dst: str
) -> str:
    get_args = sse.get_args()
    if dst == "-":
        _cat_one(client, options, sse, source)
        return ""
    target = Path(dst)
    if target.is_dir() or dst.endswith(os.sep):
        with located(source.bucket, source.key):
            target = target / local_name(source.key)
    into_stdout = _is_stdout(target)
    try:
        size = (
            client.head_object(Bucket=source.bucket, Key=source.key, **get_args)["ContentLength"]
            if _shows_progress(options.quiet)
            else None
        )
        with _progress(f"download {source}", size, options.quiet) as advance:
            client.download_file(
                source.bucket,
                source.key,
                target,
                Callback=advance,
                EncryptionContext=options.context,
                **get_args,
            )
    except DestinationError:
        raise
    except OSError as exc:
        raise ConfigurationError(f"cannot write {target}: {exc.strerror or exc}") from None
    done = f"download: {source} to {target}"
    if into_stdout:  # the report must not land in the data (``cp URL /dev/stdout``)
        if not options.quiet:
            click.echo(done, err=True)
        return ""
    return done


def _is_stdout(target: Path) -> bool:
    """Whether ``target`` is the file stdout writes to (``/dev/stdout``, say)."""
    try:
        return os.path.samestat(target.stat(), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError):
        return False


def _copy(
    reader: EncryptionClient,
    writer: EncryptionClient,
    options: KeyOptions,
    sse: Sse,
    source: S3Url,
    target: S3Url,
    extra: dict[str, Any],
    callback: Callback | None = None,
) -> str:
    source_args = sse.source_args()
    response = reader.get_object(
        Bucket=source.bucket,
        Key=source.key,
        EncryptionContext=options.context,
        **source_args,
    )
    args = {"EncryptionContext": options.context, **extra, **sse.put_args()}
    if _has_integrity_index(reader.s3, source, source_args):
        args["IntegrityIndex"] = True  # a re-encrypted copy gets a fresh index too
    with response["Body"] as body:
        writer.upload_fileobj(body, target.bucket, target.key, ExtraArgs=args, Callback=callback)
    return f"copy: {source} to {target}"


def _has_integrity_index(s3: Any, url: S3Url, sse_c: dict[str, Any] | None = None) -> bool:
    """Whether the object has an index of its own (not a user's object of that name)."""
    with located(url.bucket, url.key):
        kind = probe_sidecar(s3, url.bucket, url.key + INDEX_SUFFIX, sse_c)
    return kind is sidecars.Kind.SIDECAR


# ---------------------------------------------------------------------------- listings


def _s3_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _listing(
    s3: Any,
    bucket: str,
    prefix: str,
    *,
    delimiter: bool = False,
    sse_c: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Objects (``Key``, ``Size``, ``LastModified``) and, with ``delimiter``, common
    prefixes (``Prefix``), in S3's order, without the instruction files and integrity
    indexes of listed objects. A sidecar whose object is absent is listed: it is all
    there is; a user's object only named like a sidecar is listed too (``sidecars``)."""
    for entry, sidecar in _listing_with_sidecars(
        s3, bucket, prefix, delimiter=delimiter, sse_c=sse_c
    ):
        if not sidecar:
            yield entry


def _listing_with_sidecars(
    s3: Any,
    bucket: str,
    prefix: str,
    *,
    delimiter: bool = False,
    sse_c: dict[str, Any] | None = None,
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every entry under the prefix, with whether it is a sidecar of a listed object."""
    args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        args["Delimiter"] = "/"
    try:
        yield from listing_with_sidecars(
            s3, bucket, s3.get_paginator("list_objects_v2").paginate(**args), sse_c
        )
    except _s3_errors() as exc:
        raise translate_s3_error(exc, bucket, prefix, "list") from None


def _dir_prefix(key: str) -> str:
    """``p`` and ``p/`` both mean the "directory" ``p/``; the empty key the whole bucket."""
    return key if not key or key.endswith("/") else key + "/"


def _join(prefix: str, relative: str) -> str:
    if not prefix:
        return relative
    return prefix + relative if prefix.endswith("/") else f"{prefix}/{relative}"


def _stored_size(stored: int) -> tuple[int, str]:
    """A listing's size without a request: GCM (every format s3cse writes) adds a 16-byte
    tag, as the s3cse:// filesystem and Hadoop S3A assume."""
    return assumed_plaintext_size(stored)


def _exact_info(s3: Any, bucket: str, key: str, sse_c: dict[str, Any]) -> dict[str, Any]:
    """A HEAD (and the instruction file if the object has one): the exact plaintext size
    and how the object is encrypted. Needs no key."""
    return _describe_head(s3, bucket, key, _head(s3, bucket, key, sse_c), sse_c)


def _head(s3: Any, bucket: str, key: str, sse_c: dict[str, Any]) -> dict[str, Any]:
    try:
        head: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key, **sse_c)
    except _s3_errors() as exc:
        raise translate_s3_error(exc, bucket, key, "head") from None
    return head


def _describe_head(
    s3: Any, bucket: str, key: str, head: dict[str, Any], sse_c: dict[str, Any]
) -> dict[str, Any]:
    """``_exact_info`` from a HEAD response already made."""
    from .core.envelope import plaintext_size

    stored = int(head.get("ContentLength") or 0)
    try:
        md = fetch_content_metadata(s3, bucket, key, head.get("Metadata", {}), sse_c=sse_c)
    except NotEncryptedError:
        return {
            "size": stored,
            "stored_size": stored,
            "size_source": "not-encrypted",
            "format": "plain",
        }
    size = plaintext_size(md, stored)
    info: dict[str, Any] = {
        "size": stored if size is None else size,
        "stored_size": stored,
        "size_source": "cbc-upper-bound" if size is None else "exact",
    }
    info.update(describe(md))
    return info


def _wrapping_text(info: dict[str, Any]) -> str:
    """The wrapping algorithm and what names the key (KMS keys are not in the metadata:
    the encryption context's keys are shown; raw keys: their material description)."""
    wrapping = str(info.get("wrapping", "-"))
    if "encryption_context" in info:
        context: dict[str, str] = info["encryption_context"]
        names = [
            f"kms_cmk_id={v}" if k == "kms_cmk_id" else k
            for k, v in sorted(context.items())
            if k != "aws:x-amz-cek-alg"
        ]
        return f"{wrapping} context:{','.join(names)}" if names else wrapping
    description = info.get("material_description") or {}
    if description:
        return f"{wrapping} {json.dumps(description, sort_keys=True, separators=(',', ':'))}"
    return wrapping


def _format_text(info: dict[str, Any]) -> str:
    text = str(info.get("format", "?"))
    return f"{text}-CBC" if "CBC" in str(info.get("suite", "")) else text


def _local_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@main.command("ls")
@click.argument("url", required=False, default="s3://")
@click.option("--recursive", "-r", is_flag=True, help="List every key under the prefix.")
@click.option(
    "--exact", is_flag=True, help="HEAD each object: exact plaintext size, format and wrapping."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="HEAD requests at once with --exact.",
)
@sse_options()
@click.option("--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL_S3 or AWS).")
@aws_options
def ls(
    url: str,
    recursive: bool,
    exact: bool,
    as_json: bool,
    concurrency: int,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    **kwargs: Any,
) -> None:
    """List buckets, or objects under s3://BUCKET[/PREFIX], with plaintext sizes.

    Columns: date, plaintext size, then with --exact the format and the wrapping
    (algorithm and material description, or the KMS encryption context's keys), then the
    key. Without --exact a size is the stored size minus the 16-byte GCM tag (no extra
    request); legacy AES-CBC objects and unencrypted ones may differ. Instruction files
    and integrity indexes are not shown. Needs no key.
    """
    sse = Sse.from_options(kwargs)
    s3 = awsenv.client("s3", endpoint_url=endpoint_url, profile=profile, region=region)
    if url in ("s3://", "s3:", ""):
        _list_buckets(s3, as_json)
        return
    target = S3Url.parse(url)
    if target is None:
        raise ConfigurationError(f"ls takes s3://BUCKET[/PREFIX], not {url!r}")
    base = "" if recursive else target.key[: target.key.rfind("/") + 1]
    entries = _listing(s3, target.bucket, target.key, delimiter=not recursive, sse_c=sse.get_args())
    if not exact:
        for entry in entries:
            if "Prefix" in entry:
                _echo_prefix(entry["Prefix"], base, as_json)
                continue
            size, source = _stored_size(int(entry.get("Size") or 0))
            row = {
                "key": entry["Key"],
                "last_modified": entry.get("LastModified"),
                "size": size,
                "stored_size": int(entry.get("Size") or 0),
                "size_source": source,
            }
            _echo_row(row, base, as_json, None)
        return
    failures = _ls_exact(s3, target.bucket, entries, base, as_json, sse, concurrency)
    if failures:
        sys.exit(_bulk_exit_code(failures))


def _list_buckets(s3: Any, as_json: bool) -> None:
    try:
        buckets = s3.list_buckets().get("Buckets", [])
    except _s3_errors() as exc:
        reason = awsenv.unreachable(exc, "s3")
        raise S3RequestError(
            f"list of buckets failed: {reason[0] if reason else exc}",
            hint=reason[1] if reason else None,
        ) from None
    for bucket in buckets:
        if as_json:
            click.echo(
                json.dumps({"bucket": bucket["Name"], "created": _iso(bucket.get("CreationDate"))})
            )
        else:
            click.echo(f"{_local_time(bucket.get('CreationDate'))} {display_key(bucket['Name'])}")


def _echo_prefix(prefix: str, base: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"prefix": prefix}))
    else:
        click.echo(f"{'PRE':>30} {display_key(prefix[len(base) :])}")


def _echo_row(
    row: dict[str, Any], base: str, as_json: bool, widths: tuple[int, int] | None
) -> None:
    if as_json:
        click.echo(json.dumps({**row, "last_modified": _iso(row["last_modified"])}))
        return
    size = str(row["size"]) if row["size_source"] != "cbc-upper-bound" else f"~{row['size']}"
    line = f"{_local_time(row['last_modified'])} {size:>10}"
    if widths is not None:
        line += f" {_format_text(row):<{widths[0]}} {_wrapping_text(row):<{widths[1]}}"
    click.echo(display_key(f"{line} {row['key'][len(base) :]}"))


def _ls_exact(
    s3: Any,
    bucket: str,
    entries: Iterable[dict[str, Any]],
    base: str,
    as_json: bool,
    sse: Sse,
    concurrency: int,
) -> list[S3CSEError]:
    listed = list(entries)
    failures: list[S3CSEError] = []
    sse_c = sse.get_args()

    def resolve(entry: dict[str, Any]) -> dict[str, Any]:
        if "Prefix" in entry:
            return entry
        row = {"key": entry["Key"], "last_modified": entry.get("LastModified")}
        try:
            with _sse_c_hints(sse):
                row.update(_exact_info(s3, bucket, entry["Key"], sse_c))
        except S3CSEError as exc:
            size, source = _stored_size(int(entry.get("Size") or 0))
            row.update(
                {
                    "size": size,
                    "stored_size": int(entry.get("Size") or 0),
                    "size_source": source,
                    "format": "?",
                    "error": str(exc),
                }
            )
            failures.append(exc)
        return row

    with _pool(concurrency) as pool:
        rows = list(pool.map(resolve, listed))
    objects = [row for row in rows if "key" in row]
    widths = (
        max([len(_format_text(r)) for r in objects], default=1),
        max([len(_wrapping_text(r)) for r in objects], default=1),
    )
    for row in rows:
        if "Prefix" in row:
            _echo_prefix(row["Prefix"], base, as_json)
        else:
            _echo_row(row, base, as_json, widths)
    for exc in failures:
        click.echo(_error_line(exc), err=True)
    return failures


# ---------------------------------------------------------------------------- cat


@main.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@read_key_options
@sse_options()
def cat(urls: tuple[str, ...], **kwargs: Any) -> None:
    """Decrypt objects to stdout. Each object is authenticated whole before any of its
    bytes are written (large ones are spooled to a temporary file first)."""
    options = _key_options(kwargs)
    sse = Sse.from_options(kwargs)
    targets = []
    for url in urls:
        target = S3Url.parse(url)
        if target is None or not target.key:
            raise ConfigurationError(f"cat takes s3://BUCKET/KEY, not {url!r}")
        targets.append(target)
    client = options.client(writing=False)
    for target in targets:
        _cat_one(client, options, sse, target)


def _cat_one(client: EncryptionClient, options: KeyOptions, sse: Sse, source: S3Url) -> None:
    with _sse_c_hints(sse):
        response = client.get_object(
            Bucket=source.bucket,
            Key=source.key,
            EncryptionContext=options.context,
            **sse.get_args(),
        )
    with response["Body"] as body:
        for chunk in body.iter_chunks():
            sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


# ---------------------------------------------------------------------------- rm


class _NoKeys(MaterialsManager):
    """Deleting needs no key: an EncryptionClient that can only delete."""

    def encryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials:
        raise ConfigurationError("no key given")

    def decrypt_data_key(self, request: DecryptionRequest) -> bytes:
        raise ConfigurationError("no key given")


@main.command()
@click.argument("url")
@click.option("--recursive", "-r", is_flag=True, help="Delete everything under the prefix.")
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; delete nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Delete an instruction file or integrity index that its object needs.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@click.option("--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL_S3 or AWS).")
@aws_options
def rm(
    url: str,
    recursive: bool,
    dry_run: bool,
    force: bool,
    quiet: bool,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """Delete an object, or everything under a prefix, with their instruction files and
    integrity indexes. Needs no key.

    Deleting an object's instruction file or integrity index alone is refused without
    --force (its object needs it); a user's object that is only named like one is
    deleted as any other."""
    target = S3Url.parse(url)
    if target is None:
        raise ConfigurationError(f"rm takes s3://BUCKET/KEY, not {url!r}")
    s3 = awsenv.client("s3", endpoint_url=endpoint_url, profile=profile, region=region)
    client = EncryptionClient(materials=_NoKeys(), s3_client=s3)
    say = (lambda line: None) if quiet else click.echo
    prefix = "(dryrun) " if dry_run else ""
    if not recursive:
        _refuse_prefix(target, "delete")
        with _prefix_hint(s3, target, "delete"):
            if not _object_exists(s3, target):
                raise ObjectNotFoundError(
                    "delete: no such object", bucket=target.bucket, key=target.key
                )
        if not force:
            _refuse_live_sidecar(s3, target)
        if not dry_run:
            client.delete_object(Bucket=target.bucket, Key=target.key)
        say(display_key(f"{prefix}delete: {target}"))
        return
    # Everything under the prefix goes, sidecars with their objects: only the objects
    # are reported (as ``ls`` shows them).
    listed = [
        (e["Key"], sidecar)
        for e, sidecar in _listing_with_sidecars(s3, target.bucket, _dir_prefix(target.key))
        if "Key" in e
    ]
    shown = {key for key, sidecar in listed if not sidecar}
    keys = [key for key, _ in listed]
    failures: list[S3CSEError] = []
    for start in range(0, len(keys), _DELETE_BATCH):
        batch = keys[start : start + _DELETE_BATCH]
        errors: dict[str, dict[str, Any]] = {}
        if not dry_run:
            try:
                response = s3.delete_objects(
                    Bucket=target.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except _s3_errors() as exc:
                raise translate_s3_error(exc, target.bucket, batch[0], "delete") from None
            errors = {e.get("Key", ""): e for e in response.get("Errors", [])}
        for key in batch:
            if key not in errors and key in shown:
                say(display_key(f"{prefix}delete: s3://{target.bucket}/{key}"))
        for key, error in errors.items():
            failure = S3RequestError(
                f"delete failed ({error.get('Code', '?')}: {error.get('Message', '')})",
                bucket=target.bucket,
                key=key,
            )
            failures.append(failure)
            click.echo(_error_line(failure), err=True)
    if failures:
        click.echo(f"s3cse: error: {len(failures)} deletions failed", err=True)
        sys.exit(EXIT_FAILED)


def _refuse_live_sidecar(s3: Any, url: S3Url) -> None:
    """Refuse to delete, alone, an instruction file or integrity index its object needs
    (see ``_sidecar_owner``)."""
    owner = _sidecar_owner(s3, url)
    if owner is not None:
        suffix = url.key[len(owner) :]
        what = sidecars.describe(suffix)
        raise ConfigurationError(
            f"{url} is the {what} of s3://{url.bucket}/{owner}, which "
            + (
                "cannot be decrypted without it"
                if suffix == INSTRUCTION_SUFFIX
                else "needs it for verified byte ranges"
            ),
            hint=f"Delete s3://{url.bucket}/{owner} to remove both, or pass --force to "
            f"delete the {what} alone",
        )


def _sidecar_owner(s3: Any, url: S3Url) -> str | None:
    """The object whose live sidecar ``url`` is, else None: a user's object named like a
    sidecar, an orphan, an instruction file its object does not read, or an index of an
    earlier version of its object are not live. What cannot be looked at (SSE-C) counts
    as live: deleting it is then left to --force."""
    named = sidecars.split_name(url.key)
    if named is None:
        return None
    owner, suffix = named
    try:
        head = s3.head_object(Bucket=url.bucket, Key=owner)
    except _s3_errors() as exc:
        if isinstance(translate_s3_error(exc, url.bucket, owner, "head"), ObjectNotFoundError):
            return None
        return owner
    kind = probe_sidecar(s3, url.bucket, url.key)
    if kind is sidecars.Kind.USER_OBJECT:
        return None
    if kind is not sidecars.Kind.SIDECAR:
        return owner
    metadata = head.get("Metadata", {})
    if suffix == INSTRUCTION_SUFFIX:
        return owner if sidecars.needs_instruction_file(metadata) else None
    return owner if _index_belongs_to(s3, url, owner, metadata) else None


def _index_belongs_to(s3: Any, url: S3Url, owner: str, metadata: dict[str, str]) -> bool:
    """Whether the index at ``url`` names its owner's message id or IV (is not stale)."""
    from .core.integrity import HEADER_SIZE, SidecarHeader

    try:
        md = fetch_content_metadata(s3, url.bucket, owner, metadata)
        response = s3.get_object(Bucket=url.bucket, Key=url.key, Range=f"bytes=0-{HEADER_SIZE - 1}")
    except S3CSEError:
        return False  # the owner cannot be read as an encrypted object: nothing to verify
    except _s3_errors():
        return True  # cannot tell: --force decides
    with contextlib.closing(response["Body"]) as body:
        header = SidecarHeader(body.read(), 0, "")
    return not header.is_stale_for(md)


def _object_exists(s3: Any, url: S3Url) -> bool:
    """By listing, not HEAD: a HEAD of an SSE-C object without its key fails."""
    try:
        page = s3.list_objects_v2(Bucket=url.bucket, Prefix=url.key, MaxKeys=1)
    except _s3_errors() as exc:
        raise translate_s3_error(exc, url.bucket, url.key, "delete") from None
    contents = page.get("Contents", [])
    return bool(contents) and contents[0]["Key"] == url.key


# ---------------------------------------------------------------------------- cp -r


@dataclass(frozen=True)
class _Transfer:
    line: str
    """What is printed when it is done, e.g. ``upload: a to s3://b/a``."""
    size: int | None
    run: Callable[[Callback | None], None]


def _copy_recursive(
    options: KeyOptions,
    sse: Sse,
    src: str,
    dst: str,
    *,
    extra: dict[str, Any],
    cache: bool,
    concurrency: int,
    quiet: bool,
    follow_symlinks: bool = True,
) -> None:
    source, target = S3Url.parse(src), S3Url.parse(dst)
    if "-" in (src, dst):
        raise ConfigurationError("--recursive copies directories and prefixes, not - (stdio)")
    if source is None and target is None:
        raise ConfigurationError("one of SRC and DST must be s3://BUCKET[/PREFIX]")
    skipped: list[Skipped] = []
    if source is None:
        assert target is not None
        transfers, skipped = _plan_upload(
            options, sse, Path(src), target, extra, cache, follow_symlinks
        )
    elif target is None:
        transfers = _plan_download(options, sse, source, Path(dst), cache)
    else:
        transfers = _plan_copy(options, sse, source, target, extra, cache)
    _report_skipped(skipped, quiet)
    if not transfers and not quiet:
        click.echo(f"s3cse: nothing to copy under {src}", err=True)
    failures = _run_transfers(transfers, concurrency, quiet, sse, prime=cache)
    if failures:
        click.echo(f"s3cse: error: {len(failures)} of {len(transfers)} objects failed", err=True)
        sys.exit(_bulk_exit_code(failures))
    if any(skip.warning for skip in skipped):
        sys.exit(EXIT_SKIPPED)


def _report_skipped(skipped: Sequence[Skipped], quiet: bool) -> None:
    """One line on stderr for each thing left out: always for a warning, otherwise
    (what --no-follow-symlinks leaves out) unless quiet."""
    for skip in skipped:
        if skip.warning:
            click.echo(
                display_key(f"s3cse: warning: skipping {skip.path}: {skip.reason}"), err=True
            )
        elif not quiet:
            click.echo(display_key(f"s3cse: skipping {skip.path}: {skip.reason}"), err=True)


def _bulk_exit_code(failures: Sequence[S3CSEError]) -> int:
    codes = {_exit_code(exc) for exc in failures}
    return codes.pop() if len(codes) == 1 else EXIT_FAILED


def _plan_upload(
    options: KeyOptions,
    sse: Sse,
    root: Path,
    target: S3Url,
    extra: dict[str, Any],
    cache: bool,
    follow_symlinks: bool,
) -> tuple[list[_Transfer], list[Skipped]]:
    """One transfer per regular file under ``root`` (see ``localtree``), and what is
    skipped."""
    if not root.is_dir():
        raise ConfigurationError(f"{root} is not a directory (cp --recursive copies one)")
    client = options.client(writing=True, cache=cache)
    written = [
        suffix
        for suffix, wanted in (
            (INSTRUCTION_SUFFIX, options.instruction_file),
            (INDEX_SUFFIX, options.integrity_index),
        )
        if wanted
    ]
    walked = list(walk_tree(root, follow_symlinks))
    uploaded = {found.relative for found in walked if not isinstance(found, Skipped)}
    transfers, skipped = [], []
    for found in walked:
        if isinstance(found, Skipped):
            skipped.append(found)
            continue
        url = S3Url(target.bucket, _join(target.key, found.relative))
        clash = _sidecar_clash(url, found.relative, uploaded, written)
        if clash is not None:
            transfers.append(_refused(url, clash))
            continue

        def run(callback: Callback | None, path: Path = found.path, url: S3Url = url) -> None:
            _upload(client, options, sse, str(path), url, extra, callback or _ignore)

        transfers.append(_Transfer(_transfer_line("upload", found.path, url), found.size, run))
    return transfers, skipped


def _sidecar_clash(
    url: S3Url, relative: str, uploaded: set[str], written: list[str]
) -> S3CSEError | None:
    """A file whose sidecar would overwrite another file of the upload (``setup`` with
    --instruction-file beside ``setup.instruction``): refused, whichever runs first."""
    for suffix in written:
        if relative + suffix in uploaded:
            return sidecars.overwrite_refused(url.bucket, url.key, suffix)
    return None


def _ignore(done: int) -> None:
    pass


def _transfer_line(verb: str, source: object, target: object) -> str:
    return display_key(f"{verb}: {source} to {target}")


def _plan_download(
    options: KeyOptions, sse: Sse, source: S3Url, root: Path, cache: bool
) -> list[_Transfer]:
    """One transfer per object; one whose key cannot be a file of its own under ``root``
    becomes a transfer that fails, so the others still run."""
    client = options.client(writing=False, cache=cache)
    prefix = _dir_prefix(source.key)
    get_args = {"EncryptionContext": options.context, **sse.get_args()}
    claims = PathClaims()
    transfers = []
    for entry in _listing(client.s3, source.bucket, prefix, sse_c=sse.get_args()):
        url = S3Url(source.bucket, entry["Key"])
        stored = int(entry.get("Size") or 0)
        try:
            with located(url.bucket, url.key):
                if url.key.endswith("/"):
                    _require_directory_marker(client.s3, url, stored, sse)
                    continue
                relative = claims.claim(url.key[len(prefix) :])
        except S3CSEError as exc:
            transfers.append(_refused(url, exc))
            continue

        def run(callback: Callback | None, url: S3Url = url, relative: PurePath = relative) -> None:
            with located(url.bucket, url.key):
                _download_under(client, root, relative, url, callback, get_args)

        size, _ = _stored_size(stored)
        transfers.append(_Transfer(_transfer_line("download", url, root / relative), size, run))
    return transfers


def _download_under(
    client: EncryptionClient,
    root: Path,
    relative: PurePath,
    url: S3Url,
    callback: Callback | None,
    get_args: dict[str, Any],
) -> None:
    try:
        path = prepare_parent(root, relative)
        client.download_file(url.bucket, url.key, path, Callback=callback, **get_args)
    except DestinationError:
        raise
    except OSError as exc:
        raise ConfigurationError(f"cannot write {root / relative}: {exc.strerror or exc}") from None


def _refused(url: S3Url, error: S3CSEError) -> _Transfer:
    """A transfer that only reports why ``url`` is not copied."""

    def run(callback: Callback | None) -> None:
        raise error

    return _Transfer(f"refused: {display_key(str(url))}", 0, run)


def _require_directory_marker(s3: Any, url: S3Url, stored: int, sse: Sse) -> None:
    """A key ending in ``/`` is a folder marker (as consoles and tools make them) when it
    is empty or typed ``application/x-directory``: nothing to write. One holding data
    cannot be a local file; it is refused, rather than silently left out."""
    if stored == 0:
        return
    sse_c = sse.get_args()
    head = _head(s3, url.bucket, url.key, sse_c)
    if str(head.get("ContentType", "")).split(";")[0].strip() == "application/x-directory":
        return
    info = _describe_head(s3, url.bucket, url.key, head, sse_c)
    if info["size_source"] == "exact" and info["size"] == 0:
        return
    raise LocalPathError(
        f"the key ends in '/' but the object is not an empty folder marker "
        f"({info['size']} bytes): it cannot be written as a local file"
    )


def _plan_copy(
    options: KeyOptions, sse: Sse, source: S3Url, target: S3Url, extra: dict[str, Any], cache: bool
) -> list[_Transfer]:
    reader = options.client(writing=False, cache=cache)
    writer = options.client(writing=True, cache=cache)
    prefix = _dir_prefix(source.key)
    transfers = []
    for entry in _listing(reader.s3, source.bucket, prefix, sse_c=sse.source_args()):
        key = entry["Key"]
        relative = key[len(prefix) :]
        if not relative or relative.endswith("/"):
            continue
        from_url, to_url = (
            S3Url(source.bucket, key),
            S3Url(target.bucket, _join(target.key, relative)),
        )

        def run(callback: Callback | None, a: S3Url = from_url, b: S3Url = to_url) -> None:
            _copy(reader, writer, options, sse, a, b, dict(extra), callback)

        size, _ = _stored_size(int(entry.get("Size") or 0))
        transfers.append(_Transfer(_transfer_line("copy", from_url, to_url), size, run))
    return transfers


def _run_transfers(
    transfers: Sequence[_Transfer], concurrency: int, quiet: bool, sse: Sse, *, prime: bool = False
) -> list[S3CSEError]:
    """Run the transfers on a thread pool. ``prime``: the first one runs alone, so that
    the data-key cache holds a key before the others ask for one at the same time.
    Objects in a row failing for one cause no object can change (KMS unreachable, access
    denied, no credentials) end the run: the rest would only fail the same way."""
    failures: list[S3CSEError] = []
    sizes = [t.size for t in transfers]
    total = sum(s for s in sizes if s is not None) if None not in sizes else None
    streak = _FailureStreak()
    with _bulk_progress(f"{len(transfers)} objects", total, quiet) as (advance, echo):

        def attempt(transfer: _Transfer) -> S3CSEError | None:
            try:
                with _sse_c_hints(sse):
                    transfer.run(advance)
            except S3CSEError as exc:
                return exc
            except Exception as exc:  # one object's surprise must not stop the others
                return S3RequestError(f"{transfer.line.split(':')[0]} failed: {_unexpected(exc)}")
            return None

        def report(transfer: _Transfer, error: S3CSEError | None) -> None:
            if error is None:
                if not quiet:
                    echo(transfer.line)
            else:
                failures.append(error)
                if not streak.repeats_given_up(error):
                    echo(_error_line(error), err=True)
            streak.record(error)

        rest = list(transfers)
        if prime and rest:
            first = rest.pop(0)
            report(first, attempt(first))
        not_attempted = 0
        with _pool(concurrency) as pool:
            futures = {pool.submit(attempt, t): t for t in rest}
            for future in as_completed(futures):
                if future.cancelled():
                    not_attempted += 1
                    continue
                report(futures[future], future.result())
                if streak.given_up:
                    for pending in futures:
                        pending.cancel()
        if streak.given_up:
            echo(_error_line(streak.giving_up(not_attempted, len(transfers))), err=True)
    return failures


GIVE_UP_AFTER = 3


class _FailureStreak:
    """Consecutive failures with one cause that is not about their objects. After
    ``GIVE_UP_AFTER`` of them a bulk run gives up rather than fail every object alike."""

    def __init__(self, limit: int = GIVE_UP_AFTER) -> None:
        self.limit = limit
        self.cause: S3CSEError | None = None
        self.count = 0
        self.given_up = False

    def record(self, error: S3CSEError | None) -> None:
        if self.given_up:
            return
        if (
            error is not None
            and self.cause is not None
            and _shared_cause(error) == _shared_cause(self.cause)
        ):
            self.count += 1
        elif error is not None and _shared_cause(error) is not None:
            self.cause, self.count = error, 1
        else:
            self.cause, self.count = None, 0
        self.given_up = self.count >= self.limit

    def repeats_given_up(self, error: S3CSEError) -> bool:
        """Whether ``error`` is once more the cause already given up on (said once)."""
        return (
            self.given_up
            and self.cause is not None
            and _shared_cause(error) == _shared_cause(self.cause)
        )

    def giving_up(self, not_attempted: int, total: int) -> str:
        assert self.cause is not None
        hint = f". {self.cause.hint}" if self.cause.hint else ""
        return (
            f"gave up after {self.limit} objects in a row failed the same way "
            f"({self.cause.message}){hint}; {not_attempted} of {total} objects were not "
            "attempted"
        )


def _shared_cause(error: S3CSEError) -> str | None:
    """What a failure owes to the run's setting (the KMS or S3 endpoint, the credentials,
    the key's state) rather than to its object, as a comparable text; None otherwise.
    Such errors name no object in their message, so one cause reads the same each time."""
    if isinstance(error, (EncryptionContextMismatchError, InvalidRangeError)):
        return None
    if isinstance(error, (KmsError, S3RequestError)):
        return f"{type(error).__name__}: {error.message}"
    return None


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, on Ctrl-C or SIGTERM (raised on the main thread only), drops
    the work not started yet and stops the transfers under way on its threads, which
    abort their uploads and remove their files, instead of letting them all finish
    before the interrupt takes effect."""
    pool = ThreadPoolExecutor(workers)
    try:
        yield pool
    except BaseException:
        stop_all_transfers()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _bulk_progress(
    label: str,
    total: int | None,
    quiet: bool,
) -> Iterator[tuple[Callback | None, Callable[..., None]]]:
    """Bytes progress on a terminal; lines printed meanwhile go above the bar."""
    if not _shows_progress(quiet):
        yield None, click.echo
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
        console=_stderr_console(),
        redirect_stdout=False,
        redirect_stderr=False,
    ) as progress:
        task = progress.add_task(_bar_label(label), total=total)
        yield (lambda done: progress.advance(task, done)), _live_echo(progress)


def _live_echo(progress: Any) -> Callable[..., None]:
    """``click.echo`` that prints terminal lines above a live progress bar."""
    from rich.text import Text

    lock = threading.Lock()

    def echo(line: str, err: bool = False) -> None:
        stream = sys.stderr if err else sys.stdout
        with lock:
            if stream.isatty():
                progress.console.print(Text(line), highlight=False, soft_wrap=True)
            else:
                click.echo(line, err=err)

    return echo


# ---------------------------------------------------------------------------- inspect


@main.command()
@click.argument("url")
@click.option("--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL_S3 or AWS).")
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
    material). An unencrypted object is reported as such ("format": "plain")."""
    sse = Sse.from_options(kwargs)
    sse_c = sse.get_args()
    target = S3Url.parse(url)
    if target is None or not target.key:
        raise ConfigurationError("inspect takes s3://BUCKET/KEY")
    s3 = awsenv.client("s3", endpoint_url=endpoint_url, profile=profile, region=region)
    with _sse_c_hints(sse):
        head = _head(s3, target.bucket, target.key, sse_c)
        info: dict[str, Any] = {"object": str(target), "stored_size": head["ContentLength"]}
        info.update(_encryption_info(s3, target, head, sse_c))
        info["integrity_index"] = _has_integrity_index(s3, target, sse_c)
        info["s3_metadata"] = head.get("Metadata", {})
        if head.get("ServerSideEncryption") or head.get("SSECustomerAlgorithm"):
            info["server_side_encryption"] = head.get("ServerSideEncryption") or "SSE-C"
        if show_bytes > 0:
            try:
                raw = s3.get_object(
                    Bucket=target.bucket, Key=target.key, Range=f"bytes=0-{show_bytes - 1}", **sse_c
                )["Body"].read()
            except _s3_errors() as exc:
                raise translate_s3_error(exc, target.bucket, target.key, "read") from None
            info["stored_bytes_hex"] = raw.hex()
    click.echo(json.dumps(info, indent=2))


def _encryption_info(
    s3: Any, url: S3Url, head: dict[str, Any], sse_c: dict[str, Any]
) -> dict[str, Any]:
    """``describe`` of an encrypted object; an unencrypted one is said to be plain (and a
    folder marker to be one), which is an answer, not an error."""
    try:
        md = fetch_content_metadata(s3, url.bucket, url.key, head.get("Metadata", {}), sse_c=sse_c)
    except NotEncryptedError:
        info: dict[str, Any] = {"format": "plain", "encrypted": False}
        if _is_folder_marker(url.key, int(head.get("ContentLength") or 0)):
            info["folder_marker"] = True
        return info
    return {**describe(md), "encrypted": True}


def _is_folder_marker(key: str, stored_size: int) -> bool:
    """An empty object whose key ends in ``/``: what consoles make for a "folder"."""
    return key.endswith("/") and stored_size == 0


# ---------------------------------------------------------------------------- rotate, migrate


def lifecycle_options(kind: str) -> Callable[[F], F]:
    now = "the objects are under now"
    target = (
        "the new master key"
        if kind == "rotate"
        else "the key to write V3 with (default: the current key)"
    )
    return lambda func: _add_options(
        func,
        [
            click.option("--kms-key-id", help=f"KMS key {now} (id, ARN or alias)."),
            click.option(
                "--aes-key-file", type=click.Path(dir_okay=False), help=f"AES key file {now}."
            ),
            click.option(
                "--rsa-key-file",
                type=click.Path(dir_okay=False),
                help=f"RSA private key (PEM) {now}.",
            ),
            click.option(
                "--matdesc", help="Material description (JSON) of the current AES/RSA key."
            ),
            click.option(
                "--encryption-context",
                "encryption_context",
                multiple=True,
                metavar="KEY=VALUE",
                help="KMS encryption context the objects carry now (repeatable); a KMS "
                "object whose stored context differs is refused.",
            ),
            click.option(
                "--legacy",
                is_flag=True,
                help="Also read legacy unauthenticated modes (CBC, kms, AESWrap, V1): "
                "only for objects whose origin you trust.",
            ),
            click.option(
                "--to-encryption-context",
                "to_encryption_context",
                multiple=True,
                metavar="KEY=VALUE",
                help="KMS encryption context to write with (repeatable; default: the "
                "current one, carried over).",
            ),
            click.option(
                "--to-empty-encryption-context",
                is_flag=True,
                help="Write with no encryption context of the caller's.",
            ),
            click.option("--to-kms-key-id", help=f"KMS key: {target}."),
            click.option(
                "--to-aes-key-file",
                type=click.Path(dir_okay=False),
                help=f"AES key file: {target}.",
            ),
            click.option(
                "--to-rsa-key-file",
                type=click.Path(dir_okay=False),
                help=f"RSA key (PEM): {target}. Give the private key, so that a rerun "
                "recognises the objects already done.",
            ),
            click.option(
                "--to-matdesc", help="Material description (JSON) of the --to- AES/RSA key."
            ),
            click.option(
                "--dry-run", is_flag=True, help="Report what would change; change nothing."
            ),
            click.option(
                "--json",
                "as_json",
                is_flag=True,
                help="One JSON object per object on stdout, then a summary line.",
            ),
            click.option(
                "--concurrency",
                type=click.IntRange(min=1),
                default=8,
                show_default=True,
                help="Objects processed at once (threads).",
            ),
            click.option(
                "--dask",
                "dask_address",
                metavar="SCHEDULER_ADDRESS",
                help="Run on a Dask cluster instead (needs the distributed package; "
                "workers need the key files at the same paths).",
            ),
            click.option("--quiet", "-q", is_flag=True, help="Print only failures."),
            click.option(
                "--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL_S3 or AWS)."
            ),
            click.option(
                "--kms-endpoint-url", help="KMS endpoint (default: AWS_ENDPOINT_URL_KMS or AWS)."
            ),
            *_aws_option_list(),
        ],
    )


@main.command()
@click.argument("url")
@lifecycle_options("rotate")
def rotate(url: str, **kwargs: Any) -> None:
    """Re-wrap every object's data key under s3://BUCKET/PREFIX with a new master key.

    The content is not re-encrypted: the instruction file is rewritten, or the object is
    copied onto itself with new encryption metadata (user metadata, content type, tags,
    SSE-S3/SSE-KMS settings and storage class kept; guarded against concurrent writers).
    Objects already under the new key are skipped, so a second run finishes what an
    interrupted one left; legacy objects are skipped too (use migrate). A KMS object is
    rotated only if its stored encryption context is the one given (--encryption-context),
    and keeps it unless --to-encryption-context says otherwise. Objects whose data key has
    a legacy wrap need --legacy, and are read through their tag check before re-wrapping.
    """
    _lifecycle("rotate", url, kwargs)


@main.command()
@click.argument("url")
@lifecycle_options("migrate")
def migrate(url: str, **kwargs: Any) -> None:
    """Re-encrypt legacy objects under s3://BUCKET/PREFIX (V1, V2, AES-CBC, legacy key
    wraps) as V3.

    Each new ciphertext goes to KEY.s3cse-migrating, is read back and compared by SHA-256
    with the old plaintext, and only then copied over the object (a versioned bucket keeps
    the old version). V3 objects are skipped; an interrupted run is finished by the next.
    V2 GCM objects need no switch; CBC content and legacy key wraps need --legacy. A KMS
    object is read only under the encryption context it stores (--encryption-context), and
    the V3 copy carries that context unless --to-encryption-context says otherwise.
    """
    _lifecycle("migrate", url, kwargs)


def _key_spec(kw: dict[str, Any], prefix: str, kms_endpoint_url: str | None) -> Any:
    """The key named by the ``--`` options (the current key) or the ``--to-`` ones."""
    from .lifecycle import KeySpec

    name = prefix.replace("-", "_")
    description = _parse_matdesc(kw[f"{name}matdesc"], f"--{prefix}matdesc")
    aes_key_file, rsa_key_file = kw[f"{name}aes_key_file"], kw[f"{name}rsa_key_file"]
    return KeySpec(
        kms_key_id=kw[f"{name}kms_key_id"],
        # absolute, so worker processes started elsewhere find them
        aes_key_file=os.path.abspath(aes_key_file) if aes_key_file else None,
        rsa_key_file=os.path.abspath(rsa_key_file) if rsa_key_file else None,
        matdesc=tuple(sorted((description or {}).items())),
        kms_endpoint_url=kms_endpoint_url,
        region=kw["region"],
        profile=kw["profile"],
        names=CLI_TARGET_KEY_FILES if prefix else CLI_KEY_FILES,
    )


def _build_job(kind: str, url: str, kw: dict[str, Any]) -> Any:
    from .lifecycle import Job

    location = S3Url.parse(url)
    if location is None:
        raise ConfigurationError(f"{kind} takes s3://BUCKET[/PREFIX], not {url!r}")
    # Resolved here, not by each worker: a Dask worker elsewhere must use the same ones.
    endpoint = (
        kw["endpoint_url"]
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    kms_endpoint = (
        kw["kms_endpoint_url"]
        or os.environ.get("AWS_ENDPOINT_URL_KMS")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    if not (kw["kms_key_id"] or kw["aes_key_file"] or kw["rsa_key_file"]):
        raise ConfigurationError(
            f"no key given: pass the key the objects are under now (--kms-key-id, "
            f"--aes-key-file or --rsa-key-file){'' if kind == 'migrate' else ' and the new one'}"
        )
    current = _key_spec(kw, "", kms_endpoint)
    chosen = [name for name in ("to_kms_key_id", "to_aes_key_file", "to_rsa_key_file") if kw[name]]
    if len(chosen) > 1:
        raise ConfigurationError(
            "give one new key: --to-kms-key-id, --to-aes-key-file or --to-rsa-key-file"
        )
    if not chosen and kw["to_matdesc"] is not None:
        raise ConfigurationError("--to-matdesc goes with --to-aes-key-file or --to-rsa-key-file")
    if not chosen and kind == "rotate":
        raise ConfigurationError(
            "rotate needs the new master key: --to-kms-key-id, --to-aes-key-file or "
            "--to-rsa-key-file"
        )
    target = _key_spec(kw, "to-", kms_endpoint) if chosen else None
    # Load every key now: a missing or bad key file (or no region for KMS) is a usage
    # error, not N failures.
    current.keyring(private=True)
    if target is not None:
        target.keyring()
    if current.kms_key_id or (target is not None and target.kms_key_id):
        with located(location.bucket, location.key):
            awsenv.client(
                "kms", endpoint_url=kms_endpoint, profile=kw["profile"], region=kw["region"]
            )
    return Job(
        kind,
        location.bucket,
        location.key,
        current,
        target,
        encryption_context=tuple(sorted(_parse_context(kw["encryption_context"]).items())),
        endpoint_url=endpoint,
        region=kw["region"],
        profile=kw["profile"],
        dry_run=kw["dry_run"],
        legacy=kw["legacy"],
        target_context=_target_context(kw),
    )


def _target_context(kw: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
    """None carries the objects' current context over to the rewritten ones."""
    given = kw["to_encryption_context"]
    if kw["to_empty_encryption_context"]:
        if given:
            raise ConfigurationError(
                "--to-empty-encryption-context and --to-encryption-context exclude each other"
            )
        return ()
    return tuple(sorted(_parse_context(given).items())) if given else None


def _lifecycle(kind: str, url: str, kw: dict[str, Any]) -> None:
    from . import lifecycle

    job = _build_job(kind, url, kw)
    dask_address, quiet, as_json = kw["dask_address"], kw["quiet"], kw["as_json"]
    if dask_address:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise ConfigurationError(
                "--dask needs the distributed package (pip install distributed)"
            )
        _check_scheduler(dask_address)
    total: int | None = None
    if _shows_progress(quiet):
        total = sum(1 for _ in _lifecycle_keys(job))
    label = f"{kind} s3://{job.bucket}/{job.prefix}"
    with _count_progress(label, total, quiet) as (advance, echo):

        def on_result(result: Any) -> None:
            if as_json:
                echo(
                    json.dumps(
                        {"key": result.key, "action": result.action, "detail": result.detail}
                    )
                )
            url = f"s3://{job.bucket}/{result.key}"
            if result.failed:  # the detail names the object
                echo(_error_line(result.detail), err=True)
            elif advance is None and not quiet:  # no bar: a line per object
                detail = f" ({result.detail})" if result.detail else ""
                echo(display_key(f"{result.action}: {url}{detail}"), err=True)
            if advance is not None:
                advance()

        try:
            summary = lifecycle.run(
                job, concurrency=kw["concurrency"], dask_address=dask_address, on_result=on_result
            )
        except _s3_errors() as exc:
            raise translate_s3_error(exc, job.bucket, job.prefix, "list") from None
        except (OSError, TimeoutError) as exc:
            if not dask_address:
                raise
            raise S3RequestError(
                f"cannot reach the Dask scheduler at {dask_address}: {exc}"
            ) from None
    counts = summary.counts()
    failed = len(summary.failed)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "summary": counts,
                    "total": len(summary.results),
                    "failed": failed,
                    "dry_run": job.dry_run,
                }
            )
        )
    if not quiet:
        parts = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing"
        dry = " (dry run)" if job.dry_run else ""
        click.echo(
            display_key(
                f"{kind}{dry}: {parts} ({len(summary.results)} objects "
                f"under s3://{job.bucket}/{job.prefix})"
            ),
            err=True,
        )
    if failed:
        click.echo(f"s3cse: error: {failed} of {len(summary.results)} objects failed", err=True)
        sys.exit(EXIT_FAILED)


def _check_scheduler(address: str) -> None:
    """Fail in seconds, not after Dask's 30-second connect timeout, when nothing listens
    at a tcp:// scheduler address."""
    import socket
    from urllib.parse import urlsplit

    if "://" not in address:
        address = f"tcp://{address}"
    parts = urlsplit(address)
    if parts.scheme != "tcp" or not parts.hostname or not parts.port:
        return
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()
    except OSError as exc:
        raise S3RequestError(
            f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}",
            hint="Check --dask: it takes the scheduler's address, e.g. tcp://host:8786",
        ) from None


def _lifecycle_keys(job: Any) -> Iterator[str]:
    from . import lifecycle

    try:
        yield from lifecycle.list_keys(job)
    except _s3_errors() as exc:
        raise translate_s3_error(exc, job.bucket, job.prefix, "list") from None


@contextlib.contextmanager
def _count_progress(
    label: str,
    total: int | None,
    quiet: bool,
) -> Iterator[tuple[Callable[[], None] | None, Callable[..., None]]]:
    """A bar counting objects on a terminal (stderr); no bar when piped or quiet."""
    if not _shows_progress(quiet):
        yield None, click.echo
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=_stderr_console(),
        redirect_stdout=False,
        redirect_stderr=False,
    ) as progress:
        task = progress.add_task(_bar_label(label), total=total)
        yield (lambda: progress.advance(task, 1)), _live_echo(progress)


# ---------------------------------------------------------------------------- keygen


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
        _fail(exc)
    _write_secret(file, pem, force)
    if public_out:
        private = serialization.load_pem_private_key(pem, password=None)
        Path(public_out).write_bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    click.echo(f"wrote a {bits}-bit RSA private key to {file}")


# ---------------------------------------------------------------------------- local


@main.group()
def local() -> None:
    """Run a local S3 (SeaweedFS) and KMS (moto server) on 127.0.0.1."""


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help=f"Where the stack keeps its data, logs and PIDs. Default: ${local_stack.STATE_DIR_ENV}; "
    f"else ./{local_stack.LEGACY_STATE_DIR} if a stack started there is running; else "
    "$XDG_STATE_HOME/s3cse/local (~/.local/state/s3cse/local), from any directory.",
)


def _print_env(stack: local_stack.LocalStack) -> None:
    for name, value in stack.env().items():
        click.echo(f"export {name}={value}")


@local.command("start")
@state_dir_option
@click.option(
    "--bucket",
    "buckets",
    multiple=True,
    help="Bucket to create (repeatable; also on a stack already running).",
)
def local_start(state_dir: str | None, buckets: tuple[str, ...]) -> None:
    """Start the stack (or find it running) and print the environment that points clients
    at it."""
    try:
        stack = local_stack.start(state_dir, buckets=buckets)
    except S3CSEError as exc:
        _fail(exc)
    click.echo(
        f"# local S3 at {stack.s3_endpoint}, KMS at {stack.kms_endpoint} "
        f"(state in {stack.state_dir})",
        err=True,
    )
    _print_env(stack)


def _running_stack(state_dir: str | None) -> local_stack.LocalStack:
    stack = local_stack.status(state_dir)
    if stack is None:
        where = state_dir or local_stack.default_state_dir()
        _fail(
            S3CSEError(
                f"no local stack is running (state directory {where})",
                hint="Start it with: s3cse local start",
            )
        )
    return stack


@local.command("env")
@state_dir_option
def local_env(state_dir: str | None) -> None:
    """Print the environment for the running stack (use: eval "$(s3cse local env)")."""
    _print_env(_running_stack(state_dir))


@local.command("stop")
@state_dir_option
def local_stop(state_dir: str | None) -> None:
    """Stop the stack started from this state directory."""
    stopped = local_stack.stop(state_dir)
    click.echo("stopped the local stack" if stopped else "no local stack was running")


@local.command("create-kms-key")
@state_dir_option
@click.option(
    "--alias", metavar="alias/NAME", help="Also name the key with this alias (e.g. alias/my-key)."
)
def local_create_kms_key(state_dir: str | None, alias: str | None) -> None:
    """Create a KMS key on the local stack and print its id."""
    key_id = local_stack.create_kms_key(_running_stack(state_dir), alias)
    if alias:
        click.echo(
            f"# {alias if alias.startswith('alias/') else 'alias/' + alias} names {key_id}",
            err=True,
        )
    click.echo(key_id)


if __name__ == "__main__":  # pragma: no cover
    main()
