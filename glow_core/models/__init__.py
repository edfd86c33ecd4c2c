"""GLOWDeblur network parts; :class:`GlowDeblur` composes them."""

from glow_core.models.glow import PARTS, FastOutput, GlowDeblur, GlowModel, count_parameters

__all__ = ["PARTS", "FastOutput", "GlowDeblur", "GlowModel", "count_parameters"]
