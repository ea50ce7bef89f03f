"""The ``s3cse`` command, in the spirit of ``aws s3``: encrypted ``cp`` (single objects
and ``--recursive``), ``sync``, ``mv``, ``ls``, ``cat``, ``rm``, ``mb``/``rb``,
``presign`` (refused unless asked for ciphertext), ``inspect``, bulk key ``rotate`` and
legacy ``migrate``, key generation, and the local S3 + KMS stack: a module each. Every
error ends as one line and an exit code (``exits``)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

import click

from ..errors import S3CSEError
from .buckets import mb, rb
from .cat import cat
from .cp import cp
from .exits import (
    DEBUG_ENV,
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_SKIPPED,
    EXIT_USAGE,
    error_line,
    fail,
    print_traceback,
    unexpected,
)
from .inspect import inspect
from .keygen import keygen
from .local import local
from .ls import ls
from .mv import mv
from .presign import presign
from .rm import rm
from .rotate import migrate, rotate
from .sync import sync

__all__ = [
    "EXIT_AUTH",
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_SKIPPED",
    "EXIT_USAGE",
    "main",
]


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
            fail(exc)
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
            click.echo(error_line(unexpected(exc)), err=True)
            print_traceback(exc)
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
      1  the operation failed (over many objects: objects failed for different
         reasons; when all failed alike, the code they share)
      2  bad usage or configuration (options, key files, local paths), a
         refusal that a flag overrides (rm of a needed sidecar, rb of a
         non-empty bucket, presign), or cp/mv --recursive or sync skipped
         files with a warning (the rest was copied)
      3  an object failed authentication (tampered, or a wrong key commitment)
      4  no such object or bucket
      130, 143  interrupted by Ctrl-C, SIGTERM (unverified files removed first)
    """
    if debug:  # tracebacks, and the library quotes encryption context values then
        os.environ[DEBUG_ENV] = "1"


for _command in (
    cat,
    cp,
    inspect,
    keygen,
    local,
    ls,
    mb,
    migrate,
    mv,
    presign,
    rb,
    rm,
    rotate,
    sync,
):
    main.add_command(_command)
