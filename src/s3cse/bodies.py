"""S3 response bodies whose read failures name the object instead of the socket."""

from ._async.bodies import AsyncGuardedBody
from ._sync.bodies import GuardedBody
from .io.botocore import async_body_errors, broken_read

__all__ = ["AsyncGuardedBody", "GuardedBody", "async_body_errors", "broken_read"]
