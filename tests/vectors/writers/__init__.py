"""One known-answer vector per real writer and mode (docs/writers.md, section 10).

Each ``writer-<writer>-<mode>-<size>.json`` is an object as that writer stores it: its
user metadata exactly as sent (header names as spelled, values as strings, empty ones
included), and its instruction file as the raw body text that writer's JSON library
produces (key order, spaces, escaping, numbers, ``null``), with the instruction
object's name suffix and its own metadata (the marker some writers set). Content and
keys come from the published byte layouts (``layouts``) with fixed inputs; KMS rows
carry a recorded exchange (fixed data key, ciphertext blob and the EncryptionContext the
writer sends). Each vector names the reader options it needs and whether s3cse reads it
(``expect: plaintext``) or refuses it (``expect: refused`` with the error and why).

The official Python client's objects already have vectors made by that client itself
(``v2-kms-*``, ``v3-kms-*``): ``writer-python-official-refs.json`` points to them.
"""

from __future__ import annotations

from layouts import RsaMaterial, Vector

from . import cpp, dotnet, go, java, php, python, ruby


def build(rsa_material: RsaMaterial) -> list[Vector]:
    """Every writer vector, in docs/writers.md order."""
    return [
        *java.sdk_v1(rsa_material),
        *java.s3ec(rsa_material),
        *go.vectors(),
        *dotnet.vectors(rsa_material),
        *cpp.vectors(),
        *php.vectors(),
        *ruby.vectors(rsa_material),
        python.official_references(),
        *python.aioboto3(rsa_material),
    ]
