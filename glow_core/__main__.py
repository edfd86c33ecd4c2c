"""``python -m glow_core``: the same command line as ``glow-deblur``."""

from glow_core.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
