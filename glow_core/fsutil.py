"""File-system helpers used everywhere a file must never be left half written.

:func:`atomic_write` is the one temp-file-then-rename in the code base: the data goes to
a hidden temporary file in the target's folder, is flushed and fsynced, gets ordinary
file permissions (``0o666`` less the umask, like a plain ``open``; ``mkstemp`` would leave
it private), and only then replaces the target with :func:`os.replace`. On any error the
temporary file is removed and the previous target, if any, is untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal, overload

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "sha256_of"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@overload
def atomic_write(path: str | os.PathLike[str], mode: Literal["path"]
                 ) -> contextlib.AbstractContextManager[Path]: ...
@overload
def atomic_write(path: str | os.PathLike[str], mode: Literal["wb"] = "wb"
                 ) -> contextlib.AbstractContextManager[IO[bytes]]: ...
@overload
def atomic_write(path: str | os.PathLike[str], mode: Literal["w"]
                 ) -> contextlib.AbstractContextManager[IO[str]]: ...


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[object]:
    """Write ``path`` all or nothing.

    ``mode="wb"`` / ``"w"`` yields an open binary / UTF-8 text file; ``mode="path"``
    yields the temporary :class:`~pathlib.Path` for writers that insist on a file name
    (``safetensors.save_file``, ``torch.hub.download_url_to_file``...). The target is
    replaced only when the ``with`` block ends without an exception.
    """
    if mode not in ("wb", "w", "path"):
        raise ValueError(f"mode must be 'wb', 'w' or 'path', not {mode!r}")
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        if mode == "path":
            os.close(fd)
            yield tmp
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        else:
            kwargs = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
            with os.fdopen(fd, mode, **kwargs) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)


def sha256_of(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
