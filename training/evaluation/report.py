"""Reports and the command line: plain-text and Markdown tables, ``python -m training evaluate``.

``python -m training evaluate CHECKPOINT --dataset kodak-shake --dataset gopro-real ...``
(``--dataset``, not ``--set``: to ``train``, ``--set`` means ``KEY=VALUE``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from training.evaluation.oracles import RL_ITERATIONS, WIENER_BALANCES
from training.evaluation.run import METHODS, EvalConfig, EvalResult, evaluate
from training.evaluation.sets import DEFAULT_CROP, PATTERNS

METHOD_TITLES = {"blurry": "Blurry input", "fast": "Fast", "full": "Full",
                 "wiener": "Wiener*", "rl": "Richardson-Lucy*"}


def _as_dict(result: EvalResult | dict[str, Any]) -> dict[str, Any]:
    """Reports read the JSON form, so a saved ``--json`` file formats the same way."""
    return result.to_dict() if isinstance(result, EvalResult) else result


def _columns(result: dict[str, Any]) -> list[str]:
    present = {m for s in result["sets"].values() for row in s["summary"] for m in row["methods"]}
    return [m for m in METHODS if m in present]


def _title(method: str, result: dict[str, Any]) -> str:
    if method == "full":
        return f"Full ({result['settings']['steps']} steps)"
    return METHOD_TITLES[method]


def _cell(row: dict[str, Any], method: str) -> str:
    v = row["methods"].get(method)
    return "–" if v is None else f"{v['psnr']:.2f} / {v['ssim']:.3f}"


def _gain(row: dict[str, Any]) -> str:
    g = row["fast_minus_wiener_db"]
    return "–" if g is None else f"{g:+.2f}"


def format_table(result: EvalResult | dict[str, Any]) -> str:
    """Plain-text tables (one per set): mean PSNR (dB) / SSIM per method and pattern."""
    result = _as_dict(result)
    cols = _columns(result)
    lines = [f"checkpoint {result['checkpoint']} (stages: {', '.join(result['stages']) or '-'}; "
             f"{result['device']}, {result['precision']})"]
    if result["full_skipped_reason"]:
        lines.append(f"full path not run: {result['full_skipped_reason']}")
    head = ["pattern", "n", *[_title(m, result) for m in cols], "fast-wiener dB"]
    for name, s in result["sets"].items():
        rows = [[r["pattern"], str(r["n"]), *[_cell(r, m) for m in cols], _gain(r)]
                for r in s["summary"]]
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        lines += ["", f"{name}: {s['description']}",
                  "  ".join(h.ljust(w) for h, w in zip(head, widths)),
                  "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    if "wiener" in cols or "rl" in cols:
        lines += ["", _REFERENCE_NOTE]
    return "\n".join(lines)


_REFERENCE_NOTE = (
    "* oracle references (uniform-kernel sets only): true kernel, deconvolution in linear "
    "light through the true tone curve, padded and edge-tapered borders; Wiener's balance is the "
    f"best-PSNR of {len(WIENER_BALANCES)} values per image; Richardson-Lucy runs "
    f"{RL_ITERATIONS} iterations. They are generous upper bounds for classical non-blind "
    "deconvolution, not blind methods."
)


def format_markdown(result: EvalResult | dict[str, Any]) -> str:
    """The same tables as Markdown, with the settings and notes a README needs."""
    result = _as_dict(result)
    cols = _columns(result)
    st = result["settings"]
    out = [
        "# GLOW Deblur evaluation", "",
        f"- checkpoint: `{Path(result['checkpoint']).name}` (sha256 `{result['sha256'][:12]}`, "
        f"config `{result['config']}`, stages: {', '.join(result['stages']) or '-'})",
        f"- device: {result['device']} ({result['precision']}); crop {st['crop'] or 'full'}, "
        f"seed {st['seed']}, full-path steps {st['steps']}, border {st['border']} px",
        f"- created {result['created']}",
        "- cells: mean PSNR (dB) / SSIM against the sharp image; `fast-wiener`: mean PSNR "
        "gain of the fast path over the Wiener reference on the same images",
    ]
    if result["full_skipped_reason"]:
        out.append(f"- full path not run: {result['full_skipped_reason']}")
    head = ["pattern", "n", *[_title(m, result) for m in cols], "fast-wiener (dB)"]
    for name, s in result["sets"].items():
        out += ["", f"## {name}", "", s["description"], "",
                "| " + " | ".join(head) + " |",
                "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
        for r in s["summary"]:
            cells = [r["pattern"], str(r["n"]), *[_cell(r, m) for m in cols], _gain(r)]
            out.append("| " + " | ".join(cells) + " |")
    if "wiener" in cols or "rl" in cols:
        out += ["", "\\" + _REFERENCE_NOTE]
    return "\n".join(out) + "\n"


# ============================================================================ CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training evaluate",
        description="PSNR / SSIM of a checkpoint's fast and full paths per set and blur "
                    "pattern, beside oracle Wiener and Richardson-Lucy references.",
        epilog="sets: kodak-<pattern> (" + ", ".join(PATTERNS) + "), kodak-mixed, kodak-all, "
               "synthetic[-<pattern>] (procedural, no data needed), gopro-real (held-out "
               "pairs/gopro_frameavg), folder:<path> (GoPro/HIDE/RealBlur/RSBlur/plain).",
    )
    p.add_argument("checkpoint", help="a .safetensors checkpoint")
    p.add_argument("--dataset", dest="sets", action="append", required=True, metavar="NAME",
                   help="a set to evaluate (repeatable)")
    p.add_argument("--limit", type=int, default=None, help="at most N images per set")
    p.add_argument("--crop", type=int, default=DEFAULT_CROP,
                   help="centre crop side, a multiple of 32; 0 = full frames (default 256)")
    p.add_argument("--steps", type=int, default=4, help="sampler steps of the full path")
    p.add_argument("--seed", type=int, default=0, help="simulation and sampler seed")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda:N, mps")
    p.add_argument("--precision", default="auto", help="auto, fp32, fp16, bf16")
    p.add_argument("--tile", type=int, default=None, help="engine tile size (default auto)")
    p.add_argument("--camera", choices=("default", "off"), default="default",
                   help="camera pipeline of simulated sets (default: noise, tone, JPEG on)")
    p.add_argument("--border", type=int, default=0, help="pixels ignored at each edge")
    p.add_argument("--folder-split", default="test", help="split of folder: sets")
    p.add_argument("--data-root", default=None, help="shared data folder (default ../shared/data)")
    p.add_argument("--no-full", action="store_true", help="skip the diffusion path")
    p.add_argument("--no-kernel-stage", action="store_true",
                   help="the network alone, without the kernel estimation + deconvolution")
    p.add_argument("--no-references", action="store_true",
                   help="skip the Wiener / Richardson-Lucy references")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="write all results")
    p.add_argument("--markdown", type=Path, default=None, metavar="FILE",
                   help="write the tables as Markdown")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from glow_core.checkpoint import CheckpointError
    from glow_core.engine import EngineError
    from training.paired import PairedDataError

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    try:
        result = evaluate(EvalConfig(
            args.sets, args.checkpoint, limit=args.limit, crop=args.crop, steps=args.steps,
            seed=args.seed, device=args.device, precision=args.precision,
            full=not args.no_full, references=not args.no_references, camera=args.camera,
            border=args.border, tile=args.tile, data_root=args.data_root,
            folder_split=args.folder_split, kernel_stage=not args.no_kernel_stage,
        ), progress=progress)
    except (EngineError, CheckpointError, PairedDataError, FileNotFoundError,
            ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(result))
    for path, text in ((args.json, lambda: json.dumps(result.to_dict(), indent=2) + "\n"),
                       (args.markdown, lambda: format_markdown(result))):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text(), encoding="utf-8")
    return 0
