"""The one cancellation mechanism: a thread-safe :class:`CancelToken`.

The GUI creates a token per task and calls :meth:`CancelToken.cancel`; the engine (between
tiles and sampler steps), the batch runner and long loops call :meth:`CancelToken.check`,
which raises :class:`Cancelled`. Light on purpose (no torch), so the GUI imports it freely.
"""

from __future__ import annotations

import threading

__all__ = ["CancelToken", "Cancelled"]


class Cancelled(Exception):
    """Raised where a :class:`CancelToken` is checked after it was cancelled."""


class CancelToken:
    """Thread-safe cancel flag checked between tiles and sampler steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def reset(self) -> None:
        self._event.clear()

    def check(self) -> None:
        """Raise :class:`Cancelled` once :meth:`cancel` was called."""
        if self._event.is_set():
            raise Cancelled("cancelled")

    @staticmethod
    def check_optional(token: CancelToken | None) -> None:
        """:meth:`check` for a token that may be ``None`` (no cancellation)."""
        if token is not None:
            token.check()
