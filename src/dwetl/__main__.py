"""`python -m dwetl`: the same as the `dwetl` console script."""

from dwetl.cli.app import console

console()
