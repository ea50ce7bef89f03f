"""The botocore configuration of the clients s3cse builds itself.

Retrying is botocore's job: its ``standard`` mode retries throttling (S3 ``SlowDown``,
KMS ``ThrottlingException``), 5xx answers and broken or timed-out connections with
exponential backoff and jitter, and rewinds request bodies before it resends them.
boto3 still defaults to the older ``legacy`` mode, so the clients s3cse creates ask for
``standard`` unless ``AWS_RETRY_MODE`` says otherwise; ``AWS_MAX_ATTEMPTS`` is honoured
either way. Clients a caller passes in keep their own configuration.

A body that breaks after its response has started is not retried by botocore; s3cse
then fails with ``S3RequestError`` (see ``_async.bodies``) rather than resume by itself.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_MODE = "standard"


def botocore_config(**overrides: Any) -> Any:
    """A ``botocore.config.Config`` with the retry mode s3cse wants."""
    from botocore.config import Config

    mode = os.environ.get("AWS_RETRY_MODE") or DEFAULT_MODE
    return Config(retries={"mode": mode}, **overrides)


def aio_botocore_config(**overrides: Any) -> Any:
    """The same for aiobotocore clients (an ``AioConfig``)."""
    from aiobotocore.config import AioConfig

    mode = os.environ.get("AWS_RETRY_MODE") or DEFAULT_MODE
    return AioConfig(retries={"mode": mode}, **overrides)
