"""``s3cse sync`` and ``s3cse mv``, and ``--exclude``/``--include`` on the tree commands,
run for real in a subprocess against the local stack: what is copied (and what is not:
ETags and LastModified stay), files' times after downloads, what ``--delete`` removes
with sidecars, and that a move deletes a source only once its copy succeeded."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from s3cse.local import stack as local

from .. import legacy
from .test_cli import err, run

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Place:
    """A fresh prefix in the test bucket, a key to write under, and a scratch directory."""

    s3: Any
    bucket: str
    prefix: str
    key: Path
    tmp: Path

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def objects(self, prefix: str | None = None) -> dict[str, tuple[str, Any]]:
        """Every stored key under the prefix (sidecars too): its ETag and LastModified."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix or self.prefix
        )
        return {
            entry["Key"][len(self.prefix) :]: (entry["ETag"], entry["LastModified"])
            for page in pages
            for entry in page.get("Contents", [])
        }


@pytest.fixture
def place(stack: Any, s3: Any, bucket: str, tmp_path: Path) -> Iterator[Place]:
    # SeaweedFS makes the stack's bucket in the background: be sure it is there
    local.create_buckets(stack, (bucket,))
    key = tmp_path / "aes.key"
    key.write_bytes(os.urandom(32))
    yield Place(s3, bucket, f"sync-{uuid.uuid4().hex[:10]}/", key, tmp_path)


TREE = {
    "a.txt": b"alpha\n",
    "b.log": b"bravo log\n" * 50,
    "sub/c.txt": os.urandom(70_001),
    "sub/deep/d.bin": b"",
}


def make_tree(root: Path, files: dict[str, bytes] = TREE, *, age: float = 100) -> Path:
    """The files under ``root``, modified ``age`` seconds ago (before any upload)."""
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        past = path.stat().st_mtime - age
        os.utime(path, (past, past))
    return root


def tree_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def s3cse(place: Place, *args: Any) -> Any:
    return run(*args, "--aes-key-file", place.key)


def ok(result: Any) -> list[str]:
    assert result.returncode == 0, err(result)
    assert "Traceback" not in err(result)
    return sorted(result.stdout.decode().splitlines())


def verbs(lines: list[str]) -> list[tuple[str, str]]:
    """(verb, the path after the last '/') of each output line, sorted."""
    return sorted((line.split(":", 1)[0], line.rsplit("/", 1)[-1]) for line in lines)


# ---------------------------------------------------------------------------- local <-> S3


def test_a_second_sync_copies_and_prints_nothing(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    first = ok(s3cse(place, "sync", root, place.url, "--instruction-file"))
    assert verbs(first) == [
        ("upload", "a.txt"),
        ("upload", "b.log"),
        ("upload", "c.txt"),
        ("upload", "d.bin"),
    ]
    stored = place.objects()
    assert "a.txt.instruction" in stored
    again = s3cse(place, "sync", root, place.url, "--instruction-file")
    assert ok(again) == [] and err(again) == ""
    assert place.objects() == stored  # no PUT: every ETag and LastModified unchanged


def test_only_a_changed_file_is_uploaded_again(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    ok(s3cse(place, "sync", root, place.url))
    before = place.objects()
    (root / "a.txt").write_bytes(b"alpha, longer now\n")
    assert verbs(ok(s3cse(place, "sync", root, place.url))) == [("upload", "a.txt")]
    # same size, newer time
    newer = root / "sub" / "c.txt"
    newer.write_bytes(os.urandom(70_001))
    future = newer.stat().st_mtime + 3600
    os.utime(newer, (future, future))
    assert verbs(ok(s3cse(place, "sync", root, place.url))) == [("upload", "c.txt")]
    after = place.objects()
    assert {k for k in after if after[k] != before.get(k)} == {"a.txt", "sub/c.txt"}
    got = place.tmp / "got.bin"
    ok(s3cse(place, "cp", f"{place.url}sub/c.txt", got))
    assert got.read_bytes() == newer.read_bytes()


def test_size_only_ignores_a_newer_time(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    ok(s3cse(place, "sync", root, place.url))
    path = root / "a.txt"
    path.write_bytes(b"ALPHA\n")
    future = path.stat().st_mtime + 3600
    os.utime(path, (future, future))
    assert ok(s3cse(place, "sync", root, place.url, "--size-only")) == []
    assert verbs(ok(s3cse(place, "sync", root, place.url))) == [("upload", "a.txt")]


def test_dryrun_prints_and_changes_nothing(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    lines = ok(run("sync", root, place.url, "--dryrun"))  # needs no key
    assert verbs(lines) == [
        ("(dryrun) upload", "a.txt"),
        ("(dryrun) upload", "b.log"),
        ("(dryrun) upload", "c.txt"),
        ("(dryrun) upload", "d.bin"),
    ]
    assert place.objects() == {}
    ok(s3cse(place, "sync", root, place.url))
    (root / "a.txt").unlink()
    fresh = place.tmp / "fresh"
    assert verbs(ok(run("sync", place.url, fresh, "--dry-run"))) == [
        ("(dryrun) download", "a.txt"),
        ("(dryrun) download", "b.log"),
        ("(dryrun) download", "c.txt"),
        ("(dryrun) download", "d.bin"),
    ]
    before = place.objects()
    assert verbs(ok(run("sync", root, place.url, "--delete", "--dryrun"))) == [
        ("(dryrun) delete", "a.txt")
    ]
    assert place.objects() == before and not fresh.exists()


def test_delete_removes_objects_with_their_sidecars_but_not_what_filters_leave_out(
    place: Place,
) -> None:
    root = make_tree(place.tmp / "src")
    ok(s3cse(place, "sync", root, place.url, "--instruction-file", "--integrity-index"))
    assert {"a.txt.instruction", "b.log.s3cse-index"} <= set(place.objects())
    (root / "a.txt").unlink()
    (root / "b.log").unlink()
    lines = ok(s3cse(place, "sync", root, place.url, "--delete", "--exclude", "*.log"))
    assert lines == [f"delete: {place.url}a.txt"]
    left = set(place.objects())
    assert not any(k.startswith("a.txt") for k in left)
    assert {"b.log", "b.log.instruction", "b.log.s3cse-index", "sub/c.txt"} <= left


def test_s3_to_a_fresh_directory_reproduces_the_tree_with_object_times(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    ok(s3cse(place, "sync", root, place.url))
    fresh = place.tmp / "fresh" / "copy"
    assert len(ok(s3cse(place, "sync", place.url, fresh))) == len(TREE)
    stored = place.objects()
    for relative in TREE:
        status = (fresh / relative).stat()
        assert status.st_mtime == stored[relative][1].timestamp()
        assert status.st_atime == status.st_mtime
    assert tree_of(fresh) == TREE
    before = place.objects()
    for src, dst in ((place.url, fresh), (fresh, place.url), (root, place.url)):
        again = s3cse(place, "sync", src, dst)
        assert ok(again) == [] and err(again) == "", (src, dst)
    assert place.objects() == before
    assert tree_of(fresh) == TREE


def test_download_times_decide_the_next_download(place: Place) -> None:
    root = make_tree(place.tmp / "src", {"a.txt": b"one\n"})
    ok(s3cse(place, "sync", root, place.url))
    local = place.tmp / "local"
    ok(s3cse(place, "sync", place.url, local))
    path = local / "a.txt"
    path.write_bytes(b"own\n")  # same size
    older = path.stat().st_mtime - 3600
    os.utime(path, (older, older))
    # the AWS CLI's rule: a file older than its object is left alone...
    assert ok(s3cse(place, "sync", place.url, local)) == []
    # ...unless the times must match exactly
    assert verbs(ok(s3cse(place, "sync", place.url, local, "--exact-timestamps"))) == [
        ("download", "a.txt")
    ]
    assert path.read_bytes() == b"one\n"
    # and a file newer than its object is downloaded again
    path.write_bytes(b"new\n")
    assert verbs(ok(s3cse(place, "sync", place.url, local))) == [("download", "a.txt")]
    assert path.read_bytes() == b"one\n"


def test_delete_removes_local_files(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    ok(s3cse(place, "sync", root, place.url))
    local = make_tree(place.tmp / "local", {"extra.txt": b"x", "keep.log": b"y", **TREE})
    lines = ok(s3cse(place, "sync", place.url, local, "--delete", "--exclude", "*.log"))
    assert lines == [f"delete: {local / 'extra.txt'}"]
    assert tree_of(local) == {**TREE, "keep.log": b"y"}


def test_a_legacy_or_unencrypted_object_is_not_copied_again_on_every_run(place: Place) -> None:
    files = {"plain.txt": b"p" * 100, "cbc.txt": b"c" * 100}
    root = make_tree(place.tmp / "src", files)
    place.s3.put_object(
        Bucket=place.bucket, Key=f"{place.prefix}plain.txt", Body=files["plain.txt"]
    )
    body, metadata = legacy.v1_aes_cbc(place.key.read_bytes(), files["cbc.txt"])
    place.s3.put_object(
        Bucket=place.bucket, Key=f"{place.prefix}cbc.txt", Body=body, Metadata=metadata
    )
    before = place.objects()
    assert ok(s3cse(place, "sync", root, place.url)) == []
    assert place.objects() == before
    # a real change is still seen
    (root / "plain.txt").write_bytes(b"q" * 101)
    assert verbs(ok(s3cse(place, "sync", root, place.url))) == [("upload", "plain.txt")]


# ---------------------------------------------------------------------------- S3 -> S3


def test_s3_to_s3_re_encrypts_and_then_copies_nothing(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    source, target = place.url + "from/", place.url + "to/"
    ok(s3cse(place, "sync", root, source))
    lines = ok(s3cse(place, "sync", source, target))
    assert len(lines) == len(TREE) and all(line.startswith("copy: ") for line in lines)
    originals = place.objects(place.prefix + "from/")
    # decrypted and encrypted again: a fresh data key, so other ciphertext
    assert all(
        etag != originals["from/" + key[len("to/") :]][0]
        for key, (etag, _) in place.objects(place.prefix + "to/").items()
    )
    copied = place.objects(place.prefix + "to/")
    assert ok(s3cse(place, "sync", source, target)) == []
    assert place.objects(place.prefix + "to/") == copied
    got = place.tmp / "got"
    ok(s3cse(place, "sync", target, got))
    assert tree_of(got) == TREE


# ---------------------------------------------------------------------------- filters


ONLY_TXT = ["--exclude", "*", "--include", "*.txt"]


def test_filters_keep_command_line_order_on_every_tree_command(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    txt = [("upload", "a.txt"), ("upload", "c.txt")]
    assert verbs(ok(s3cse(place, "cp", "-r", root, place.url + "cp/", *ONLY_TXT))) == txt
    assert verbs(ok(s3cse(place, "sync", root, place.url + "sync/", *ONLY_TXT))) == txt
    dry = ok(run("cp", "-r", root, place.url + "dry/", "--dryrun", *ONLY_TXT))
    assert verbs(dry) == [("(dryrun) upload", "a.txt"), ("(dryrun) upload", "c.txt")]
    assert set(place.objects(place.prefix + "sync/")) == {"sync/a.txt", "sync/sub/c.txt"}
    assert place.objects(place.prefix + "dry/") == {}
    # the other order: the later --exclude wins
    later = ok(
        s3cse(place, "cp", "-r", root, place.url + "rev/", "--include", "*.txt", "--exclude", "*")
    )
    assert later == []
    ok(s3cse(place, "cp", "-r", root, place.url + "all/"))
    down = place.tmp / "down"
    ok(s3cse(place, "cp", "-r", place.url + "all/", down, "--exclude", "sub/*"))
    assert set(tree_of(down)) == {"a.txt", "b.log"}
    removed = ok(run("rm", "-r", place.url + "all/", *ONLY_TXT))
    assert verbs(removed) == [("delete", "a.txt"), ("delete", "c.txt")]
    assert set(place.objects(place.prefix + "all/")) == {"all/b.log", "all/sub/deep/d.bin"}


def test_rm_with_filters_takes_sidecars_only_with_their_objects(place: Place) -> None:
    root = make_tree(place.tmp / "src", {"a.txt": b"a", "a.log": b"b"})
    ok(s3cse(place, "cp", "-r", root, place.url, "--instruction-file"))
    assert ok(run("rm", "-r", place.url, "--exclude", "*.txt")) == [f"delete: {place.url}a.log"]
    assert set(place.objects()) == {"a.txt", "a.txt.instruction"}


# ---------------------------------------------------------------------------- mv


def test_mv_one_object_each_way(place: Place) -> None:
    src = place.tmp / "one.txt"
    src.write_bytes(b"moving\n")
    url = place.url + "one.txt"
    assert ok(s3cse(place, "mv", src, url)) == [f"move: {src} to {url}"]
    assert not src.exists()
    other = place.url + "two.txt"
    assert ok(s3cse(place, "mv", url, other)) == [f"move: {url} to {other}"]
    into = place.tmp / "new" / "dir" / "back.txt"
    assert ok(s3cse(place, "mv", other, into)) == [f"move: {other} to {into}"]
    assert into.read_bytes() == b"moving\n"
    assert place.objects() == {}


def test_mv_of_a_tampered_object_keeps_it_and_writes_nothing(place: Place) -> None:
    src = place.tmp / "one.txt"
    src.write_bytes(b"genuine\n")
    url = place.url + "one.txt"
    ok(s3cse(place, "cp", src, url))
    tamper(place, place.prefix + "one.txt")
    into = place.tmp / "out" / "one.txt"
    result = s3cse(place, "mv", url, into)
    assert result.returncode == 3, err(result)
    assert not into.exists()
    assert set(place.objects()) == {"one.txt"}


def test_mv_onto_itself_is_refused(place: Place) -> None:
    url = place.url + "same.txt"
    result = s3cse(place, "mv", url, url)
    assert result.returncode == 2 and "onto itself" in err(result)
    result = s3cse(place, "mv", "-r", place.url, place.url)
    assert result.returncode == 2 and "onto itself" in err(result)


def test_mv_dryrun_moves_nothing(place: Place) -> None:
    src = place.tmp / "one.txt"
    src.write_bytes(b"stay\n")
    url = place.url + "one.txt"
    assert ok(run("mv", src, url, "--dryrun")) == [f"(dryrun) move: {src} to {url}"]
    assert src.exists() and place.objects() == {}


def test_mv_recursive_keeps_the_source_of_what_failed(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    ok(s3cse(place, "cp", "-r", root, place.url, "--instruction-file"))
    tamper(place, place.prefix + "b.log")
    local = place.tmp / "local"
    result = s3cse(place, "mv", "-r", place.url, local, "--exclude", "sub/deep/*")
    assert result.returncode == 3, err(result)
    assert "b.log" in err(result)
    assert sorted(result.stdout.decode().splitlines()) == [
        f"move: {place.url}a.txt to {local / 'a.txt'}",
        f"move: {place.url}sub/c.txt to {local / 'sub' / 'c.txt'}",
    ]
    assert tree_of(local) == {"a.txt": TREE["a.txt"], "sub/c.txt": TREE["sub/c.txt"]}
    assert set(place.objects()) == {
        "b.log",
        "b.log.instruction",
        "sub/deep/d.bin",
        "sub/deep/d.bin.instruction",
    }


def test_mv_recursive_upload_removes_only_what_it_uploaded(place: Place) -> None:
    root = make_tree(place.tmp / "src")
    lines = ok(s3cse(place, "mv", "-r", root, place.url, *ONLY_TXT))
    assert verbs(lines) == [("move", "a.txt"), ("move", "c.txt")]
    assert set(tree_of(root)) == {"b.log", "sub/deep/d.bin"}
    assert set(place.objects()) == {"a.txt", "sub/c.txt"}


def test_a_single_download_creates_parents_and_takes_the_object_time(place: Place) -> None:
    src = place.tmp / "f.bin"
    src.write_bytes(b"data")
    ok(s3cse(place, "cp", src, place.url + "f.bin"))
    target = place.tmp / "a" / "b" / "f.bin"
    ok(s3cse(place, "cp", place.url + "f.bin", target))
    modified = place.objects()["f.bin"][1].timestamp()
    assert target.read_bytes() == b"data" and target.stat().st_mtime == modified
    assert ok(run("cp", place.url + "f.bin", place.tmp / "x", "--dryrun")) == [
        f"(dryrun) download: {place.url}f.bin to {place.tmp / 'x'}"
    ]
    assert not (place.tmp / "x").exists()


def tamper(place: Place, key: str) -> None:
    """Flip a byte of the stored ciphertext, keeping its metadata."""
    got = place.s3.get_object(Bucket=place.bucket, Key=key)
    body = bytearray(got["Body"].read())
    body[len(body) // 2] ^= 1
    place.s3.put_object(Bucket=place.bucket, Key=key, Body=bytes(body), Metadata=got["Metadata"])


# ---------------------------------------------------------------------------- attributes, keys


def test_sync_and_mv_write_the_attributes_given(place: Place) -> None:
    root = make_tree(place.tmp / "src", {"a.txt": b"alpha\n"})
    ok(s3cse(place, "sync", root, place.url, "--metadata", "origin=erp", "--tagging", "t=1"))
    head = place.s3.head_object(Bucket=place.bucket, Key=place.prefix + "a.txt")
    assert head["Metadata"].get("origin") == "erp"
    assert head["ContentType"].startswith("text/plain")  # guessed, as aws s3 sync does
    tags = place.s3.get_object_tagging(Bucket=place.bucket, Key=place.prefix + "a.txt")
    assert tags["TagSet"] == [{"Key": "t", "Value": "1"}]
    src = place.tmp / "one.bin"
    src.write_bytes(b"moving\n")
    ok(s3cse(place, "mv", src, place.url + "one.bin", "--cache-control", "no-cache"))
    head = place.s3.head_object(Bucket=place.bucket, Key=place.prefix + "one.bin")
    assert head["CacheControl"] == "no-cache" and not src.exists()


def test_sync_and_mv_between_prefixes_write_under_the_to_key(place: Place) -> None:
    root = make_tree(place.tmp / "src", {"a.txt": b"alpha\n", "sub/b.txt": b"bravo\n"})
    new_key = place.tmp / "new.key"
    new_key.write_bytes(os.urandom(32))
    source, target = place.url + "from/", place.url + "to/"
    ok(s3cse(place, "sync", root, source))
    ok(s3cse(place, "sync", source, target, "--to-aes-key-file", new_key))
    moved = place.url + "moved/a.txt"
    ok(s3cse(place, "mv", source + "a.txt", moved, "--to-aes-key-file", new_key))
    for url in (target + "a.txt", target + "sub/b.txt", moved):
        assert run("cat", url, "--aes-key-file", new_key).returncode == 0
        under_old = s3cse(place, "cat", url)
        assert under_old.returncode != 0 and under_old.stdout == b""
    local = s3cse(place, "sync", root, target, "--to-aes-key-file", new_key)
    assert local.returncode == 2 and "s3:// to s3://" in err(local)
