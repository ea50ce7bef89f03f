"""What an ``s3cse://`` filesystem remembers of the objects it opened, so that opening
one again (Parquet readers open a file for its footer, then for its columns) costs no
HEAD and no KMS call.

Kept per object (bucket, key, encryption context): the ``ObjectMaterials`` of the last
version opened, under its ETag, at most ``MAX_OBJECTS`` of them (least recently used
dropped first). They hold content keys, in memory only, for as long as the filesystem
lives. A version is never trusted for another: every read names the ETag (``IfMatch``),
a listing or HEAD that shows another ETag drops the entry, and so does a write through
the filesystem. The HEAD answers of those objects (by ``info`` or by an open) are kept
as s3fs keeps listings, so that neither ``info`` nor an open asks again (data tools
call ``info`` before each open); like s3fs's listings they are dropped by
``invalidate_cache``, and by a read that finds the object changed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..core.reads import ObjectMaterials

MAX_OBJECTS = 256
MAX_HEADS = 1024

Entry = tuple[str, str, tuple[tuple[str, str], ...]]


class MaterialsCache:
    def __init__(self, limit: int = MAX_OBJECTS) -> None:
        self._limit = limit
        self._known: OrderedDict[Entry, ObjectMaterials] = OrderedDict()
        self._heads: OrderedDict[tuple[str, str], Mapping[str, Any]] = OrderedDict()
        self._lock = threading.Lock()  # the loop opens, callers' threads invalidate

    @staticmethod
    def _entry(bucket: str, key: str, context: Mapping[str, str]) -> Entry:
        return bucket, key, tuple(sorted(context.items()))

    def get(
        self, bucket: str, key: str, context: Mapping[str, str], etag: str | None
    ) -> ObjectMaterials | None:
        """The materials of the object, if known and (when ``etag`` is given) of that
        version; those of another version are dropped."""
        with self._lock:
            entry = self._entry(bucket, key, context)
            found = self._known.get(entry)
            if found is None:
                return None
            if etag is not None and etag != found.etag:
                self._known.pop(entry, None)
                return None
            self._known.move_to_end(entry)
            return found

    def put(
        self, bucket: str, key: str, context: Mapping[str, str], materials: ObjectMaterials
    ) -> None:
        with self._lock:
            entry = self._entry(bucket, key, context)
            self._known[entry] = materials
            self._known.move_to_end(entry)
            while len(self._known) > self._limit:
                self._known.popitem(last=False)

    def forget(self, bucket: str | None = None, key: str | None = None) -> None:
        """Drop what is known of an object (of everything under a bucket or prefix, or of
        everything when no bucket is named)."""
        with self._lock:
            prefix = key or ""
            for entry in [
                e
                for e in self._known
                if bucket is None or (e[0] == bucket and e[1].startswith(prefix))
            ]:
                self._known.pop(entry, None)
            for head in [
                h
                for h in self._heads
                if bucket is None or (h[0] == bucket and h[1].startswith(prefix))
            ]:
                self._heads.pop(head, None)

    def remember_head(self, bucket: str, key: str, head: Mapping[str, Any]) -> None:
        with self._lock:
            self._heads[(bucket, key)] = head
            self._heads.move_to_end((bucket, key))
            while len(self._heads) > MAX_HEADS:
                self._heads.popitem(last=False)

    def head(self, bucket: str, key: str) -> Mapping[str, Any] | None:
        """The HEAD answer last seen for the object."""
        with self._lock:
            return self._heads.get((bucket, key))
