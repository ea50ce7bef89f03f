"""``s3cse local``: a local S3 (SeaweedFS) and KMS (moto server) on 127.0.0.1."""

from __future__ import annotations

import click

from ..errors import S3CSEError
from ..local import stack as local_stack
from .exits import fail


@click.group()
def local() -> None:
    """Run a local S3 (SeaweedFS) and KMS (moto server) on 127.0.0.1."""


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help=f"Where the stack keeps its data, logs and PIDs. Default: ${local_stack.STATE_DIR_ENV}; "
    f"else ./{local_stack.LEGACY_STATE_DIR} if a stack started there is running; else "
    "$XDG_STATE_HOME/s3cse/local (~/.local/state/s3cse/local), from any directory.",
)


def _print_env(stack: local_stack.LocalStack) -> None:
    for name, value in stack.env().items():
        click.echo(f"export {name}={value}")


@local.command("start")
@state_dir_option
@click.option(
    "--bucket",
    "buckets",
    multiple=True,
    help="Bucket to create (repeatable; also on a stack already running).",
)
def local_start(state_dir: str | None, buckets: tuple[str, ...]) -> None:
    """Start the stack (or find it running) and print the environment that points clients
    at it."""
    try:
        stack = local_stack.start(state_dir, buckets=buckets)
    except S3CSEError as exc:
        fail(exc)
    click.echo(
        f"# local S3 at {stack.s3_endpoint}, KMS at {stack.kms_endpoint} "
        f"(state in {stack.state_dir})",
        err=True,
    )
    _print_env(stack)


def _running_stack(state_dir: str | None) -> local_stack.LocalStack:
    stack = local_stack.status(state_dir)
    if stack is None:
        where = state_dir or local_stack.default_state_dir()
        fail(
            S3CSEError(
                f"no local stack is running (state directory {where})",
                hint="Start it with: s3cse local start",
            )
        )
    return stack


@local.command("env")
@state_dir_option
def local_env(state_dir: str | None) -> None:
    """Print the environment for the running stack (use: eval "$(s3cse local env)")."""
    _print_env(_running_stack(state_dir))


@local.command("stop")
@state_dir_option
def local_stop(state_dir: str | None) -> None:
    """Stop the stack started from this state directory."""
    stopped = local_stack.stop(state_dir)
    click.echo("stopped the local stack" if stopped else "no local stack was running")


@local.command("create-kms-key")
@state_dir_option
@click.option(
    "--alias", metavar="alias/NAME", help="Also name the key with this alias (e.g. alias/my-key)."
)
def local_create_kms_key(state_dir: str | None, alias: str | None) -> None:
    """Create a KMS key on the local stack and print its id."""
    key_id = local_stack.create_kms_key(_running_stack(state_dir), alias)
    if alias:
        click.echo(
            f"# {alias if alias.startswith('alias/') else 'alias/' + alias} names {key_id}",
            err=True,
        )
    click.echo(key_id)
