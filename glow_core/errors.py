"""Every error GLOW raises for a person to read, under one base class.

The GUI and the CLI dispatch on these types (``isinstance``), never on class names or
traceback text. Each message is written for the user: it names the file or setting and
says what to do; :attr:`GlowError.user_message` is the text to show. This module imports
nothing heavy (no torch), so the GUI can import it before the engine is loaded.
"""

from __future__ import annotations

__all__ = [
    "CaptionerUnavailable",
    "CheckpointError",
    "ChecksumError",
    "DownloadError",
    "EncoderMismatchError",
    "EngineError",
    "GlowError",
    "ImageReadError",
    "ImageWriteError",
    "MissingCheckpointError",
]


class GlowError(Exception):
    """Base of the errors whose message is meant for the user, not a traceback."""

    @property
    def user_message(self) -> str:
        """The message to show: the error's text (its class name if it has none)."""
        return str(self).strip() or type(self).__name__


class ImageReadError(GlowError):
    """A file could not be read as a photo; the message names the file and the reason."""


class ImageWriteError(GlowError):
    """A photo could not be written (or writing was refused to protect the source)."""


class CheckpointError(GlowError):
    """A checkpoint that cannot be used, with a message that says why and what to do."""


class EngineError(GlowError):
    """A request the engine cannot honour, with a message meant for the user."""


class MissingCheckpointError(EngineError):
    """No weights to run: says which file was expected and how to get one."""


class EncoderMismatchError(GlowError):
    """A checkpoint was trained with one caption encoder and another was requested."""

    def __init__(self, checkpoint_name: str, requested_name: str) -> None:
        self.checkpoint_name = checkpoint_name
        self.requested_name = requested_name
        super().__init__(
            f"caption encoder mismatch: this checkpoint was trained with text encoder "
            f"{checkpoint_name!r}, but {requested_name!r} was requested. Its cross-attention "
            f"only understands the token states of {checkpoint_name!r}; use that encoder "
            f"(or a checkpoint trained with {requested_name!r})."
        )


class DownloadError(GlowError):
    """A model file could not be downloaded."""


class ChecksumError(DownloadError):
    """A downloaded file does not match its expected SHA-256."""


class CaptionerUnavailable(GlowError):
    """Caption suggestions cannot run here (optional package or weights missing)."""
