"""A local S3 (SeaweedFS) and KMS (moto server) on 127.0.0.1, to try s3cse without AWS.

KMS requests pass through ``kms_gate``, which makes moto refuse disabled keys as AWS does;
moto runs under ``moto_kms``, which lets it decrypt under multi-Region keys.

Both servers speak the real wire protocols over HTTP, so the same code runs unchanged
against AWS. The stack's state (ports, PIDs, logs, stored objects) lives in one
directory, per user unless told otherwise (``default_state_dir``), so the stack is found
from any working directory; ``stop`` ends exactly the processes ``start`` recorded there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, S3CSEError

ACCESS_KEY = "admin"
SECRET_KEY = "adminsecret"
REGION = "us-east-1"
STATE_DIR_ENV = "S3CSE_LOCAL_STATE_DIR"
LEGACY_STATE_DIR = ".s3cse-local"
"""Where earlier versions kept the state: the working directory the stack started from."""
_STATE_FILE = "state.json"


def default_state_dir() -> Path:
    """The state directory when none is given: ``$S3CSE_LOCAL_STATE_DIR``; else
    ``./.s3cse-local`` if it records a stack (one an earlier version started there, so it
    can still be found and stopped); else per user, ``$XDG_STATE_HOME/s3cse/local``
    (``~/.local/state/s3cse/local``), the same from every working directory."""
    chosen = os.environ.get(STATE_DIR_ENV)
    if chosen:
        return Path(chosen)
    legacy = Path(LEGACY_STATE_DIR)
    if (legacy / _STATE_FILE).exists():
        return legacy
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "s3cse" / "local"


def _state_path(state_dir: str | os.PathLike[str] | None) -> Path:
    return Path(state_dir if state_dir is not None else default_state_dir()).resolve()


@dataclass
class LocalStack:
    state_dir: str
    s3_port: int
    kms_port: int
    pids: dict[str, int] = field(default_factory=dict)
    moto_port: int = 0
    """moto server itself: KMS reaches it through the gate; it also serves S3, closer to
    AWS than SeaweedFS for keys with ``.``/``..`` segments and empty metadata values."""

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def kms_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.kms_port}"

    @property
    def moto_s3_endpoint(self) -> str:
        """A second S3 endpoint (moto's), for behaviour SeaweedFS departs from AWS on."""
        if not self.moto_port:
            raise ConfigurationError("this stack was started without a recorded moto port")
        return f"http://127.0.0.1:{self.moto_port}"

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point botocore (and s3cse) at this stack."""
        return {
            "AWS_ENDPOINT_URL_S3": self.s3_endpoint,
            "AWS_ENDPOINT_URL_KMS": self.kms_endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }


def _moto_server() -> list[str]:
    """moto server, run by ``moto_kms`` (multi-Region keys decrypt there)."""
    _tool("moto_server")  # installed: else the hint to install the local stack
    return [sys.executable, "-m", "s3cse.local.moto_kms"]


def _tool(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if not found:
        raise ConfigurationError(
            f"{name!r} is not installed",
            hint="Install the local stack with: pip install 's3cse[local]'",
        )
    return found


def free_ports(count: int) -> list[int]:
    """Ports the OS hands out as free now (each with its +10000 gRPC twin free too)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 10000 > 65535 or port in ports or not _is_free(port + 10000):
            continue
        ports.append(port)
    return ports


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise S3CSEError(
                f"a local server exited at start-up (code {process.returncode}):\n{tail}"
            )
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise S3CSEError(f"a local server did not open port {port} within {timeout:.0f}s (see {log})")


def stack_client(stack: LocalStack, service: str, **config: Any) -> Any:
    """A boto3 client for the stack's S3 or KMS, with its credentials and region."""
    import boto3
    from botocore.config import Config

    endpoint = stack.s3_endpoint if service == "s3" else stack.kms_endpoint
    return boto3.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(**config),
    )


def _wait_for_s3(stack: LocalStack, timeout: float) -> None:
    """SeaweedFS opens its port before its filer is ready: wait until S3 answers."""
    client = stack_client(
        stack, "s3", retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5
    )
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            client.list_buckets()
            return
        except Exception as exc:  # any failure means: not ready yet
            last = exc
            time.sleep(0.3)
    raise S3CSEError(f"local S3 did not become ready: {last}")


def start(
    state_dir: str | os.PathLike[str] | None = None,
    *,
    buckets: tuple[str, ...] = (),
    timeout: float = 60.0,
    die_with_parent: bool = False,
) -> LocalStack:
    """Start SeaweedFS and moto server on free loopback ports; return their endpoints.

    ``die_with_parent`` (Linux) ends the servers when the calling process dies, even if
    it is killed before it can stop them: test runs use it; ``s3cse local start`` does
    not, since its stack must outlive the command. A stack already running from
    ``state_dir`` is kept, and gets the ``buckets`` it lacks.
    """
    state = _state_path(state_dir)
    existing = status(state)
    if existing is not None:
        create_buckets(existing, buckets)
        return existing
    state.mkdir(parents=True, exist_ok=True)
    data = state / "seaweedfs"
    data.mkdir(exist_ok=True)
    (s3, master, volume, filer, admin, kms, moto) = free_ports(7)
    stack = LocalStack(str(state), s3, kms, moto_port=moto)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    weed_args = [
        _tool("weed"),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3 + 10000}",
        f"-master.port={master}",
        f"-master.port.grpc={master + 10000}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume + 10000}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer + 10000}",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin + 10000}",
    ]
    if buckets:
        weed_args.append("-bucket=" + ",".join(buckets))
    moto_env = {**env, "MOTO_CALL_RESET_API": "false"}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        gate = [sys.executable, "-m", "s3cse.local.kms_gate", str(kms), str(moto)]
        for name, args, proc_env in (
            ("seaweedfs", weed_args, env),
            ("moto", [*_moto_server(), "-H", "127.0.0.1", "-p", str(moto)], moto_env),
            ("kms-gate", gate, env),
        ):
            log = open(state / f"{name}.log", "ab")  # noqa: SIM115
            processes[name] = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=proc_env,
                cwd=state,
                start_new_session=True,
                preexec_fn=_die_with_parent if die_with_parent else None,
            )
            log.close()
            stack.pids[name] = processes[name].pid
        _save(stack)
        _wait_for_port(moto, processes["moto"], state / "moto.log", timeout)
        _wait_for_port(kms, processes["kms-gate"], state / "kms-gate.log", timeout)
        _wait_for_port(s3, processes["seaweedfs"], state / "seaweedfs.log", timeout)
        _wait_for_s3(stack, timeout)
        # SeaweedFS makes its -bucket buckets in the background: they exist on return
        create_buckets(stack, buckets)
    except BaseException:
        stop(state)
        raise
    return stack


def create_buckets(stack: LocalStack, buckets: tuple[str, ...]) -> None:
    """Create the buckets a running stack lacks; those it has are left as they are."""
    from botocore.exceptions import ClientError

    client = stack_client(stack, "s3")
    for name in buckets:
        try:
            client.create_bucket(Bucket=name)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                continue
            raise S3CSEError(
                f"cannot create bucket {name!r} on the local stack "
                f"({error.get('Code')}: {error.get('Message')})",
                hint="Bucket names are 3 to 63 lower-case letters, digits, dots and hyphens",
            ) from None


def create_kms_key(stack: LocalStack, alias: str | None = None) -> str:
    """A new KMS key on the stack, named by ``alias`` (``alias/NAME``, or just ``NAME``)
    if given, so that code written for an alias runs unchanged; returns the key id."""
    from botocore.exceptions import ClientError

    kms = stack_client(stack, "kms")
    name = None
    if alias:
        name = alias if alias.startswith("alias/") else f"alias/{alias}"
        taken = _alias_target(kms, name)
        if taken is not None:
            raise ConfigurationError(
                f"{name} already names KMS key {taken} on the local stack",
                hint="Use that key, or choose another alias",
            )
    key_id: str = kms.create_key(Description="s3cse local")["KeyMetadata"]["KeyId"]
    if name is not None:
        try:
            kms.create_alias(AliasName=name, TargetKeyId=key_id)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise ConfigurationError(
                f"cannot create the alias {name} ({error.get('Code')}: {error.get('Message')})",
                hint="An alias is alias/ then letters, digits, '/', '_' and '-', not "
                "beginning with alias/aws/",
            ) from None
    return key_id


def _alias_target(kms: Any, alias: str) -> str | None:
    """The key an alias names, or None if it names none."""
    from botocore.exceptions import ClientError

    try:
        key_id: str = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    except ClientError:
        return None
    return key_id


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to send SIGTERM when the parent dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _save(stack: LocalStack) -> None:
    (Path(stack.state_dir) / _STATE_FILE).write_text(json.dumps(asdict(stack), indent=2))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(state_dir: str | os.PathLike[str] | None = None) -> LocalStack | None:
    """The running stack recorded in ``state_dir``, or None."""
    path = _state_path(state_dir) / _STATE_FILE
    if not path.exists():
        return None
    stack = LocalStack(**json.loads(path.read_text()))
    if stack.pids and all(_alive(pid) for pid in stack.pids.values()):
        return stack
    return None


def stop(state_dir: str | os.PathLike[str] | None = None, timeout: float = 15.0) -> bool:
    """Stop the processes recorded in ``state_dir`` (by PID); True if any were running."""
    path = _state_path(state_dir) / _STATE_FILE
    if not path.exists():
        return False
    stack = LocalStack(**json.loads(path.read_text()))
    running = [pid for pid in stack.pids.values() if _alive(pid)]
    for pid in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in running:
        while _alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _reap(pid)
    path.unlink(missing_ok=True)
    return bool(running)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
