"""Imports every command module so that each registers its commands on the app."""

# One line per command group; keep alphabetical.
from dwetl.cli import (
    check,  # noqa: F401
    contract,  # noqa: F401
    demo,  # noqa: F401
    history,  # noqa: F401
    init,  # noqa: F401
    rejects,  # noqa: F401
    rollout,  # noqa: F401
    run,  # noqa: F401
    sample,  # noqa: F401
    status,  # noqa: F401
    version,  # noqa: F401
)
