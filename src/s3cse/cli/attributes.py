"""The attributes stored with what a command writes (``options.attribute_options``):
parsed and checked before anything is written, then turned into the PutObject arguments
of an upload (its MIME type guessed from the file name) or of an s3:// to s3:// copy
(the source's attributes kept, as ``aws s3 cp`` keeps them)."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..client import translate_s3_error
from ..core import envelope
from ..errors import ConfigurationError
from ..lifecycle.objects import content_headers
from .objects import S3Url, s3_errors

_HEADER_OPTIONS = {
    "content_type": "ContentType",
    "cache_control": "CacheControl",
    "content_disposition": "ContentDisposition",
    "content_encoding": "ContentEncoding",
    "content_language": "ContentLanguage",
    "storage_class": "StorageClass",
    "acl": "ACL",
}


@dataclass(frozen=True)
class Attributes:
    """What ``attribute_options`` gave, as PutObject arguments (``args``), and how the
    rest are chosen."""

    args: dict[str, Any] = field(default_factory=dict)
    guess_mime_type: bool = True
    directive: str = "COPY"
    """``--metadata-directive``: whether a copy keeps its source's attributes."""

    @classmethod
    def from_options(cls, kwargs: dict[str, Any]) -> Attributes:
        """The attribute options a command took, taken out of ``kwargs`` and checked."""
        args = {
            name: kwargs.pop(option)
            for option, name in _HEADER_OPTIONS.items()
            if kwargs.get(option) is not None
        }
        for option in _HEADER_OPTIONS:
            kwargs.pop(option, None)
        expires, metadata, tagging = (
            kwargs.pop(o, None) for o in ("expires", "metadata", "tagging")
        )
        if expires is not None:
            args["Expires"] = parse_expires(expires)
        if metadata is not None:
            args["Metadata"] = parse_metadata(metadata)
        if tagging is not None:
            args["Tagging"] = check_tagging(tagging)
        return cls(
            args,
            guess_mime_type=kwargs.pop("guess_mime_type", True),
            directive=kwargs.pop("metadata_directive", None) or "COPY",
        )

    def for_upload(self, src: str) -> dict[str, Any]:
        """An upload's arguments: a file's Content-Type guessed from its name unless
        given (or ``--no-guess-mime-type``); stdin (``-``) has no name to guess from."""
        return {**self._guessed(None if src == "-" else src), **self.args}

    def for_copy(self, s3: Any, source: S3Url, response: Mapping[str, Any]) -> dict[str, Any]:
        """A copy's arguments. COPY: the source's Content-*, Cache-Control, Expires, user
        metadata (``response`` is its decrypting GET: the encryption metadata is not in
        its ``Metadata``) and tags, each replaced by the flag that names it. REPLACE:
        the flags only (the Content-Type guessed from the key). The storage class and
        ACL are never copied (the copy takes the bucket's defaults unless given)."""
        if self.directive == "REPLACE":
            return {**self._guessed(source.key), **self.args}
        kept = content_headers(response)
        if response.get("Metadata"):
            kept["Metadata"] = dict(response["Metadata"])
        tags = source_tags(s3, source)
        if tags:
            kept["Tagging"] = tags
        return {**kept, **self.args}

    def _guessed(self, name: str | None) -> dict[str, str]:
        if not self.guess_mime_type or name is None or "ContentType" in self.args:
            return {}
        guessed = mimetypes.guess_type(name)[0]
        return {"ContentType": guessed} if guessed else {}


def source_tags(s3: Any, source: S3Url) -> str:
    """An object's tags, URL-encoded as PutObject's ``Tagging`` takes them."""
    try:
        response = s3.get_object_tagging(Bucket=source.bucket, Key=source.key)
    except s3_errors() as exc:
        raise translate_s3_error(exc, source.bucket, source.key, "tags read") from None
    return urlencode([(tag["Key"], tag["Value"]) for tag in response.get("TagSet", [])])


def parse_metadata(text: str) -> dict[str, str]:
    """``--metadata``: a JSON object of strings, or ``KEY=VALUE,KEY=VALUE`` as ``aws``
    takes a map; a name the encryption metadata uses is refused."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            raise ConfigurationError(f"--metadata is not valid JSON: {text!r}") from None
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigurationError("--metadata as JSON must map names to strings")
        pairs = dict(value)
    else:
        pairs = {}
        for pair in text.split(","):
            name, sep, entry = pair.partition("=")
            if not sep or not name.strip():
                raise ConfigurationError(
                    f"--metadata takes KEY=VALUE[,KEY=VALUE...] or a JSON object, not {text!r}"
                )
            pairs[name.strip()] = entry
    try:
        return envelope.check_user_metadata(pairs)
    except ConfigurationError as exc:
        raise ConfigurationError(f"--metadata: {exc.message}") from None


def check_tagging(text: str) -> str:
    """``--tagging``, URL-encoded ``KEY=VALUE&KEY=VALUE`` as S3 takes it: checked here so
    that a typo is one usage error, not a failed write."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ConfigurationError(
            f"--tagging takes URL-encoded KEY=VALUE[&KEY=VALUE...], not {text!r}"
        ) from None
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"--tagging names a tag twice: {text!r}")
    return text


def parse_expires(text: str) -> datetime:
    """``--expires``: ISO 8601 (UTC unless it has an offset) or seconds since the epoch."""
    try:
        if text.strip().isdigit():
            return datetime.fromtimestamp(int(text), timezone.utc)
        when = datetime.fromisoformat(text.strip())
    except (ValueError, OverflowError):
        raise ConfigurationError(
            f"--expires takes an ISO 8601 date (2030-01-31T12:00:00Z) or epoch seconds, "
            f"not {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
