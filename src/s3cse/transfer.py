"""Parallel transfers of encrypted objects: multipart uploads and ranged downloads.

``TransferManager`` is generated (``_sync/transfer.py``) from the async one; see there.
The plans are ``core.multipart``'s, the parts ``io.parts``'.
"""

from ._sync.transfer import TransferManager
from .core.multipart import Callback, TransferConfig
from .io.parts import TransferStopped
from .io.stopping import stop_all_transfers

__all__ = ["Callback", "TransferConfig", "TransferManager", "TransferStopped", "stop_all_transfers"]
