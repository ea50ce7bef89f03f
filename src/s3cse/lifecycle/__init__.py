"""Key lifecycle in bulk: rotate master keys, migrate legacy objects to V3.

Both jobs are plain, picklable data (``Job``) and a function per object, so the same
work runs on a thread pool or, when one machine is not enough, on a Dask cluster.

* **rotate** re-wraps each object's data key under a new master key without touching
  the content: the instruction file is rewritten, or the object is copied onto itself
  with its metadata replaced (user metadata, content type, SSE settings and storage class
  kept; tags are kept by S3). ``CopySourceIfMatch`` guards against a concurrent writer.
* **migrate** re-encrypts legacy objects (V1, V2, AES-CBC, legacy key wraps) as V3: the
  new ciphertext goes to a temporary key, is read back and compared by SHA-256 with the
  old plaintext, and only then copied over the object (a versioned bucket keeps the old
  version). Sidecars follow; the temporary key is removed.

Neither job launders: legacy unauthenticated modes are read only when the job says so
(``legacy=True``), a KMS object is read only under the context it stores, and the rewritten
object carries that context unless the job names another (``target_context``). A legacy
wrap binds the data key to nothing, so rotation reads such an object through its tag
check before binding the key to the content algorithm it claims.

Each object ends fully done or untouched, and a second run skips what the first one
finished: rotated objects already open with the target key; migrated ones are V3.
An interrupted migration leaves at most a temporary key, which the next run finishes
or discards.
"""

from __future__ import annotations

from ..keyrings.specs import KeySpec
from .jobs import TEMP_SUFFIX, Job, ObjectResult, Summary
from .runner import list_keys, process, run

__all__ = [
    "TEMP_SUFFIX",
    "Job",
    "KeySpec",
    "ObjectResult",
    "Summary",
    "list_keys",
    "process",
    "run",
]
