"""Generate the known-answer test vectors in tests/vectors/*.json.

Run from the repository root (needs the official client's venv, made by `make peers`):

    .venv/bin/python tests/vectors/generate.py           # (re)write the fixtures
    .venv/bin/python tests/vectors/generate.py --check   # regenerate in memory, compare

``S3CSE_OFFICIAL_PYTHON`` names the official client's interpreter (default
``.venv-peers/official/bin/python``). Re-running rewrites identical files: every input
(keys, data keys, IVs, message ids, plaintexts) is derived from the vector's name with
SHAKE-256, and the two randomized RSA paddings (OAEP, PKCS#1 v1.5) are not redrawn: the
RSA key pair and each wrapped key already stored in a fixture are kept as long as they
still unwrap to the vector's data key.

Where each vector comes from (the ``note`` of every fixture says it too):

* KMS ``kms+context`` V3 and V2 objects in object metadata are produced by the official
  AWS client (amazon-s3-encryption-client-python), run by ``official_vectors.py`` in its
  own venv with its randomness fixed (``os.urandom`` replaced in that process for the
  content IV / message id) and a recorded-KMS stand-in returning a fixed data key and
  ciphertext blob. The EncryptionContext the client sent to KMS is recorded.
* Everything the official client cannot write (it has no raw AES/RSA keyrings, writes no
  instruction files, and only reads the legacy modes) is built here from the published
  byte layouts with ``cryptography`` directly; s3cse code is never imported. The KMS
  ones among them (legacy ``kms``, KMS instruction files) are then read back by the
  official client as a check.

* One vector per real writer and mode (``writer-*.json``, docs/writers.md section 10) is
  built by ``writers/``: the object exactly as that writer stores it, instruction file
  as its raw body, with the reader options it needs and whether s3cse reads or refuses it.

No network and no s3cse code is involved in producing a vector.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import writers
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from layouts import (
    CBC,
    GCM,
    KMS_KEY_ID,
    OAEP_SHA1,
    OAEP_SHA256_JAVA,
    RESERVED,
    V2_BINDING,
    V3_BINDING,
    V3_WRAP_CODES,
    RsaMaterial,
    Vector,
    aes_gcm_wrap,
    b64,
    cbc_encrypt,
    compact,
    ecb_wrap,
    fixed,
    plaintext_for,
    pseudo_data_key,
    v3_encrypt,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PEER_SCRIPT = HERE / "official_vectors.py"
DEFAULT_PEER_PYTHON = ROOT / ".venv-peers" / "official" / "bin" / "python"
LAYOUT_NOTE = (
    "built from the published byte layout with cryptography because no peer here can "
    "produce it ({why})"
)
PEER_NOTE = (
    "produced by {peer} {version} with fixed randomness (os.urandom replaced in the peer "
    "process for the {what}; a recorded-KMS stand-in returned the fixed data key "
    "and ciphertext blob and recorded the EncryptionContext the peer sent to KMS)"
)
WHY_RAW = "the official Python client 4.0.0 has no raw AES/RSA keyrings"
WHY_LEGACY = "a legacy mode: current AWS clients only read it, and no older client runs here"
WHY_INSTRUCTION = "the official Python client 4.0.0 writes no instruction files"


def v2_metadata(
    edk: bytes,
    iv: bytes,
    cek_alg: str,
    wrap_alg: str,
    matdesc: dict[str, str],
    unencrypted_length: int | None = None,
) -> dict[str, str]:
    md = {
        "x-amz-key-v2": b64(edk),
        "x-amz-iv": b64(iv),
        "x-amz-cek-alg": cek_alg,
        "x-amz-wrap-alg": wrap_alg,
        "x-amz-matdesc": compact(matdesc),
    }
    if cek_alg == GCM:
        md["x-amz-tag-len"] = "128"
    if unencrypted_length is not None:
        md["x-amz-unencrypted-content-length"] = str(unencrypted_length)
    return dict(sorted(md.items()))


def v3_metadata(
    edk: bytes, wrap_alg: str, message_id: bytes, commitment: bytes, context: dict[str, str]
) -> dict[str, str]:
    md = {
        "x-amz-c": "115",
        "x-amz-3": b64(edk),
        "x-amz-w": V3_WRAP_CODES[wrap_alg],
        "x-amz-d": b64(commitment),
        "x-amz-i": b64(message_id),
    }
    if context:  # x-amz-t for KMS, x-amz-m for raw keyrings; absent when empty
        md["x-amz-t" if wrap_alg == "kms+context" else "x-amz-m"] = compact(context)
    return dict(sorted(md.items()))


def to_instruction_file(
    fmt: str, metadata: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Split metadata per the instruction-file layout: (object metadata, instruction file).

    V1/V2: everything goes in the instruction file. V3: x-amz-c, x-amz-d and x-amz-i stay
    in the object metadata; the rest (x-amz-3, x-amz-w, x-amz-m / x-amz-t) moves.
    """
    if fmt == "v3":
        keep = {"x-amz-c", "x-amz-d", "x-amz-i"}
        return (
            {k: v for k, v in metadata.items() if k in keep},
            {k: v for k, v in metadata.items() if k not in keep},
        )
    return {}, dict(metadata)


# ------------------------------------------------------------------ vector builders


def layout_note(why: str) -> str:
    return LAYOUT_NOTE.format(why=why)


def base(
    name: str,
    note: str,
    producer: str,
    mode: str,
    fmt: str,
    wrap_alg: str,
    cipher: str,
    legacy: bool,
    master_key: dict[str, Any],
    fixed_random: dict[str, str],
    plaintext: bytes,
    ciphertext: bytes,
    metadata: dict[str, str],
    instruction: dict[str, str] | None,
) -> Vector:
    return {
        "name": name,
        "note": note,
        "producer": producer,
        "mode": mode,
        "format": fmt,
        "wrap_alg": wrap_alg,
        "content_cipher": cipher,
        "placement": "instruction-file" if instruction is not None else "object-metadata",
        "legacy": legacy,
        "master_key": master_key,
        "fixed_random": fixed_random,
        "plaintext_hex": plaintext.hex(),
        "ciphertext_hex": ciphertext.hex(),
        "metadata": dict(sorted(metadata.items())),
        "instruction_file": dict(sorted(instruction.items())) if instruction is not None else None,
    }


LAYOUT = "generate.py (cryptography, published layout)"


def raw_gcm_vector(
    name: str,
    fmt: str,
    kind: str,
    size: int,
    matdesc: dict[str, str],
    rsa_material: RsaMaterial,
    instruction: bool = False,
) -> Vector:
    """V2 (suite 114) or V3 (suite 115) with a raw AES/GCM or RSA-OAEP-SHA1 wrap."""
    plaintext = plaintext_for(name, size)
    data_key = fixed(name, "data key", 32)
    binding = V3_BINDING if fmt == "v3" else V2_BINDING
    rand: dict[str, str] = {"data_key_hex": data_key.hex()}
    if kind == "aes":
        wrap_alg = "AES/GCM"
        kek = fixed(name, "aes master key", 32)
        wrap_iv = fixed(name, "wrap iv", 12)
        rand["wrap_iv_hex"] = wrap_iv.hex()
        edk = aes_gcm_wrap(kek, wrap_iv, data_key, binding)
        master: dict[str, Any] = {
            "kind": "aes",
            "key_hex": kek.hex(),
            "material_description": matdesc,
        }
    else:
        wrap_alg = "RSA-OAEP-SHA1"
        pseudo = pseudo_data_key(data_key, binding)
        edk = rsa_material.wrap(
            name, pseudo, OAEP_SHA1, lambda w: rsa_material.private.decrypt(w, OAEP_SHA1)
        )
        master = {
            "kind": "rsa",
            "private_key_pem": rsa_material.pem,
            "material_description": matdesc,
        }
    if fmt == "v3":
        message_id = fixed(name, "message id", 28)
        rand["message_id_hex"] = message_id.hex()
        ciphertext, commitment = v3_encrypt(data_key, message_id, plaintext)
        metadata = v3_metadata(edk, wrap_alg, message_id, commitment, matdesc)
        cipher = "115"
    else:
        iv = fixed(name, "content iv", 12)
        rand["content_iv_hex"] = iv.hex()
        ciphertext = AESGCM(data_key).encrypt(iv, plaintext, None)
        metadata = v2_metadata(edk, iv, GCM, wrap_alg, matdesc)
        cipher = GCM
    instr = None
    if instruction:
        metadata, instr = to_instruction_file(fmt, metadata)
    why = WHY_RAW + (" and writes no instruction files" if instruction else "")
    mode = f"{fmt} {wrap_alg}" + (" instruction-file" if instruction else "")
    return base(
        name,
        layout_note(why),
        LAYOUT,
        mode,
        fmt,
        wrap_alg,
        cipher,
        False,
        master,
        rand,
        plaintext,
        ciphertext,
        metadata,
        instr,
    )


def kms_layout_vector(
    name: str, fmt: str, size: int, caller_context: dict[str, str], instruction: bool
) -> Vector:
    """kms+context (V2/V3, usually in an instruction file) or legacy kms, from the layout."""
    plaintext = plaintext_for(name, size)
    data_key = fixed(name, "data key", 32)
    blob = fixed(name, "kms ciphertext blob", 184)
    rand: dict[str, str] = {}
    if fmt == "v2-kms-legacy":
        context = {"kms_cmk_id": KMS_KEY_ID}
        iv = fixed(name, "content iv", 12)
        rand["content_iv_hex"] = iv.hex()
        ciphertext = AESGCM(data_key).encrypt(iv, plaintext, None)
        metadata = v2_metadata(blob, iv, GCM, "kms", context, unencrypted_length=size)
        fmt, wrap_alg, cipher, legacy, why = "v2", "kms", GCM, True, WHY_LEGACY
    elif fmt == "v3":
        context = {**caller_context, RESERVED: "115"}
        message_id = fixed(name, "message id", 28)
        rand["message_id_hex"] = message_id.hex()
        ciphertext, commitment = v3_encrypt(data_key, message_id, plaintext)
        metadata = v3_metadata(blob, "kms+context", message_id, commitment, context)
        wrap_alg, cipher, legacy, why = "kms+context", "115", False, WHY_INSTRUCTION
    else:
        context = {**caller_context, RESERVED: GCM}
        iv = fixed(name, "content iv", 12)
        rand["content_iv_hex"] = iv.hex()
        ciphertext = AESGCM(data_key).encrypt(iv, plaintext, None)
        metadata = v2_metadata(blob, iv, GCM, "kms+context", context)
        wrap_alg, cipher, legacy, why = "kms+context", GCM, False, WHY_INSTRUCTION
    instr = None
    if instruction:
        metadata, instr = to_instruction_file(fmt, metadata)
    master = {
        "kind": "kms",
        "key_id": KMS_KEY_ID,
        "data_key_hex": data_key.hex(),
        "ciphertext_blob_hex": blob.hex(),
        "encryption_context": dict(sorted(context.items())),
        "caller_encryption_context": caller_context,
    }
    mode = f"{fmt} {wrap_alg}" + (" instruction-file" if instruction else "")
    return base(
        name,
        layout_note(why),
        LAYOUT,
        mode,
        fmt,
        wrap_alg,
        cipher,
        legacy,
        master,
        rand,
        plaintext,
        ciphertext,
        metadata,
        instr,
    )


def legacy_vector(name: str, kind: str, size: int, rsa_material: RsaMaterial) -> Vector:
    """V1 (x-amz-key, AES-CBC) and V2 legacy wraps (AESWrap, RSA-OAEP-SHA256)."""
    plaintext = plaintext_for(name, size)
    data_key = fixed(name, "data key", 32)
    rand: dict[str, str] = {"data_key_hex": data_key.hex()}
    aes_master = fixed(name, "aes master key", 32)
    aes_key = {"kind": "aes", "key_hex": aes_master.hex(), "material_description": {}}
    rsa_key = {"kind": "rsa", "private_key_pem": rsa_material.pem, "material_description": {}}
    cbc = kind in ("v1-aes", "v1-rsa", "v2-aeswrap-cbc")
    iv = fixed(name, "content iv", 16 if cbc else 12)
    rand["content_iv_hex"] = iv.hex()
    if cbc:
        ciphertext = cbc_encrypt(data_key, iv, plaintext)
    else:
        ciphertext = AESGCM(data_key).encrypt(iv, plaintext, None)
    master: dict[str, Any]
    if kind in ("v1-aes", "v1-rsa"):
        if kind == "v1-aes":
            edk, master, wrap_alg = ecb_wrap(aes_master, data_key), aes_key, "AES/ECB (V1)"
        else:
            edk = rsa_material.wrap(
                name,
                data_key,
                rsa_padding.PKCS1v15(),
                lambda w: rsa_material.private.decrypt(w, rsa_padding.PKCS1v15()),
            )
            master, wrap_alg = rsa_key, "RSA/ECB/PKCS1 (V1)"
        metadata = {
            "x-amz-key": b64(edk),
            "x-amz-iv": b64(iv),
            "x-amz-matdesc": "{}",
            "x-amz-unencrypted-content-length": str(size),
        }
        fmt, cipher = "v1", CBC
    elif kind in ("v2-aeswrap-gcm", "v2-aeswrap-cbc"):
        edk, master, wrap_alg = aes_key_wrap(aes_master, data_key), aes_key, "AESWrap"
        cipher = CBC if cbc else GCM
        metadata = v2_metadata(edk, iv, cipher, wrap_alg, {}, unencrypted_length=size)
        fmt = "v2"
    elif kind == "v2-rsa-oaep-sha256":
        wrap_alg = "RSA/ECB/OAEPWithSHA-256AndMGF1Padding"
        edk = rsa_material.wrap(
            name,
            data_key,
            OAEP_SHA256_JAVA,
            lambda w: rsa_material.private.decrypt(w, OAEP_SHA256_JAVA),
        )
        master, cipher, fmt = rsa_key, GCM, "v2"
        metadata = v2_metadata(edk, iv, GCM, wrap_alg, {}, unencrypted_length=size)
    else:
        raise ValueError(kind)
    mode = f"{fmt} {wrap_alg} + {'AES-CBC' if cbc else 'AES-GCM'}"
    return base(
        name,
        layout_note(WHY_LEGACY),
        LAYOUT,
        mode,
        fmt,
        wrap_alg,
        cipher,
        True,
        master,
        rand,
        plaintext,
        ciphertext,
        metadata,
        None,
    )


# ------------------------------------------------------------------ the official peer


PEER_VECTORS = [
    # (name, format, plaintext size, caller's encryption context)
    ("v3-kms-0", "v3", 0, {}),
    ("v3-kms-1", "v3", 1, {"department": "finance"}),
    ("v3-kms-17", "v3", 17, {"department": "finance"}),
    ("v3-kms-100", "v3", 100, {"tenant": "t1", "purpose": "vectors"}),
    ("v2-kms-0", "v2", 0, {}),
    ("v2-kms-1", "v2", 1, {"department": "finance"}),
    ("v2-kms-17", "v2", 17, {"department": "finance"}),
    ("v2-kms-100", "v2", 100, {"tenant": "t1", "purpose": "vectors"}),
]


def peer_python() -> str:
    python = os.environ.get("S3CSE_OFFICIAL_PYTHON") or str(DEFAULT_PEER_PYTHON)
    if not (os.path.isfile(python) and os.access(python, os.X_OK)):
        sys.exit(
            f"generate.py: the official client's interpreter {python} is missing: run "
            "`make peers` or set S3CSE_OFFICIAL_PYTHON"
        )
    return python


def run_peer(job: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [peer_python(), str(PEER_SCRIPT)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"generate.py: official_vectors.py failed:\n{result.stderr}")
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def peer_vectors() -> tuple[list[Vector], str]:
    requests = []
    for name, fmt, size, context in PEER_VECTORS:
        fixed_random = fixed(
            name, "message id" if fmt == "v3" else "content iv", 28 if fmt == "v3" else 12
        )
        requests.append(
            {
                "name": name,
                "format": fmt,
                "plaintext_hex": plaintext_for(name, size).hex(),
                "fixed_random_hex": fixed_random.hex(),
                "caller_context": context,
                "kms": {
                    "key_id": KMS_KEY_ID,
                    "data_key_hex": fixed(name, "data key", 32).hex(),
                    "ciphertext_blob_hex": fixed(name, "kms ciphertext blob", 184).hex(),
                },
            }
        )
    out = run_peer({"encrypt": requests})
    label = f"{out['peer']} {out['version']}"
    vectors = []
    for request, (name, fmt, _, context) in zip(requests, PEER_VECTORS, strict=True):
        produced = out["encrypt"][name]
        what = "V3 message id" if fmt == "v3" else "V2 content IV"
        key = "message_id_hex" if fmt == "v3" else "content_iv_hex"
        master = {
            "kind": "kms",
            "key_id": KMS_KEY_ID,
            "data_key_hex": request["kms"]["data_key_hex"],
            "ciphertext_blob_hex": request["kms"]["ciphertext_blob_hex"],
            "encryption_context": dict(sorted(produced["kms_encryption_context"].items())),
            "caller_encryption_context": context,
        }
        vectors.append(
            base(
                name,
                PEER_NOTE.format(peer=out["peer"], version=out["version"], what=what),
                f"{label} (cryptography {out['cryptography']})",
                f"{fmt} kms+context",
                fmt,
                "kms+context",
                "115" if fmt == "v3" else GCM,
                False,
                master,
                {key: request["fixed_random_hex"]},
                bytes.fromhex(request["plaintext_hex"]),
                bytes.fromhex(produced["ciphertext_hex"]),
                produced["metadata"],
                None,
            )
        )
    return vectors, label


def peer_check(vectors: list[Vector], label: str) -> None:
    """Let the official client read every KMS vector; fail loudly if it cannot."""
    requests = []
    for v in vectors:
        key = v["master_key"]
        if key["kind"] != "kms":
            continue
        requests.append(
            {
                "name": v["name"],
                "format": v["format"],
                "legacy_wrapping": v["wrap_alg"] == "kms",
                "ciphertext_hex": v["ciphertext_hex"],
                "metadata": v["metadata"],
                "instruction_file": v["instruction_file"],
                "caller_context": key["caller_encryption_context"],
                "plaintext_hex": v["plaintext_hex"],
                "kms": {
                    "key_id": key["key_id"],
                    "data_key_hex": key["data_key_hex"],
                    "ciphertext_blob_hex": key["ciphertext_blob_hex"],
                    "encryption_context": key["encryption_context"],
                },
            }
        )
    results = run_peer({"decrypt": requests})["decrypt"]
    failed = {name: r["error"] for name, r in results.items() if not r["ok"]}
    if failed:
        sys.exit(f"generate.py: {label} cannot read these vectors: {failed}")
    for v in vectors:
        if v["name"] in results and v["producer"] == LAYOUT:
            v["note"] += f"; read back by {label} as a check"


# ------------------------------------------------------------------ the vector set


def build(existing: dict[str, Vector]) -> list[Vector]:
    rsa_material = RsaMaterial(existing)
    vectors, label = peer_vectors()
    md_key = {"key": "2026"}
    for fmt in ("v2", "v3"):
        for size, matdesc in ((0, {}), (1, md_key), (17, {}), (100, md_key)):
            vectors.append(
                raw_gcm_vector(f"{fmt}-aes-gcm-{size}", fmt, "aes", size, matdesc, rsa_material)
            )
        for size, matdesc in ((1, {}), (17, md_key), (100, {})):
            vectors.append(
                raw_gcm_vector(
                    f"{fmt}-rsa-oaep-sha1-{size}", fmt, "rsa", size, matdesc, rsa_material
                )
            )
        vectors.append(
            raw_gcm_vector(
                f"{fmt}-aes-gcm-instruction-17",
                fmt,
                "aes",
                17,
                md_key,
                rsa_material,
                instruction=True,
            )
        )
        vectors.append(
            raw_gcm_vector(
                f"{fmt}-rsa-oaep-sha1-instruction-100",
                fmt,
                "rsa",
                100,
                {},
                rsa_material,
                instruction=True,
            )
        )
        vectors.append(
            kms_layout_vector(
                f"{fmt}-kms-instruction-17", fmt, 17, {"department": "finance"}, instruction=True
            )
        )
    for size in (1, 100):
        vectors.append(
            kms_layout_vector(
                f"v2-kms-legacy-gcm-{size}", "v2-kms-legacy", size, {}, instruction=False
            )
        )
    for kind, sizes in (
        ("v1-aes", (0, 17, 100)),
        ("v1-rsa", (1, 100)),
        ("v2-aeswrap-gcm", (1, 100)),
        ("v2-aeswrap-cbc", (0, 17)),
        ("v2-rsa-oaep-sha256", (17, 100)),
    ):
        for size in sizes:
            vectors.append(legacy_vector(f"{kind}-{size}", kind, size, rsa_material))
    peer_check(vectors, label)
    vectors += writers.build(rsa_material)
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return vectors


def render(vector: Vector) -> str:
    return json.dumps(vector, indent=2) + "\n"


def load_existing() -> dict[str, Vector]:
    existing = {}
    for path in sorted(HERE.glob("*.json")):
        data = json.loads(path.read_text())
        existing[data["name"]] = data
    return existing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate in memory and report files that would change",
    )
    args = parser.parse_args()
    existing = load_existing()
    wanted = {f"{v['name']}.json": render(v) for v in build(existing)}
    on_disk = {p.name: p.read_text() for p in HERE.glob("*.json")}
    changed = sorted(n for n, text in wanted.items() if on_disk.get(n) != text)
    stale = sorted(set(on_disk) - set(wanted))
    if args.check:
        for name in changed:
            print(f"would change: {name}")
        for name in stale:
            print(f"would remove: {name}")
        return 1 if changed or stale else 0
    for name in changed:
        (HERE / name).write_text(wanted[name])
    for name in stale:
        (HERE / name).unlink()
    print(f"{len(wanted)} vectors in {HERE}: {len(changed)} written, {len(stale)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
