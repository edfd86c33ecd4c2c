"""GLOW Deblur Studio: the desktop application (PySide6) over the ``glow_core`` engine."""

__all__ = ["__version__"]
__version__ = "0.1.0"
