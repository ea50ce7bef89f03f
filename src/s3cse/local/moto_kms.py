"""moto server, with its KMS able to decrypt under multi-Region keys.

moto stores the key id in a fixed 36-byte field at the head of its ciphertext blobs, the
length of a plain key id; a multi-Region key's id (``mrk-`` and 32 hex digits, 36
characters with dashes, 40 in all) is cut to 36 there, so moto cannot find the key again
and refuses every Decrypt of a data key made under one. The local stack runs moto with
that field widened to 40 bytes (ids shorter than that padded with NUL bytes, stripped
when read), so that multi-Region keys and their replicas work locally as in AWS KMS.
Everything else is moto's own.

Run: ``python -m s3cse.local.moto_kms -H 127.0.0.1 -p PORT`` (moto server's arguments).
"""

from __future__ import annotations

import sys
from typing import Any

MRK_KEY_ID_LENGTH = 40


def widen_key_id_field() -> None:
    from moto.kms import utils

    utils.KEY_ID_LEN = MRK_KEY_ID_LENGTH
    utils.HEADER_LEN = MRK_KEY_ID_LENGTH + utils.IV_LEN + utils.TAG_LEN
    utils.CIPHERTEXT_HEADER_FORMAT = f">{MRK_KEY_ID_LENGTH}s{utils.IV_LEN}s{utils.TAG_LEN}s"
    read = utils._deserialize_ciphertext_blob

    def deserialize(ciphertext_blob: bytes) -> Any:
        found = read(ciphertext_blob)
        return found._replace(key_id=found.key_id.rstrip("\x00"))

    utils._deserialize_ciphertext_blob = deserialize


def main() -> None:
    widen_key_id_field()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
