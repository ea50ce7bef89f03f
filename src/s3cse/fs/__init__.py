"""``s3cse://``: an fsspec filesystem of client-side encrypted S3 objects.

Built on s3fs: listings, globbing, directory markers and caching are s3fs's. What
changes is what a data tool needs to see plaintext:

* Sizes are plaintext sizes. AES-GCM objects (V2, V3) are the stored size minus the
  16-byte tag, with no extra request (as Hadoop S3A does, listings assume GCM); with
  ``exact_sizes=True`` each file is resolved with a HEAD. Each entry says how its size
  was found in ``s3cse_size``: ``assumed-gcm``, ``exact``, ``not-encrypted``.
* Instruction files and integrity indexes are hidden from listings and move with their
  object on ``rm``, ``mv`` and ``cp``. A user's own object that is only named like one
  (``setup.instruction`` beside ``setup``) is listed, copied and kept (``sidecars``).
* ``open(path, "rb")`` is seekable: reads fetch only the ranges they need. How they are
  protected is explicit (see ``s3cse.reader``): objects with an integrity index are
  verified chunk by chunk; other GCM objects are downloaded and verified whole on first
  read unless ``unauthenticated_ranges=True``. Objects this filesystem writes carry an
  index by default (``integrity_index=True``).
* Opening costs at most one HEAD and one key unwrap per object per filesystem, however
  often the object is opened (Parquet readers open a file for its footer, then for its
  columns): what an open established is remembered under the object's ETag, bounded
  (``materials``), and every read names that ETag, so an overwritten object is opened
  again, never read with the materials of another version; a file open while its
  object is overwritten fails its next read rather than mix versions. ``info`` is
  answered from the remembered HEAD, as s3fs answers it from a cached listing
  (``invalidate_cache`` forgets both). Opening reads the object's tail (a Parquet
  footer), whose answer stands for the HEAD when none was made; reads then read ahead
  as far as they run forward, up to 32 MiB (``readahead``), and large ones are fetched
  as parallel parts.
* ``open(path, "wb")`` streams into the parallel multipart uploader; an exception inside
  the ``with`` block aborts the upload, leaving no object.

Errors S3 answered are raised as the built-in exceptions s3fs raises for them
(``FileNotFoundError`` for a missing object or bucket, ``PermissionError`` for access
denied, ...), each still the s3cse error it was (``ObjectNotFoundError``) with its
message. What s3cse itself finds wrong (a failed authentication, say) stays an s3cse
error only: a tampered object is never reported as missing.

Options use the CLI's names (``kms_key_id``, ``kms_discovery``, ``kms_allow``,
``aes_key_file``, ``rsa_key_file``, ``encryption_context``, ``format``, ``legacy``,
``commitment_policy``) beside s3fs's (``endpoint_url``, ``key``, ``secret``,
``client_kwargs``). The filesystem pickles as
its arguments, so worker processes rebuild their own clients; key files travel as paths,
never as key bytes. A key passed by value (``aes_key=``) never leaves the process: it is
kept out of ``storage_options``, and ``to_json``/``to_dict``/pickling refuse with a
pointer to ``aes_key_file``, because serialised filesystems end up in data catalogs,
task graphs and logs.
"""

from .errors import filesystem_error, filesystem_errors
from .files import S3CSEFile
from .filesystem import S3CSEFileSystem

__all__ = ["S3CSEFile", "S3CSEFileSystem", "filesystem_error", "filesystem_errors"]
