"""Compatibility path: the captioner moved to :mod:`glow_core.text.captions.captioner`."""

from glow_core.text.captions.captioner import *  # noqa: F403
from glow_core.text.captions.captioner import (  # noqa: F401
    CaptionerUnavailable,
    captioner_dir,
    fetch_captioner,
    find_captioner_weights,
    get_captioner,
    install_hint,
)
