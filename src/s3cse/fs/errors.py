"""S3's error answers as the built-in exceptions fsspec users catch, as s3fs raises them."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from s3fs.errors import translate_boto_error

from ..errors import ObjectNotFoundError, S3CSEError, S3ErrorResponse, also_as

_ERRNO = {
    FileNotFoundError: errno.ENOENT,
    PermissionError: errno.EACCES,
    FileExistsError: errno.EEXIST,
    TimeoutError: errno.ETIMEDOUT,
}


def filesystem_error(error: S3CSEError, path: str) -> S3CSEError:
    """``error``, when S3 answered it, made also the built-in exception s3fs raises for that
    answer (``translate_boto_error``), with ``errno`` and ``filename`` set; s3cse's own
    findings are returned as they are."""
    if not isinstance(error, S3ErrorResponse):
        return error
    if isinstance(error, ObjectNotFoundError):  # whatever S3 called it: "404", NoSuchKey
        builtin: OSError = FileNotFoundError()
    else:
        builtin = translate_boto_error(error, set_cause=False)
    mapped = also_as(error, type(builtin))
    assert isinstance(mapped, OSError)
    mapped.errno = builtin.errno or _ERRNO.get(type(builtin), errno.EIO)
    mapped.strerror, mapped.filename = error.message, path
    return mapped


@contextlib.contextmanager
def filesystem_errors(path: str) -> Iterator[None]:
    """Raise S3's error answers inside as fsspec users expect them (``filesystem_error``)."""
    try:
        yield
    except S3CSEError as exc:
        mapped = filesystem_error(exc, path)
        if mapped is exc:
            raise
        raise mapped.with_traceback(exc.__traceback__) from None
