"""JSON as each real writer spells it (docs/writers.md), for the writer vectors.

A reader sees these texts byte for byte: in ``x-amz-matdesc`` / ``x-amz-t`` / ``x-amz-m``
and in instruction-file bodies. Every function takes the map in the order the writer
builds it and returns the text that writer's JSON library would produce for it. The
values here are ASCII (base64, algorithm names, ARNs, short context values), which is
all the escaping rules below need to cover faithfully.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

Json = Mapping[str, Any]


def _compact(values: Json, *, ascii_only: bool = False) -> str:
    return json.dumps(dict(values), separators=(",", ":"), ensure_ascii=ascii_only)


def java_string_hash(text: str) -> int:
    """``String.hashCode()``: over UTF-16 code units, 32-bit wrap-around."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return h


def java_hashmap_order(keys: Iterable[str]) -> list[str]:
    """Iteration order of a ``new HashMap<>()`` holding ``keys`` (inserted in that order):
    by bucket (spread hash masked by the table size, 16 doubled while the map is over
    three quarters full), insertion order within a bucket."""
    keys = list(keys)
    capacity = 16
    while len(keys) > capacity * 3 // 4:
        capacity *= 2

    def bucket(key: str) -> int:
        h = java_string_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(keys, key=bucket)


def java(values: Json) -> str:
    """Jackson ``toJsonString`` of a ``HashMap``: compact, hash order, ``/`` and non-ASCII
    left as they are (Java SDK v1 and the Java S3 Encryption Client alike)."""
    return _compact({k: values[k] for k in java_hashmap_order(values)})


def go_map(values: Json) -> str:
    """Go ``json.Marshal`` of a ``map[string]string``: compact, keys sorted."""
    return go_struct(dict(sorted(values.items())))


def go_struct(values: Json) -> str:
    """Go ``json.Marshal`` of a struct (fields in declaration order): compact, with
    ``<``, ``>`` and ``&`` escaped for HTML safety."""
    text = _compact(values)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text


def php(values: Json) -> str:
    """PHP ``json_encode`` with default flags: insertion order, integers stay numbers,
    ``/`` escaped as ``\\/``, non-ASCII as ``\\uXXXX``."""
    return _compact(values, ascii_only=True).replace("/", "\\/")


def ruby(values: Json) -> str:
    """Ruby ``Json.dump`` (the json gem's generator): compact, insertion order, integers
    stay numbers, ``/`` and non-ASCII left as they are."""
    return _compact(values)


def cpp(values: Json) -> str:
    """C++ ``JsonValue::WriteCompact`` of an ``Aws::Map``: compact, keys sorted."""
    return _compact(dict(sorted(values.items())))


def litjson(values: Json) -> str:
    """LitJson (the .NET SDK's first encryption client): compact, insertion order."""
    return _compact(values)


def python(values: Json) -> str:
    """``json.dumps`` defaults: ``", "`` and ``": "`` separators, insertion order."""
    return json.dumps(dict(values))


_DOTNET_ESCAPED = frozenset("\"&'+<>`")
_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _dotnet_string(text: str) -> str:
    out = []
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char in _DOTNET_ESCAPED or ord(char) < 0x20 or ord(char) > 0x7E:
            units = char.encode("utf-16-be")
            out.extend(
                f"\\u{int.from_bytes(units[i : i + 2], 'big'):04X}" for i in range(0, len(units), 2)
            )
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def dotnet(values: Mapping[str, str | None]) -> str:
    """``System.Text.Json.Utf8JsonWriter`` with its default encoder (the .NET S3
    Encryption Client's ``JsonUtils.ToJson``): compact, insertion order; ``"`` and the
    HTML-sensitive ``&'+<>``` escaped as ``\\uXXXX`` (upper-case hex), as is non-ASCII;
    a null value written as ``null``."""
    parts = [
        _dotnet_string(key) + ":" + ("null" if value is None else _dotnet_string(value))
        for key, value in values.items()
    ]
    return "{" + ",".join(parts) + "}"
