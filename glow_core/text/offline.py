"""Keep hub libraries (huggingface_hub, transformers, open_clip) off the network.

Everything we load is local: the MiniLM files ship inside a pip package, open_clip weights sit
in our cache or where the user put them. A hub library that "helpfully" tries the network
instead blocks for its retry timeouts when offline (minutes in a GUI), or silently fetches
something we never pinned. So loading code runs inside :func:`hub_offline`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


@contextmanager
def hub_offline() -> Iterator[None]:
    """Set the hub "offline" variables for the duration of a load, then restore them.

    Note: huggingface_hub reads ``HF_HUB_OFFLINE`` once when first imported, so if the first
    import happens in here it stays offline for the process -- which is what we want anyway.
    """
    saved = {name: os.environ.get(name) for name in OFFLINE_VARIABLES}
    for name in OFFLINE_VARIABLES:
        os.environ[name] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
