"""Parallel transfers of encrypted objects: multipart uploads and ranged downloads.

``TransferManager`` is generated (``_sync/transfer.py``) from the async one; see there.
The plans are ``core.multipart``'s, the parts ``io.parts``'.
"""

from ._sync.streams import read_full
from ._sync.transfer import TransferManager
from .core.multipart import (
    MAX_PARTS,
    MIN_PART_SIZE,
    Callback,
    MiB,
    PartBuffers,
    SentPart,
    StreamCutter,
    TransferConfig,
    part_size_for,
    plan_parts,
)
from .io.parts import PartBody, TransferStopped, Upload
from .io.running import fill_part
from .io.stopping import stop_all_transfers

__all__ = [
    "MAX_PARTS",
    "MIN_PART_SIZE",
    "Callback",
    "MiB",
    "PartBody",
    "PartBuffers",
    "SentPart",
    "StreamCutter",
    "TransferConfig",
    "TransferManager",
    "TransferStopped",
    "Upload",
    "fill_part",
    "part_size_for",
    "plan_parts",
    "read_full",
    "stop_all_transfers",
]
