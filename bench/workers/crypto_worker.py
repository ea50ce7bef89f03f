"""s3cse's content-crypto pipeline in memory, no network: how fast can it go at all?

Encrypts ``size`` bytes in 1 MiB chunks and decrypts each ciphertext chunk as it comes
(lock-step, so memory stays at a few chunks and the final tag check is real), timing
encryption and decryption separately:

* ``GcmEncryptor`` / ``GcmDecryptor`` (``s3cse.core.ciphers``): one AES-GCM stream, what
  put_object / get_object use;
* ``PartEncryptor`` / ``PartDecryptor`` (``s3cse.core.gcm``): CTR plus GHASH per part, what
  parallel multipart uploads and ranged downloads use (tag combined at the end);
* the same parts on ``threads`` threads at once (aggregate throughput).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import _common as c

from s3cse.core.ciphers import GcmDecryptor, GcmEncryptor, new_content_key
from s3cse.core.gcm import GcmLayout, PartDecryptor, PartEncryptor
from s3cse.core.suites import FormatVersion, write_suite

CHUNK = c.MiB


def stream(size: int, content_key: Any, block: bytes) -> tuple[float, float]:
    encryptor, decryptor = GcmEncryptor(content_key), GcmDecryptor(content_key)
    twice = block + block  # the plaintext is ``block`` repeated
    enc = dec = 0.0
    done = released = 0

    def check(out: bytes) -> int:
        start = released % CHUNK
        if out != twice[start : start + len(out)]:
            raise SystemExit("decryption does not give the plaintext back")
        return len(out)

    while done < size:
        plain = block[: min(CHUNK, size - done)]
        t0 = time.perf_counter()
        ciphertext = encryptor.update(plain)
        t1 = time.perf_counter()
        out = decryptor.update(ciphertext)
        enc, dec = enc + t1 - t0, dec + time.perf_counter() - t1
        done += len(plain)
        released += check(out)
    t0 = time.perf_counter()
    tail = encryptor.finalize()
    t1 = time.perf_counter()
    out = decryptor.update(tail) + decryptor.finalize()  # raises if the tag does not verify
    dec += time.perf_counter() - t1
    released += check(out)
    if released != size:
        raise SystemExit(f"decrypted {released} of {size} bytes")
    return enc + t1 - t0, dec


def parts(layout: GcmLayout, offset: int, size: int, block: bytes) -> tuple[float, float]:
    encryptor, decryptor = PartEncryptor(layout, offset), PartDecryptor(layout, offset)
    enc = dec = 0.0
    done = 0
    while done < size:
        plain = block[: min(CHUNK, size - done)]
        t0 = time.perf_counter()
        ciphertext = encryptor.update(plain)
        t1 = time.perf_counter()
        if decryptor.update(ciphertext) != plain:
            raise SystemExit("part decryption does not give the plaintext back")
        enc, dec = enc + t1 - t0, dec + time.perf_counter() - t1
        done += len(plain)
    t0 = time.perf_counter()
    sealed = encryptor.finalize()
    t1 = time.perf_counter()
    if decryptor.finalize() != sealed:
        raise SystemExit("part hashes differ between encryption and decryption")
    return enc + t1 - t0, dec + time.perf_counter() - t1


def threaded(layout: GcmLayout, size: int, threads: int, block: bytes) -> float:
    """Wall-clock seconds for ``threads`` threads to encrypt+decrypt ``size`` bytes."""
    share = -(-size // threads // CHUNK) * CHUNK
    spans = [(o, min(share, size - o)) for o in range(0, size, share)]
    workers = [threading.Thread(target=parts, args=(layout, o, n, block)) for o, n in spans]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


def main() -> None:
    job = c.job()
    size, threads = job["size"], job["threads"]
    suite = write_suite(FormatVersion.V3)
    content_key = new_content_key(suite, os.urandom(32)).content_key
    block = os.urandom(CHUNK)
    layout = GcmLayout(content_key)
    gcm_enc, gcm_dec = stream(size, content_key, block)
    part_enc, part_dec = parts(layout, 0, size, block)
    wall = threaded(layout, size, threads, block)
    c.emit(
        {
            "gcm_encrypt_seconds": gcm_enc,
            "gcm_decrypt_seconds": gcm_dec,
            "part_encrypt_seconds": part_enc,
            "part_decrypt_seconds": part_dec,
            "threaded_roundtrip_seconds": wall,
            "threads": threads,
            "seconds": gcm_enc + gcm_dec + part_enc + part_dec + wall,
            "rss_after_setup_mib": c.vm_rss_mib(),
        }
    )


if __name__ == "__main__":
    main()
