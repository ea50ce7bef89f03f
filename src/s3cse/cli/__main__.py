"""``python -m s3cse.cli``: the ``s3cse`` command."""

from . import main

main()
