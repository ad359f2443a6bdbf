"""Write an exported file all at once: to a hidden temporary file beside it, then rename."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from ..errors import HubSRError

__all__ = ["atomic_output", "check_output"]


def check_output(path: str | os.PathLike, suffix: str, what: str) -> Path:
    """``path`` as a ``Path`` if it names a file ending in ``suffix``; HubSRError otherwise."""
    path = Path(path).expanduser()
    if path.suffix.lower() != suffix:
        raise HubSRError(f"the {what} file must end in {suffix}, got {path}")
    if path.is_dir():
        raise HubSRError(f"{path} is a folder; give the {what} file's name")
    folder = next(p for p in path.parents if p.exists() or p == p.parent)
    if not folder.is_dir():  # checked now, before a slow export
        raise HubSRError(f"cannot write {path}: {folder} is not a folder")
    return path


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The parent folder is created. On any failure the temporary file is removed and ``path`` is
    left as it was; an ``OSError`` becomes a one-line :class:`HubSRError`.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise HubSRError(f"cannot write {path}: {path.parent} is not a folder") from None
    except OSError as exc:
        raise HubSRError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # as a plain open() would make it (safetensors: 0600)
        os.replace(tmp, path)
    except OSError as exc:
        raise HubSRError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
