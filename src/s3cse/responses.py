"""The shapes of the answers s3cse changes, for editors and type checkers (public
import path; each is declared beside what it describes)."""

from ._async.responses import AsyncGetObjectResponse
from ._sync.responses import GetObjectResponse
from .core.responses import (
    HeadObjectResponse,
    ListedObject,
    ListObjectsResponse,
    ObjectFields,
    PutObjectResponse,
    StoredFields,
)

__all__ = [
    "AsyncGetObjectResponse",
    "GetObjectResponse",
    "HeadObjectResponse",
    "ListObjectsResponse",
    "ListedObject",
    "ObjectFields",
    "PutObjectResponse",
    "StoredFields",
]
