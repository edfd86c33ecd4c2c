"""Checked, resumable downloads of model weights into the user cache.

Only ever called when the user asked for a download (a menu action, ``glow-deblur
fetch-captioner``); loading code never downloads on its own. Guarantees:

* bytes go to ``<dest>.part`` first and are resumed from there (HTTP ``Range``) after an
  interruption; a server that ignores ``Range`` just restarts the file;
* the SHA-256 of the complete file must match before it is renamed (atomically, with
  :func:`os.replace`) to ``dest``; a mismatch deletes the ``.part`` and raises
  :class:`ChecksumError`, so a corrupt file is never left where a loader would find it;
* no network raises :class:`DownloadError` with a message that says what to fetch by hand and
  where to put it;
* a tqdm progress bar (or a ``progress(done, total)`` callback for the GUI).

Plain ``urllib`` (no extra dependency); ``file://`` URLs work too, which the tests use.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from glow_core.errors import ChecksumError, DownloadError
from glow_core.fsutil import sha256_of

APP_NAME = "GLOW Deblur Studio"
CHUNK = 1 << 20


def cache_dir() -> Path:
    """The user cache for downloaded weights: the app's one cache folder.

    ``glow_core.resources.user_cache_dir`` decides it (platformdirs, or
    ``$GLOW_DEBLUR_CACHE_DIR`` for tests), so settings, caches and downloads never scatter.
    """
    from glow_core.resources import user_cache_dir

    return user_cache_dir()


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _open(url: str, offset: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": f"{APP_NAME} downloader"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(request, timeout=timeout)  # http/https/file only)


def download_file(
    url: str,
    dest: str | Path,
    sha256: str,
    *,
    timeout: float = 30.0,
    show_progress: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download ``url`` to ``dest`` if needed, verify SHA-256, return ``dest``.

    An existing ``dest`` with the right checksum is reused without touching the network.
    """
    if not url.startswith(("https://", "http://", "file://")):
        raise DownloadError(f"refusing to download from {url!r}: only http(s) and file URLs")
    expected = sha256.lower().strip()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    dest = Path(dest)
    if dest.is_file() and sha256_of(dest) == expected:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    offset = part.stat().st_size if part.is_file() else 0

    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # range past the end: the .part is complete (or bad)
            return _finish(part, dest, expected, url)
        raise DownloadError(
            f"downloading {url} failed: HTTP {error.code} {error.reason}"
        ) from error
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(
            f"could not download {url} ({getattr(error, 'reason', error)}). You seem to be "
            f"offline. Download that file by hand and put it at {dest} "
            f"(expected SHA-256 {expected})."
        ) from error

    with response:
        status = getattr(response, "status", None)
        resumed = offset > 0 and status == 206
        if not resumed:
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        bar = None
        if show_progress:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True,
                       unit_divisor=1024, desc=dest.name)
        done = offset
        try:
            with open(part, "ab" if resumed else "wb") as handle:
                while True:
                    try:
                        block = response.read(CHUNK)
                    except OSError as error:
                        raise DownloadError(
                            f"download of {url} was interrupted ({error}); run it again "
                            f"to resume from {part}"
                        ) from error
                    if not block:
                        break
                    handle.write(block)
                    done += len(block)
                    if bar is not None:
                        bar.update(len(block))
                    if progress is not None:
                        progress(done, total)
        finally:
            if bar is not None:
                bar.close()
    return _finish(part, dest, expected, url)


def _finish(part: Path, dest: Path, expected: str, url: str) -> Path:
    actual = sha256_of(part)
    if actual != expected:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"checksum mismatch for {url}: expected SHA-256 {expected}, got {actual}; "
            "the partial file was deleted, try again"
        )
    os.replace(part, dest)
    return dest
