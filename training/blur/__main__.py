"""``python -m training.blur preview -o sheet.png [--image PATH] [--seed N] [--size PX]``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.blur", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    prev = sub.add_parser("preview", help="contact sheet of every blur pattern")
    prev.add_argument("-o", "--output", required=True, help="PNG to write")
    prev.add_argument("--image", help="photo to blur (default: procedural dead leaves)")
    prev.add_argument("--seed", type=int, default=0)
    prev.add_argument("--size", type=int, default=256, help="tile side in px")
    args = parser.parse_args(argv)

    from .preview import load_preview_image, write_sheet

    image = load_preview_image(args.image, args.size) if args.image else None
    path = write_sheet(args.output, image, args.seed, args.size)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
