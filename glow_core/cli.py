"""``glow-deblur``: restore photos from the command line, inspect presets and devices.

Sub-commands::

    glow-deblur restore INPUT... -o OUTDIR [options]   # files and/or folders
    glow-deblur info [--preset NAME]                    # parameters and GMACs per preset
    glow-deblur devices                                 # where the engine can run
    glow-deblur fetch-captioner                         # download weights for --caption auto

``main(argv) -> int`` is the single entry point (the GUI's launcher dispatches here when
given a sub-command). Exit codes: 0 all good, 1 some files failed (the others are
written), 2 usage errors (bad options, no images, missing or damaged checkpoint), 3 the
output folder cannot take the results (cannot be created, not writable, disk full), 130
interrupted (a summary of what was finished is printed first).
Torch and the engine are imported only by the commands that need them, so ``--help``
stays instant.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from glow_core import __version__, cli_roundtrip, limits
from glow_core.batch import (
    LOG_NAME,
    OUTPUT_FORMATS,
    BatchItem,
    BatchPlan,
    BatchSettings,
    BatchSummary,
    OutputFolderError,
    check_output_folder,
    plan_batch,
    run_batch,
)
from glow_core.imageio import DEFAULT_MAX_PIXELS, ImageData

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# Subcommands; the GUI's entry point routes these to :func:`main`.
COMMANDS: tuple[str, ...] = ("restore", "info", "devices", "fetch-captioner")

RESTORE_EXAMPLES = f"""\
examples:
  glow-deblur restore photo.jpg -o restored/
  glow-deblur restore ~/Pictures/trip --recursive -o ~/Pictures/trip-sharp --skip-existing
  glow-deblur restore shaky.tif --mode full --steps 8 --caption "a dog on grass" -o out \\
      --format tif --bit-depth 16
  glow-deblur restore scans/ -o out --format jpg --quality 92 --device all
  glow-deblur restore shaky.jpg -o out --kernel-size 31 --save-kernel kernels/
  glow-deblur restore shaky.jpg -o out --kernel measured_kernel.png

Outputs are OUTDIR/<name>.<format> (sub-folders kept with --recursive); an input is never
overwritten. Re-running with --skip-existing resumes an interrupted batch; OUTDIR/{LOG_NAME}
records what happened to every file.
"""


class UsageError(Exception):
    """Bad options or inputs: printed as ``error: ...``, exit code 2."""


# ------------------------------------------------------------------------------ parser


def _bounded(kind: type, lo: float, hi: float | None = None) -> Any:
    """An argparse type: parse `kind` and check lo <= value (<= hi), with a plain message."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            limits = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"must be {limits}, got {value}")
        return value

    return parse


_positive_int = _bounded(int, 1)
_non_negative_int = _bounded(int, 0)
_strength = _bounded(float, *limits.STRENGTH_RANGE)
_steps = _bounded(int, limits.MIN_STEPS, limits.MAX_STEPS)
_tile = _bounded(int, limits.MIN_TILE)
_quality = _bounded(int, 1, 100)
_kernel_size = _bounded(int, 3, 151)


def _region(text: str) -> tuple[int, int, int, int]:
    """``Y0,X0,Y1,X1`` in pixels, top-left inclusive, bottom-right exclusive."""
    try:
        y0, x0, y1, x1 = (int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected four whole numbers Y0,X0,Y1,X1, got {text!r}") from None
    if min(y0, x0) < 0 or y1 <= y0 or x1 <= x0:
        raise argparse.ArgumentTypeError(
            f"the box {text!r} must have 0 <= Y0 < Y1 and 0 <= X0 < X1")
    return y0, x0, y1, x1


def build_parser(restore_defaults: dict[str, Any] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glow-deblur",
        description="GLOW Deblur Studio: remove motion blur and defocus from photos.",
        epilog="Run 'glow-deblur COMMAND --help' for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser(
        "restore", help="restore photos (files or folders) into an output folder",
        description="Restore blurry photos and write the results into OUTDIR.",
        epilog=RESTORE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders")
    r.add_argument("-o", "--output", "--out-dir", dest="out_dir", required=True, metavar="OUTDIR",
                   help="folder for the restored photos (created if needed)")
    g = r.add_argument_group("restoration")
    g.add_argument("--mode", choices=limits.MODES, default="fast",
                   help="fast: one-pass restoration; full: adds the diffusion refinement "
                        "(slower, sharper texture). Default: fast")
    g.add_argument("--steps", type=_steps, default=limits.DEFAULT_STEPS,
                   help=f"sampler steps for --mode full, {limits.MIN_STEPS}-{limits.MAX_STEPS} "
                        f"(default {limits.DEFAULT_STEPS})")
    g.add_argument("--seed", type=int, default=0, help="noise seed for --mode full (default 0)")
    g.add_argument("--caption", default="", metavar="TEXT",
                   help="describe the scene to guide --mode full, e.g. 'a cat on a sofa'; "
                        "'auto' suggests one per photo (needs a captioner, see "
                        "fetch-captioner)")
    g.add_argument("--strength", type=_strength, default=1.0,
                   help="0 = original, 1 = fully restored (default 1)")
    g.add_argument("--tile", type=_tile, default=None,
                   help="tile side in pixels (default: automatic from free memory)")
    g.add_argument("--overlap", type=_non_negative_int, default=limits.DEFAULT_OVERLAP,
                   help=f"overlap between tiles in pixels (default {limits.DEFAULT_OVERLAP})")
    k = r.add_argument_group(
        "blur kernel", "Before the network, the blur kernel is estimated (or taken from "
                       "--kernel) and the photo deconvolved with it; a sharp photo is left "
                       "to the network alone.")
    k.add_argument("--kernel", default=None, metavar="FILE",
                   help="use this blur kernel (PNG or .npy, non-negative) instead of "
                        "estimating one")
    k.add_argument("--kernel-size", type=_kernel_size, default=None, metavar="N",
                   help="kernel side in pixels for the estimate (odd; default: automatic)")
    k.add_argument("--kernel-region", type=_region, default=None, metavar="Y0,X0,Y1,X1",
                   help="estimate the kernel from this box of each photo (pixels)")
    k.add_argument("--varying-blur", action="store_true",
                   help="estimate a kernel per region of each photo, for blur that turns or "
                        "stretches across the frame (camera roll, depth); a region keeps "
                        "its own kernel only where it explains the region better than one "
                        "kernel for the whole photo. About 3x slower")
    k.add_argument("--save-kernel", default=None, metavar="DIR",
                   help="write each photo's kernel as DIR/<name>_kernel.png and .npy (with "
                        "--varying-blur also each region's: <name>_field.npz and the blur "
                        "trace <name>_blur_trace.png)")
    k.add_argument("--no-kernel-stage", action="store_true",
                   help="skip the kernel stage: the network alone, as before")
    e = r.add_argument_group("engine")
    e.add_argument("--device", default="auto",
                   help="auto, cpu, cuda, cuda:N, mps, or 'all' (one worker per GPU)")
    e.add_argument("--precision", default="auto", choices=limits.PRECISIONS,
                   help="compute precision (default auto: bf16/fp16 on GPUs, fp32 on CPU)")
    e.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="model weights (.safetensors); default: the bundled weights")
    o = r.add_argument_group("files")
    o.add_argument("--recursive", action="store_true",
                   help="also take images in sub-folders, keeping the structure under OUTDIR")
    o.add_argument("--skip-existing", action="store_true",
                   help="skip photos whose output already exists (resume a batch)")
    o.add_argument("--format", choices=sorted(OUTPUT_FORMATS), default="png",
                   help="output format (default png)")
    o.add_argument("--bit-depth", type=int, choices=(8, 16), default=None,
                   help="bits per channel; default: as the source (16 only for png/tif)")
    o.add_argument("--quality", type=_quality, default=95,
                   help="JPEG/WebP quality 1-100 (default 95)")
    o.add_argument("--background", default="white", metavar="COLOR",
                   help="colour transparent photos are flattened onto when the output "
                        "format has no alpha (jpg): a name, #RRGGBB or R,G,B "
                        "(default white)")
    o.add_argument("--max-megapixels", type=float, default=DEFAULT_MAX_PIXELS / 1e6,
                   help=argparse.SUPPRESS)
    o.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    cli_roundtrip.add_options(r)
    r.set_defaults(**(restore_defaults or {}))

    i = sub.add_parser("info", help="parameters and compute cost of each model preset",
                       description="Print each preset's parameter count per part and GMACs "
                                   "per megapixel (measured on a 256x256 input).")
    i.add_argument("--preset", action="append", metavar="NAME",
                   help="only this preset (repeatable); default: all")

    sub.add_parser("devices", help="list the devices the engine can use",
                   description="List the devices the engine can run on, best first.")
    sub.add_parser("fetch-captioner",
                   help="download CLIP weights once so that --caption auto works",
                   description="Download OpenAI CLIP ViT-B-32 weights (about 350 MB) into "
                               "the user cache for automatic caption suggestions.")
    return parser


# -------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (never calls ``sys.exit``)."""
    argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        parser = build_parser(cli_roundtrip.preset_defaults(argv))
    except cli_roundtrip.PresetError as exc:
        _error(str(exc))
        return EXIT_USAGE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    handlers = {"restore": cmd_restore, "info": cmd_info, "devices": cmd_devices,
                "fetch-captioner": cmd_fetch_captioner}
    assert set(handlers) == set(COMMANDS)
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED


def _error(message: str) -> None:
    print(f"glow-deblur: error: {message}", file=sys.stderr)


def _note(message: str) -> None:
    print(f"glow-deblur: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- restore


def resolve_devices(spec: str, available: Sequence[str]) -> list[str]:
    """Devices to start one engine on: ``all`` = every CUDA device (else one 'auto')."""
    if spec == "all":
        cuda = [d for d in available if d.startswith("cuda")]
        return cuda if cuda else ["auto"]
    return [spec]


def _make_engine(checkpoint: str | None, device: str, precision: str) -> Any:
    """Build one engine (a seam the tests replace with a fake)."""
    from glow_core.engine import Engine

    return Engine(checkpoint, device=device, precision=precision)


def _available_devices() -> list[str]:
    from glow_core.engine import available_devices

    return available_devices()


class _AutoCaption:
    """``--caption auto``: one suggestion per photo, or '' with a note when unavailable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.captioner: Any = None
        try:
            from glow_core.text.captions.captioner import CaptionerUnavailable, get_captioner
        except ImportError as exc:
            _note(f"automatic captions are not available in this installation ({exc}); "
                  "continuing without a caption")
            return
        try:
            self.captioner = get_captioner("cpu")  # keeps GPU memory for the restoration
        except CaptionerUnavailable as exc:
            _note(f"--caption auto: {exc}")
            _note("continuing without a caption")
        except Exception as exc:  # a broken captioner must not stop the batch
            _note(f"--caption auto: the captioner could not be loaded ({exc}); "
                  "continuing without a caption")

    def __call__(self, pixels: Any) -> str:
        if self.captioner is None:
            return ""
        with self._lock:
            try:
                return str(self.captioner.suggest(pixels))
            except Exception as exc:
                _note(f"caption suggestion failed ({exc}); using no caption")
                return ""


def cmd_restore(args: argparse.Namespace) -> int:
    if not args.out_dir.strip():  # Path("") would silently mean the current folder
        raise UsageError("the output folder is empty (-o ''); give a folder name "
                         "(use '.' for the current folder)")
    try:
        settings = BatchSettings(
            out_dir=Path(args.out_dir).expanduser(), format=args.format,
            bit_depth=args.bit_depth, quality=args.quality, recursive=args.recursive,
            skip_existing=args.skip_existing,
            max_pixels=int(args.max_megapixels * 1e6), background=args.background,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    plan = plan_batch([Path(p).expanduser() for p in args.inputs], settings)
    if not plan.found:
        missing = "; ".join(f"{i.source}: {i.reason}" for i in plan.items)
        raise UsageError("no images found in the inputs"
                         + (f" ({missing})" if missing else "")
                         + "; give image files or folders (use --recursive for sub-folders)")
    try:  # before the model loads: a folder that cannot take the results fails fast
        check_output_folder(settings.out_dir)
    except OutputFolderError as exc:
        _error(str(exc))
        return EXIT_OUTPUT

    kernel = _load_kernel_option(args, plan)  # a bad kernel file fails before the model loads
    save_kernel_dir = _save_kernel_dir(args)
    # Kernels are named after their photo's output (already free of name clashes, folder
    # structure kept), so two IMG_0001.JPG never write one IMG_0001_kernel.
    kernel_names = {str(i.source): Path(i.relative).with_suffix("").as_posix()
                    for i in plan.items if i.relative}

    from glow_core.checkpoint import CheckpointError
    from glow_core.engine import Cancelled, CancelToken, EngineError, RestoreOptions

    options = RestoreOptions(mode=args.mode, steps=args.steps, seed=args.seed,
                             caption="" if args.caption == "auto" else args.caption,
                             strength=args.strength, tile=args.tile, overlap=args.overlap,
                             kernel_stage=not args.no_kernel_stage, kernel=kernel,
                             kernel_size=args.kernel_size, kernel_region=args.kernel_region,
                             spatially_varying=args.varying_blur)
    try:
        options.validate()
        devices = resolve_devices(args.device, _available_devices())
        engines = [_make_engine(args.checkpoint, d, args.precision) for d in devices]
    except (EngineError, CheckpointError) as exc:  # includes MissingCheckpointError
        raise UsageError(str(exc)) from None
    if args.mode == "full" and not getattr(engines[0], "full_available", True):
        raise UsageError("this checkpoint has no trained diffusion part; use --mode fast "
                         "or a checkpoint trained for the full path")
    auto_caption = _AutoCaption() if args.caption == "auto" else None
    cancel = CancelToken()
    cli_roundtrip.prepare(args)

    todo = sum(1 for i in plan.items if i.status == "pending")
    show_bar = not args.quiet and sys.stdout.isatty() and sys.stderr.isatty()
    bar = _progress_bar(len(plan.items), show_bar)
    bar_lock = threading.Lock()

    def restorer_for(engine: Any):
        def restore(image: ImageData):
            opts = options
            if auto_caption is not None:
                caption = auto_caption(image.pixels)
                opts = dataclasses.replace(options, caption=caption)
                if caption and bar is not None:
                    with bar_lock:
                        bar.write(f"{image.source}: caption '{caption}'")

            def progress(info: Any) -> None:
                if bar is not None and len(engines) == 1:
                    with bar_lock:
                        bar.set_postfix_str(
                            f"{Path(image.source or '').name} {info.stage} "
                            f"{100 * info.fraction:.0f}%", refresh=False)

            if kernel is not None:
                _check_kernel_fits(kernel, args.kernel, image.pixels.shape[:2])
            result = engine.restore(image, opts, progress=progress, cancel=cancel)
            if save_kernel_dir is not None:
                _save_result_kernel(result, save_kernel_dir, image.source,
                                    kernel_names.get(str(image.source)))
            # The caption in force goes into the output's metadata.
            return result.image, opts.caption
        return cli_roundtrip.wrap_restorer(args, restore)

    def on_item(item: BatchItem) -> None:
        if bar is None:
            if item.status == "failed":
                _note(f"failed: {item.reason}")
            return
        with bar_lock:
            if item.status == "failed":
                bar.write(f"failed: {item.reason}", file=sys.stderr)
            bar.update(1)

    where = ", ".join(str(getattr(e, "device", d)) for e, d in zip(engines, devices, strict=True))
    if not args.quiet and show_bar:
        _note(f"restoring {todo} photo(s) on {where} ({args.mode} mode) into {settings.out_dir}")
    start = time.perf_counter()
    summary = BatchSummary()
    try:
        run_batch(plan, [restorer_for(e) for e in engines], on_item=on_item,
                  fatal=(Cancelled,), summary=summary,
                  log_settings={"mode": args.mode, "steps": args.steps,
                                "seed": args.seed, "strength": args.strength,
                                "caption": args.caption, "devices": devices,
                                "checkpoint": args.checkpoint})
    except (KeyboardInterrupt, Cancelled):
        cancel.cancel()
        if bar is not None:
            bar.close()
        _print_summary(summary, time.perf_counter() - start, settings.out_dir, plan)
        _error(f"interrupted; finished outputs are kept, re-run with --skip-existing to "
               f"resume (log: {settings.out_dir / LOG_NAME})")
        return EXIT_INTERRUPTED
    except OutputFolderError as exc:
        _error(str(exc))
        return EXIT_OUTPUT
    finally:
        if bar is not None:
            bar.close()
    _print_summary(summary, time.perf_counter() - start, settings.out_dir, plan)
    if summary.output_error:
        _error(f"{summary.output_error}; the batch stopped. Free some space or choose "
               "another output folder, then re-run with --skip-existing")
        return EXIT_OUTPUT
    return EXIT_FAILED if summary.failed else EXIT_OK


def _load_kernel_option(args: argparse.Namespace, plan: Any) -> Any:
    """``--kernel FILE`` read and checked (also against the photos' sizes), or None."""
    if args.varying_blur and (args.kernel is not None or args.kernel_region is not None):
        raise UsageError("--varying-blur estimates a kernel per region of the photo; it does "
                         "not go with --kernel (one given kernel) or --kernel-region (one "
                         "kernel from a box)")
    if args.kernel is None:
        if args.no_kernel_stage and (args.kernel_size or args.kernel_region or args.save_kernel
                                     or args.varying_blur):
            raise UsageError("--kernel-size, --kernel-region, --varying-blur and --save-kernel "
                             "need the kernel stage; drop --no-kernel-stage")
        return None
    if args.no_kernel_stage:
        raise UsageError("--kernel needs the kernel stage; drop --no-kernel-stage")
    from glow_core.kernel import KernelFileError, load_kernel

    try:
        kernel = load_kernel(Path(args.kernel).expanduser())
    except KernelFileError as exc:
        raise UsageError(f"bad kernel file {exc}") from None
    for item in plan.items:
        size = _photo_size(item.source) if item.status == "pending" else None
        if size is not None:
            try:
                _check_kernel_fits(kernel, args.kernel, size)
            except ValueError as exc:
                raise UsageError(f"bad kernel file {exc} ({item.source})") from None
    return kernel


def _photo_size(path: Path) -> tuple[int, int] | None:
    """(height, width) from the file's header, or None when it cannot be read cheaply."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            w, h = im.size
    except Exception:  # RAW, HEIC, broken files: the restore itself says what is wrong
        return None
    return (min(h, w), min(h, w))  # orientation may swap the sides


def _check_kernel_fits(kernel: Any, name: str, size: tuple[int, int]) -> None:
    """A ValueError (KernelFileError) naming the file when the kernel exceeds the photo."""
    from glow_core.kernel.kernel_io import validate_kernel

    validate_kernel(kernel, name=str(name), max_size=(int(size[0]), int(size[1])))


def _save_kernel_dir(args: argparse.Namespace) -> Path | None:
    if args.save_kernel is None:
        return None
    folder = Path(args.save_kernel).expanduser()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--save-kernel {folder} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the --save-kernel folder {folder}: {exc}") from None
    return folder


def _save_result_kernel(result: Any, folder: Path, source: Any, name: str | None) -> None:
    """Write ``<name>_kernel.png`` and ``.npy`` (atomic) when the restore used a kernel;
    ``name`` is the photo's output path without extension (its stem when unknown)."""
    field = getattr(result, "kernel_field", None)
    if field is None:
        _note(f"{source}: no kernel to save (the blur estimate was not trusted)")
        return
    from glow_core.kernel import save_kernel

    stem = folder / (name or Path(str(source or "photo")).stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    save_kernel(stem.with_name(stem.name + "_kernel"), field.global_kernel)
    if field.grid != (1, 1) and not field.uniform:
        _save_field(field, stem)


def _save_field(field: Any, stem: Path) -> None:
    """A field's region kernels (``<stem>_field.npz``: kernels gy x gx x k x k, boxes
    (y0, x0, y1, x1) in pixels, each region's confidence) and its blur trace drawn at 512 px
    (``<stem>_blur_trace.png``, RGBA), both written atomically."""
    import io

    import numpy as np
    from PIL import Image

    from glow_core.fsutil import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, kernels=field.kernels, boxes=field.boxes, confidences=field.confidences)
    atomic_write_bytes(stem.with_name(stem.name + "_field.npz"), buf.getvalue())
    buf = io.BytesIO()
    Image.fromarray(field.overlay(), "RGBA").save(buf, format="PNG")
    atomic_write_bytes(stem.with_name(stem.name + "_blur_trace.png"), buf.getvalue())


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="photo", dynamic_ncols=True, file=sys.stderr)


def _print_summary(summary: BatchSummary, seconds: float, out_dir: Path,
                   plan: BatchPlan | None = None) -> None:
    total = len(summary.done) + len(summary.skipped) + len(summary.failed)
    stopped = f", {len(summary.interrupted)} interrupted" if summary.interrupted else ""
    print(f"{len(summary.done)} restored, {len(summary.skipped)} skipped, "
          f"{len(summary.failed)} failed{stopped} (of {total + len(summary.interrupted)}) "
          f"in {seconds:.1f} s -> {out_dir}")
    if summary.skipped:
        print(f"skipped {len(summary.skipped)} photo(s) whose output already exists")
    for item in summary.interrupted:
        print(f"  interrupted {item.source}: not recorded as finished; the next run "
              "redoes it (or, with --skip-existing, keeps its output if it was written)")
    if summary.renamed:
        print(f"{len(summary.renamed)} output(s) renamed so that no two photos share a name:")
        for item in summary.renamed:
            print(f"  {item.source} -> {item.relative} ({item.renamed})")
    if plan is not None and plan.excluded:
        print(f"left out {len(plan.excluded)} file(s) that are outputs of a batch into "
              f"{out_dir}:")
        for path, why in plan.excluded[:10]:
            print(f"  {path}: {why}")
        if len(plan.excluded) > 10:
            print(f"  ... and {len(plan.excluded) - 10} more")
    for item in summary.warned:
        for warning in item.warnings:
            print(f"  note {item.source}: {warning}")
    for item in summary.failed:
        reason = item.reason.removeprefix(f"{item.source}: ")
        print(f"  FAILED {item.source}: {reason}")
    if summary.failed:
        print(f"details: {out_dir / LOG_NAME}")


# -------------------------------------------------------------------------------- info


def measure_macs(fn: Any) -> int:
    """Multiply-accumulates of one call, counted by torch's FlopCounterMode (flops / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops() // 2


def preset_cost(name: str, size: int = 256) -> dict[str, Any]:
    """Parameters per part and GMACs per megapixel of a preset (random weights)."""
    import torch

    from glow_core.config import preset
    from glow_core.models import PARTS, GlowDeblur, count_parameters

    config = preset(name)
    torch.manual_seed(0)
    model = GlowDeblur(config).eval()
    params = {part: count_parameters(getattr(model, part)) for part in PARTS}
    megapixels = size * size / 1e6
    x = torch.rand(1, 3, size, size)
    text = torch.zeros(1, config.max_caption_tokens, config.dit.text_dim)
    mask = torch.ones(1, config.max_caption_tokens, dtype=torch.bool)
    with torch.inference_mode():
        fast = model.fast(x)
        fast_macs = measure_macs(lambda: model.fast(x))
        cond = model.condition(fast)
        z = torch.randn(model.latent_shape(size, size))
        t = torch.full((1,), 0.5)
        dit_macs = measure_macs(lambda: model.dit(z, t, cond, text, mask))
        finish_macs = measure_macs(lambda: model.finish(z, fast.rgb))
    scale = 1e9 * megapixels
    return {
        "preset": name,
        "params": params,
        "total_params": sum(params.values()),
        "fast_gmacs_per_mp": fast_macs / scale,
        "full_fixed_gmacs_per_mp": (fast_macs + finish_macs) / scale,
        "dit_step_gmacs_per_mp": dit_macs / scale,
    }


def cmd_info(args: argparse.Namespace) -> int:
    from glow_core.config import PRESETS, SHIPPED_PRESET
    from glow_core.models import PARTS

    names = args.preset or list(PRESETS)
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        raise UsageError(f"unknown preset {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    rows = [preset_cost(n) for n in names]
    head = ["preset", *PARTS, "total", "fast", "full", "DiT/step", "full@4"]
    table = [head]
    for row in rows:
        full4 = row["full_fixed_gmacs_per_mp"] + 4 * row["dit_step_gmacs_per_mp"]
        label = row["preset"] + (" *" if row["preset"] == SHIPPED_PRESET else "")
        table.append([
            label, *(_millions(row["params"][p]) for p in PARTS), _millions(row["total_params"]),
            f"{row['fast_gmacs_per_mp']:.1f}", f"{row['full_fixed_gmacs_per_mp']:.1f}",
            f"{row['dit_step_gmacs_per_mp']:.1f}", f"{full4:.1f}",
        ])
    widths = [max(len(r[c]) for r in table) for c in range(len(head))]
    print("Parameters in millions per part; compute in GMACs per megapixel (256x256 input).")
    print("full = fast path + decoder + fusion, plus DiT/step for every sampler step "
          "(full@4 = 4 steps). * = shipped preset.")
    for n, row in enumerate(table):
        print("  ".join(cell.rjust(w) if c else cell.ljust(w)
                        for c, (cell, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    return EXIT_OK


def _millions(count: int) -> str:
    return f"{count / 1e6:.3f}" if count < 1e6 else f"{count / 1e6:.2f}"


# ----------------------------------------------------------------------------- devices


def cmd_devices(args: argparse.Namespace) -> int:
    import torch

    devices = _available_devices()
    print("Devices, best first (--device auto picks the first):")
    for n, device in enumerate(devices):
        detail = ""
        if device.startswith("cuda"):
            props = torch.cuda.get_device_properties(torch.device(device))
            detail = f"{props.name}, {props.total_memory / 2**30:.1f} GiB"
        elif device == "mps":
            detail = "Apple GPU (Metal)"
        elif device == "cpu":
            detail = f"{os.cpu_count() or '?'} logical cores, {torch.get_num_threads()} threads"
        print(f"  {'*' if n == 0 else ' '} {device:8s} {detail}")
    cuda = [d for d in devices if d.startswith("cuda")]
    if len(cuda) > 1:
        print(f"--device all spreads a batch over {len(cuda)} GPUs")
    return EXIT_OK


def cmd_fetch_captioner(args: argparse.Namespace) -> int:
    try:
        from glow_core.text.captions.captioner import fetch_captioner
    except ImportError as exc:
        raise UsageError(f"the captioner is not part of this installation ({exc})") from None
    try:
        path = fetch_captioner()
    except Exception as exc:  # network/disk errors, shown to the user
        _error(f"could not fetch the captioner weights: {exc}")
        return EXIT_FAILED
    print(f"captioner weights installed: {path}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
