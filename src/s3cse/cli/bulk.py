"""Running many transfers at once (``cp --recursive``): on a thread pool, each object
reported as it ends, giving up after objects in a row fail for one cause no object can
change, and stopping the transfers under way on Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from ..errors import (
    EncryptionContextMismatchError,
    InvalidRangeError,
    KmsError,
    S3CSEError,
    S3RequestError,
)
from ..transfer import stop_all_transfers
from .exits import error_line, unexpected
from .options import Sse, sse_c_hints
from .output import Callback, display_key, live_progress


@dataclass(frozen=True)
class Transfer:
    line: str
    """What is printed when it is done, e.g. ``upload: a to s3://b/a``."""
    size: int | None
    run: Callable[[Callback | None], None]


def refused(url: object, error: S3CSEError) -> Transfer:
    """A transfer that only reports why ``url`` is not copied."""

    def run(callback: Callback | None) -> None:
        raise error

    return Transfer(f"refused: {display_key(str(url))}", 0, run)


def run_transfers(
    transfers: Sequence[Transfer], concurrency: int, quiet: bool, sse: Sse, *, prime: bool = False
) -> list[S3CSEError]:
    """Run the transfers on a thread pool. ``prime``: the first one runs alone, so that
    the data-key cache holds a key before the others ask for one at the same time.
    Objects in a row failing for one cause no object can change (KMS unreachable, access
    denied, no credentials) end the run: the rest would only fail the same way."""
    failures: list[S3CSEError] = []
    sizes = [t.size for t in transfers]
    total = sum(s for s in sizes if s is not None) if None not in sizes else None
    streak = _FailureStreak()
    with live_progress(f"{len(transfers)} objects", total, quiet) as (advance, echo):

        def attempt(transfer: Transfer) -> S3CSEError | None:
            try:
                with sse_c_hints(sse):
                    transfer.run(advance)
            except S3CSEError as exc:
                return exc
            except Exception as exc:  # one object's surprise must not stop the others
                return S3RequestError(f"{transfer.line.split(':')[0]} failed: {unexpected(exc)}")
            return None

        def report(transfer: Transfer, error: S3CSEError | None) -> None:
            if error is None:
                if not quiet:
                    echo(transfer.line)
            else:
                failures.append(error)
                if not streak.repeats_given_up(error):
                    echo(error_line(error), err=True)
            streak.record(error)

        rest = list(transfers)
        if prime and rest:
            first = rest.pop(0)
            report(first, attempt(first))
        not_attempted = 0
        with worker_pool(concurrency) as pool:
            futures = {pool.submit(attempt, t): t for t in rest}
            for future in as_completed(futures):
                if future.cancelled():
                    not_attempted += 1
                    continue
                report(futures[future], future.result())
                if streak.given_up:
                    for pending in futures:
                        pending.cancel()
        if streak.given_up:
            echo(error_line(streak.giving_up(not_attempted, len(transfers))), err=True)
    return failures


GIVE_UP_AFTER = 3


class _FailureStreak:
    """Consecutive failures with one cause that is not about their objects. After
    ``GIVE_UP_AFTER`` of them a bulk run gives up rather than fail every object alike."""

    def __init__(self, limit: int = GIVE_UP_AFTER) -> None:
        self.limit = limit
        self.cause: S3CSEError | None = None
        self.count = 0
        self.given_up = False

    def record(self, error: S3CSEError | None) -> None:
        if self.given_up:
            return
        if (
            error is not None
            and self.cause is not None
            and _shared_cause(error) == _shared_cause(self.cause)
        ):
            self.count += 1
        elif error is not None and _shared_cause(error) is not None:
            self.cause, self.count = error, 1
        else:
            self.cause, self.count = None, 0
        self.given_up = self.count >= self.limit

    def repeats_given_up(self, error: S3CSEError) -> bool:
        """Whether ``error`` is once more the cause already given up on (said once)."""
        return (
            self.given_up
            and self.cause is not None
            and _shared_cause(error) == _shared_cause(self.cause)
        )

    def giving_up(self, not_attempted: int, total: int) -> str:
        assert self.cause is not None
        hint = f". {self.cause.hint}" if self.cause.hint else ""
        return (
            f"gave up after {self.limit} objects in a row failed the same way "
            f"({self.cause.message}){hint}; {not_attempted} of {total} objects were not "
            "attempted"
        )


def _shared_cause(error: S3CSEError) -> str | None:
    """What a failure owes to the run's setting (the KMS or S3 endpoint, the credentials,
    the key's state) rather than to its object, as a comparable text; None otherwise.
    Such errors name no object in their message, so one cause reads the same each time."""
    if isinstance(error, (EncryptionContextMismatchError, InvalidRangeError)):
        return None
    if isinstance(error, (KmsError, S3RequestError)):
        return f"{type(error).__name__}: {error.message}"
    return None


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, on Ctrl-C or SIGTERM (raised on the main thread only), drops
    the work not started yet and stops the transfers under way on its threads, which
    abort their uploads and remove their files, instead of letting them all finish
    before the interrupt takes effect."""
    executor = ThreadPoolExecutor(workers)
    try:
        yield executor
    except BaseException:
        stop_all_transfers()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
