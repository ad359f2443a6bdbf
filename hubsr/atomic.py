"""Write files and folders all at once: a reader sees the old version or the new one, never half.

A file is written to a hidden temporary file beside it (``.NAME.<8 hex>.tmp``), then renamed
over it with ``os.replace``, or, with ``overwrite=False``, hard-linked into place, which fails
if the name exists by then (:class:`TargetExistsError`): a file another program made while this
one was writing is never replaced. :func:`atomic_file` for writers that take a path,
:func:`write_atomic` and :func:`write_bytes_atomic` for ones that take an open file (flushed to
disk before the rename). A folder is written into ``.NAME.partial`` beside it, then swapped in:
the old folder is renamed aside to ``.NAME.old``, the new one renamed into place, and the old one
removed (:func:`atomic_folder`; :func:`partial_folder` and :func:`swap_in` when several
processes write the folder). On any failure the temporary file or folder is removed and the
target is left as it was; an ``OSError`` becomes a one-line :class:`~hubsr.errors.HubSRError`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import HubSRError

__all__ = [
    "TargetExistsError",
    "atomic_file",
    "atomic_folder",
    "check_output",
    "partial_folder",
    "swap_in",
    "write_atomic",
    "write_bytes_atomic",
]


# What os.link raises where the file system has no hard links (FAT, exFAT, some network shares
# and FUSE mounts): EPERM on Linux's FAT, EOPNOTSUPP or ENOTSUP on the others.
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}


class TargetExistsError(HubSRError):
    """The file to be written appeared while it was being written (``overwrite=False``), and
    was left as it is; the new content was discarded."""


def check_output(path: str | os.PathLike, suffix: str, what: str) -> Path:
    """``path`` as a ``Path`` if it names a file ending in ``suffix``; HubSRError otherwise.
    For a slow writer (an export), checked before the work starts."""
    path = Path(path).expanduser()
    if path.suffix.lower() != suffix:
        raise HubSRError(f"the {what} file must end in {suffix}, got {path}")
    if path.is_dir():
        raise HubSRError(f"{path} is a folder; give the {what} file's name")
    folder = next(p for p in path.parents if p.exists() or p == p.parent)
    if not folder.is_dir():  # checked now, before a slow export
        raise HubSRError(f"cannot write {path}: {folder} is not a folder")
    return path


# -- files ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike, *, make_parents: bool = True, overwrite: bool = True
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The block creates the temporary file (it does not exist yet); it then gets the permissions
    a plain ``open()`` would give, whatever the writer gave it. The parent folder is created
    (``make_parents=False``: a missing one is an error). On any failure, ``KeyboardInterrupt``
    included, the temporary file is removed and ``path`` is left as it was; an ``OSError``
    becomes a one-line :class:`HubSRError`. ``overwrite=False``: a ``path`` that exists when
    the block ends is left as it is, and :class:`TargetExistsError` raised.
    """
    with _replacing(Path(path), make_parents, overwrite) as tmp:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # as a plain open() would make it (safetensors: 0600)


def write_atomic(
    path: str | os.PathLike,
    write: Callable[[BinaryIO], object],
    *,
    make_parents: bool = True,
    overwrite: bool = True,
) -> Path:
    """Call ``write(file)`` on a new temporary file beside ``path``, flush it to disk and rename
    it over ``path``; returns ``path`` as a ``Path``. Failures and ``overwrite`` as in
    :func:`atomic_file`."""
    path = Path(path)
    with _replacing(path, make_parents, overwrite) as tmp:
        with open(tmp, "xb") as file:  # "x": never reuse an existing file
            write(file)
            file.flush()
            os.fsync(file.fileno())
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` all at once (:func:`write_atomic`); returns ``path``."""
    return write_atomic(path, lambda file: file.write(data), overwrite=overwrite)


@contextlib.contextmanager
def _replacing(path: Path, make_parents: bool, overwrite: bool) -> Iterator[Path]:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    if make_parents:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise HubSRError(f"cannot write {path}: {path.parent} is not a folder") from None
        except OSError as exc:
            raise HubSRError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        yield tmp
        _publish(tmp, path, overwrite)
    except OSError as exc:
        raise HubSRError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Give the complete file ``tmp`` the name ``path`` (``tmp`` is removed by the caller).

    Without ``overwrite`` a check before the work is not enough: a file can appear at ``path``
    while the work runs. A hard link is made in one step that fails if the name exists, so no
    other writer can come in between; a file system without hard links gets a look, then the
    rename (the one gap left: a file made between those two calls is replaced).
    """
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        pass
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if not os.path.lexists(path):
            os.replace(tmp, path)
            return
    raise TargetExistsError(
        f"{path} appeared while hubsr was writing it (another program made it) and was left "
        "as it is"
    )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# -- folders --------------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield a new, empty folder beside ``folder`` (:func:`partial_folder`, its parents
    created); :func:`swap_in` it if the block succeeds. On any failure it is removed and
    ``folder`` is left as it was; an ``OSError`` becomes a one-line :class:`HubSRError`."""
    folder = Path(folder)
    partial = partial_folder(folder)
    try:
        shutil.rmtree(partial, ignore_errors=True)  # left by a writer that was killed
        partial.mkdir(parents=True)
        yield partial
        swap_in(partial, folder)
    except OSError as exc:
        raise HubSRError(f"cannot write {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def partial_folder(folder: str | os.PathLike) -> Path:
    """``.NAME.partial`` beside ``folder``: where its new version is written before
    :func:`swap_in`. Removing a leftover one (a killed writer's) is the caller's business."""
    folder = Path(folder)
    return folder.with_name(f".{folder.name}.partial")


def swap_in(partial: str | os.PathLike, folder: str | os.PathLike) -> None:
    """Put the complete folder ``partial`` in the place of ``folder``: the old ``folder`` (if
    any) is renamed aside to ``.NAME.old``, ``partial`` renamed to ``folder``, the old one
    removed. A reader sees the old folder or the new one, never a mix of the two; if the second
    rename fails, the old folder is put back."""
    partial, folder = Path(partial), Path(folder)
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)  # left by a writer killed between the renames
    moved = folder.exists()
    if moved:
        folder.rename(old)
    try:
        partial.rename(folder)
    except OSError:
        if moved:
            old.rename(folder)
        raise
    shutil.rmtree(old, ignore_errors=True)
