"""How the AWS clients s3cse builds find AWS, and what to tell a user when they cannot.

botocore fails in a few ways before AWS has answered anything: it found no credentials,
no region, or no endpoint that answers. Its messages say what is missing, not how to
provide it; ``unreachable`` turns each into a message and a hint, the same for S3 and
KMS, for the sync and async clients and the command line alike.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import ConfigurationError
from .retries import botocore_config

CREDENTIALS_HINT = (
    "Provide AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, name a "
    "profile (AWS_PROFILE, or --profile on the command line), or run 'aws configure'"
)
REGION_HINT = (
    "Name the AWS region: pass --region on the command line, set AWS_REGION (or "
    "AWS_DEFAULT_REGION), or give your profile a region ('aws configure')"
)
_ENDPOINT_OPTIONS = {
    "s3": "--endpoint-url or AWS_ENDPOINT_URL_S3",
    "kms": "--kms-endpoint-url or AWS_ENDPOINT_URL_KMS",
}
# Answers that mean AWS does not accept the credentials themselves (not the permission).
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "TokenRefreshRequired",
        "InvalidToken",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
    }
)


def session(profile: str | None = None, region: str | None = None) -> Any:
    """A boto3 session for the given profile and region (None: the usual lookup)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        name = profile or getattr(exc, "kwargs", {}).get("profile", "")
        raise ConfigurationError(
            f"no AWS profile named {name!r} in the AWS config and credentials files",
            hint="List the profiles with 'aws configure list-profiles', or create one with "
            "'aws configure --profile NAME'",
        ) from None


def client(
    service: str,
    *,
    endpoint_url: str | None = None,
    profile: str | None = None,
    region: str | None = None,
) -> Any:
    """A boto3 client with s3cse's retry settings; a missing region is said plainly."""
    from botocore.exceptions import NoRegionError

    try:
        return session(profile, region).client(
            service, endpoint_url=endpoint_url, config=botocore_config()
        )
    except NoRegionError:
        raise ConfigurationError(
            f"no AWS region is set, and {service.upper()} needs one",
            hint=REGION_HINT,
        ) from None


class LazyClient:
    """A boto3 client built on its first request. A setting it lacks (no region, say)
    then fails that request, inside the call that names the object, instead of the
    command's set-up, which knows no object yet."""

    def __init__(
        self,
        service: str,
        *,
        endpoint_url: str | None = None,
        profile: str | None = None,
        region: str | None = None,
    ) -> None:
        self._service, self._endpoint_url = service, endpoint_url
        self._profile, self._region = profile, region
        self._client: Any = None
        self._lock = threading.Lock()  # a boto3 session is not safe to share while it builds

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        with self._lock:
            if self._client is None:
                self._client = session(self._profile, self._region).client(
                    self._service, endpoint_url=self._endpoint_url, config=botocore_config()
                )
        return getattr(self._client, name)

    def __repr__(self) -> str:
        return f"LazyClient({self._service!r}, region={self._region!r})"


def unreachable(exc: BaseException, service: str) -> tuple[str, str] | None:
    """(what went wrong, what to do) when botocore failed before AWS answered, else None."""
    from botocore.exceptions import (
        ConnectionError,
        CredentialRetrievalError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials were found", CREDENTIALS_HINT
    if isinstance(exc, (PartialCredentialsError, CredentialRetrievalError)):
        return f"the AWS credentials are incomplete ({exc})", CREDENTIALS_HINT
    if isinstance(exc, NoRegionError):
        return "no AWS region is set", REGION_HINT
    if isinstance(exc, ConnectionError):
        return (
            f"cannot reach {service.upper()}: {exc}",
            f"Check the {service.upper()} endpoint ({_ENDPOINT_OPTIONS[service]}) and the network",
        )
    return None
