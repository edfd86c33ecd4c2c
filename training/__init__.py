"""Training package for GLOW Deblur Studio: blur simulation, sharp sources, stages.

It may import :mod:`glow_core` (models, configs, checkpoints) but never the GUI, and
``glow_core`` never imports it, so the shipped engine stays free of training code.
"""
