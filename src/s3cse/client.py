"""The synchronous client: a boto3 S3 client that encrypts on the way up and decrypts on
the way down. It is generated (``_sync/client.py``) from the async one; see there."""

from ._sync.client import EncryptionClient
from ._sync.session import (
    fetch_content_metadata,
    listing_with_sidecars,
    probe_sidecar,
    probe_sidecars,
)
from ._sync.streams import DecryptedBody
from .core.requests import describe
from .errors import located
from .io.botocore import translate_s3_error
from .io.files import atomic_destination

__all__ = [
    "DecryptedBody",
    "EncryptionClient",
    "atomic_destination",
    "describe",
    "fetch_content_metadata",
    "listing_with_sidecars",
    "located",
    "probe_sidecar",
    "probe_sidecars",
    "translate_s3_error",
]
