# Generated from s3cse/_async/responses.py by scripts/unasync.py: edit that file instead.
"""``get_object``'s answer, typed with the body of this flavour of the client."""

from __future__ import annotations

from ..core.responses import ObjectFields
from .streams import DecryptedBody


class GetObjectResponse(ObjectFields, total=False):
    """What ``get_object`` answers: the object's fields and its plaintext."""

    Body: DecryptedBody
    """The plaintext, authenticated before it is returned (unless
    ``delayed_authentication``)."""
    ContentRange: str
    """For a ranged read: the plaintext range, ``bytes FIRST-LAST/PLAINTEXT_SIZE``."""
