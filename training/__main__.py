"""``python -m training train CONFIG [--resume] [--set key=value ...]`` and ``evaluate``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "merge":
        if len(argv) < 3:
            print("usage: python -m training merge OUT.safetensors IN.safetensors ...")
            return 2
        from training.merge import merge_checkpoints

        print(f"wrote {merge_checkpoints(argv[1], argv[2:])}")
        return 0
    if argv and argv[0] == "ship":
        from training.ship import main as ship_main

        return ship_main(argv[1:])
    if argv and argv[0] == "evaluate":
        from training.evaluation import main as evaluate_main

        return evaluate_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train GLOWDeblur stages (see training/configs) or evaluate a checkpoint.",
        epilog="examples:\n"
        "  python -m training train training/configs/prerecon.json --set steps=500\n"
        "  python -m training train training/configs/dit.json --resume\n"
        "  torchrun --nproc_per_node 4 -m training train training/configs/prerecon_gpu.json\n"
        "  python -m training evaluate resources/weights/glow-small.safetensors "
        "--dataset kodak-shake --dataset gopro-real",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="run one training stage")
    tr.add_argument("config", help="JSON config file (training/configs/*.json)")
    tr.add_argument("--resume", action="store_true", help="continue from <out_dir>/state")
    tr.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="KEY=VALUE", help="override a config value (dotted keys)")
    tr.add_argument("--export-only", action="store_true",
                    help="write the EMA model of the saved state as a checkpoint and stop")
    sub.add_parser("evaluate", help="PSNR/SSIM per blur pattern (see evaluate --help)")
    sub.add_parser("merge", help="combine parts: merge OUT IN1 IN2 ... (later inputs win)")
    sub.add_parser("ship", help="copy a checkpoint into resources/weights with its manifest")
    args = parser.parse_args(argv)
    from training.config import load_config
    from training.trainer import Trainer, train

    config = load_config(args.config, args.overrides)
    if args.export_only:
        path = Trainer(config, resume=True).export()
    else:
        path = train(config, resume=args.resume)
    if path is not None:
        print(f"exported {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
