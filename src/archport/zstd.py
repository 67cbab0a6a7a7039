"""zstd, from the ``zstandard`` module, which a board may not have.

``zstandard`` publishes no wheel for riscv64 (nor loong64), so ``pip install
archport`` on a board would need a C compiler to build it.  It is therefore a
dependency only where wheels exist, and the ``zstd`` extra elsewhere.  Only
zstd-compressed layers and archives need it; doctor, collect, audit, deploy
and verify run without it.  Every use goes through :func:`module`, which says
in one line what is missing instead of failing at import time.
"""

from __future__ import annotations

from types import ModuleType

from .errors import MissingDependency

INSTALL_HINT = ("zstd-compressed data needs the zstandard module: pip install 'archport[zstd]' "
                "(on riscv64 it builds from source and needs a C compiler)")


def module() -> ModuleType:
    """The ``zstandard`` module, or :class:`MissingDependency` saying how to get it."""
    try:
        import zstandard    # here: optional (see above), so a missing one fails only when zstd is met
    except ImportError as e:
        raise MissingDependency(INSTALL_HINT) from e
    return zstandard


def errors() -> tuple[type[BaseException], ...]:
    """The exception types a zstd stream may raise (none when it is absent,
    because then nothing can have decoded zstd)."""
    try:
        import zstandard    # optional, as in module()
    except ImportError:
        return ()
    return (zstandard.ZstdError,)
