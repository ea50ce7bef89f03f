"""Parallel transfers on asyncio: multipart uploads and ranged downloads, the parts going
up (and coming down) concurrently as tasks. See ``_async/transfer.py``."""

from ._async.transfer import AsyncTransferManager
from .io.stopping import cancel_all

__all__ = ["AsyncTransferManager", "cancel_all"]
