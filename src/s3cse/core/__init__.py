"""The pure core: formats, ciphers, materials and request planning.

Nothing here touches the network, the disk, a thread or a clock it was not handed; an
import contract checked by ``make test`` keeps it that way, so the sync and async shells
share every byte of protocol logic.
"""
