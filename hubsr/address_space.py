"""Memory that runs out before torch is loaded: the address-space limit, read without torch.

Under ``ulimit -v`` torch's own libraries may not fit (this project's CUDA build of torch maps
3.1 GiB of address space on import, so a 2 GB limit stops it: "failed to map segment from
shared object"). The command line must still say so in one line, and it can only run if
importing ``hubsr`` succeeds: so ``hubsr/__init__.py`` keeps such a failure in
:data:`import_failure` (and raises it when a name it failed to import is used), and
:func:`hubsr.cli.main` reports it with :func:`startup_message`. Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
from collections.abc import Iterator

try:
    import resource  # POSIX only
except ImportError:  # pragma: no cover - Windows has no address-space limit to read
    resource = None

__all__ = [
    "describe_limit",
    "headroom",
    "import_failure",
    "is_memory_failure",
    "limit",
    "startup_message",
]

# What the dynamic loader and the C library say when mapping or allocating fails (ENOMEM).
_MESSAGES = ("failed to map segment", "cannot allocate memory", "out of memory")
# Within this much of the limit, any import failure is taken for the limit's: an allocation
# that fails inside a C extension's import surfaces as MemoryError, SystemError ("error return
# without exception set") or worse, depending on where it struck (all seen between 3.2 and
# 3.4 GB here, where torch has loaded and timm has not).
_NEAR_LIMIT = 512 * 2**20
# Address space held back while torch loads and freed before anything else runs: when the
# loading fails at the limit, this is the room left to import the command line and print its
# line (without it, that import itself raised MemoryError under limits of 3.2 to 3.6 GB here).
_HEADROOM = 64 * 2**20

# Set by hubsr/__init__.py when torch (or a module built on it) could not be loaded for want of
# memory; None when the package imported in full.
import_failure: BaseException | None = None


def limit() -> int | None:
    """The address-space limit of this process in bytes (``ulimit -v``), or None without one."""
    if resource is None:
        return None
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    return None if soft in (-1, resource.RLIM_INFINITY) else soft


def describe_limit() -> str:
    """``"the address-space limit of 1.91 GiB (ulimit -v 2000000)"``, or ``""`` without one."""
    cap = limit()
    if cap is None:
        return ""
    return f"the address-space limit of {cap / 2**30:.2f} GiB (ulimit -v {cap // 1024})"


@contextlib.contextmanager
def headroom() -> Iterator[None]:
    """Hold :data:`_HEADROOM` bytes of address space during the block (under a limit only),
    and free them when it ends, however it ends."""
    reserve = None
    if limit() is not None:
        with contextlib.suppress(OSError, ValueError):  # no room even for that: nothing held
            reserve = mmap.mmap(-1, _HEADROOM)
    try:
        yield
    finally:
        if reserve is not None:
            reserve.close()


def is_memory_failure(exc: BaseException) -> bool:
    """Whether ``exc``, raised while importing, is memory running out (not a missing module):
    an allocation error, ENOMEM, or any failure within :data:`_NEAR_LIMIT` of the limit."""
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return True
    text = str(exc).lower()
    if isinstance(exc, (ImportError, OSError)) and any(m in text for m in _MESSAGES):
        return True
    cap, used = limit(), _address_space_used()
    return cap is not None and used is not None and used > cap - _NEAR_LIMIT


def _address_space_used() -> int | None:
    """This process's virtual memory size in bytes (Linux), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * resource.getpagesize()


def startup_message(exc: BaseException) -> str:
    """The one line for a program that could not load torch: what ran out and what helps.
    (``--tile`` and a memory budget cannot: they act only once torch is loaded.)"""
    where = describe_limit()
    if where:
        return (
            f"not enough memory to load torch under {where}: raise the limit (e.g. "
            "ulimit -v unlimited); --tile and --memory-budget help only once torch has loaded"
        )
    return f"not enough memory to load torch ({type(exc).__name__}: {exc}); free some memory"
