"""GLOW Deblur engine: model, checkpoints, tiling, image I/O and command line."""

__version__ = "0.1.0"
