"""The kernel benchmark's plumbing on generated images (no shared data needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import kernels as bench
from tests.test_kernel_deconvolve import dead_leaves, motion_kernel


def _oracle(blurry: np.ndarray, truth: np.ndarray):
    """A 'blind' estimator that is handed the true kernel: checks the plumbing only."""
    return bench.deconvolve(blurry, truth), 1.0, truth


@pytest.mark.usefixtures("one_torch_thread")
def test_protocol_table_and_ratios() -> None:
    images = [(f"dl{i}", dead_leaves(72, seed=i)) for i in range(2)]
    kernels = [("gen/k_a", motion_kernel(9, seed=1)), ("gen/k_b", motion_kernel(11, seed=2))]
    methods = {"wiener_true": bench.true_kernel_wiener(),
               "ceiling": bench.true_kernel_ceiling(), "blind": _oracle}
    res = bench.run_protocol(images, kernels, methods)
    assert set(res["kernels"]) == {"gen/k_a", "gen/k_b"}
    ov = res["overall"]
    assert ov["floor"]["n"] == 4 and len(ov["ratio"]) == 4
    # The oracle is the ceiling: error ratio 1, all at or below 2.
    assert np.allclose(ov["ratio"], 1.0) and ov["share_ratio_le_2"] == 1.0
    assert ov["ceiling"]["psnr"] > ov["floor"]["psnr"] + 2
    assert ov["ceiling"]["psnr"] > ov["wiener_true"]["psnr"]
    assert 0 < ov["ceiling"]["ssim"] <= 1 and ov["ceiling"]["s_per_mp"] > 0
    table = bench.markdown_table(res)
    lines = table.splitlines()
    assert lines[0].startswith("| kernel |") and "error ratio" in lines[0]
    assert len(lines) == 2 + 2 + 1 and "k_a" in table and "**all (4)**" in table
    json.dumps(res)  # the --json payload is serialisable


def test_blur_is_linear_light_valid_mode() -> None:
    """A delta kernel changes nothing but noise; a box blurs in linear light, not sRGB."""
    img = dead_leaves(48, seed=3)
    delta = np.zeros((5, 5), np.float32)
    delta[2, 2] = 1
    out = bench.blur_photo(img, delta, noise=0.0)
    assert np.abs(out - img).max() <= 0.5 / 255 + 1e-6
    two = np.zeros((48, 48, 3), np.float32)
    two[:, ::2] = 1.0  # alternating black/white columns
    box = np.zeros((3, 3), np.float32)
    box[1, 1:] = 0.5
    flat = bench.blur_photo(two, box, noise=0.0)[4:-4, 4:-4]
    # Mean of 0 and 1 in linear light is 0.5, i.e. ~0.735 in sRGB (not 0.5).
    assert abs(float(flat.mean()) - 0.735) < 0.01


def test_cli_writes_json(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sharp" / "kodak24").mkdir(parents=True)
    (data / "kernels" / "usrnet12").mkdir(parents=True)
    from PIL import Image

    Image.fromarray((dead_leaves(64, seed=4) * 255).astype(np.uint8)).save(
        data / "sharp" / "kodak24" / "kodim01.png")
    np.save(data / "kernels" / "usrnet12" / "usrnet12_k09.npy", motion_kernel(9, seed=3))
    out = tmp_path / "r.json"
    rc = bench.main(["--data", str(data), "--kernels", "usrnet12_k09", "--no-blind",
                     "--threads", "1", "--quiet", "--json", str(out)])
    assert rc == 0
    payload = json.loads(out.read_text())
    assert "usrnet12/usrnet12_k09" in payload["result"]["kernels"]
    assert payload["table"].startswith("| kernel |")


@pytest.mark.usefixtures("one_torch_thread")
def test_shards_reproduce_the_whole_run() -> None:
    """``--jobs``: photos split over processes, each seeded by its protocol index, give
    exactly the cases and scores of one run (here the shards run in this process)."""
    images = [(f"dl{i}", dead_leaves(64, seed=i)) for i in range(3)]
    kernels = [("gen/k_a", motion_kernel(9, seed=1))]
    methods = {"wiener_true": bench.true_kernel_wiener()}
    whole = bench.summarise(bench.collect_rows(images, kernels, methods))
    parts = [bench.rows_to_json(bench.collect_rows(images[:1], kernels, methods)),
             bench.rows_to_json(bench.collect_rows(images[1:], kernels, methods,
                                                   first_index=1))]
    merged = bench.summarise(bench.merge_rows(json.loads(json.dumps(parts))))
    for m in ("floor", "wiener_true"):
        for key in ("psnr", "ssim", "n"):
            assert merged["overall"][m][key] == pytest.approx(whole["overall"][m][key])
    assert bench._without(["--limit", "4", "--jobs=2", "--crop", "128"],
                          ("--limit", "--jobs")) == ["--crop", "128"]


def test_quarter_pixel_alignment_recovers_a_fractional_shift() -> None:
    """Blind results are scored at Levin et al.'s quarter-pixel best shift: an image moved
    by (1.25, -0.5) px is found at exactly that shift and scores far above its best
    integer shift (band-limited, so the half pixel does not blur it)."""
    img = dead_leaves(96, seed=6)
    img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
    moved = bench.subpixel_shift(img, 1.25, -0.5)  # moved(y, x) = img(y + 1.25, x - 0.5)
    shift = bench.best_subpixel_shift(moved, img)
    assert shift == (-1.25, 0.5)
    # 41 dB, not exact: the sharp discs' band-limited shift rings a little (21 dB at the
    # best integer shift)
    assert bench.psnr(moved, img, shift) > 38
    assert bench.psnr(moved, img, shift) > bench.psnr(moved, img, bench.best_shift(moved, img)) + 15


@pytest.mark.usefixtures("one_torch_thread")
def test_blind_is_the_engines_kernel_stage() -> None:
    """The table's blind column is what a restore's kernel stage returns (scene priors,
    back-off, deconvolution, acceptance blend), not a copy of its steps; and it undoes a
    clear synthetic shake."""
    from glow_core.kernel_stage import run_kernel_stage

    sharp = dead_leaves(192, seed=5)
    k = motion_kernel(11, seed=3)
    blurry = bench.blur_photo(sharp, k, noise=0.005, seed=2)
    out, conf, kernel = bench.blind_stage()(blurry, k)
    stage = run_kernel_stage(blurry, kernel=None, kernel_size=None, region=None,
                             spatially_varying=False, report=lambda _f, _m: None,
                             cancel=None)
    assert stage.deconvolved is not None and kernel is not None
    np.testing.assert_array_equal(out, stage.deconvolved)
    assert conf == pytest.approx(float(stage.field.global_confidence))
    gain = bench.psnr(out, sharp, bench.best_shift(out, sharp)) - bench.psnr(blurry, sharp)
    assert gain > 1.0
    # Without the acceptance test: the estimate deconvolved as it is, never the input.
    raw, _, _ = bench.blind_stage(acceptance=False)(blurry, k)
    assert raw.shape == blurry.shape and not np.array_equal(raw, blurry)


@pytest.mark.usefixtures("one_torch_thread")
def test_whole_engine_reuses_the_blind_estimate(tiny_checkpoint: Path) -> None:
    """``--engine``: the whole engine given the blind stage's estimate of the same photo
    returns exactly what it returns estimating on its own (so the column costs only the
    network), and the table reports it beside blind with its own error ratios."""
    from benchmarks._runner import process_engine
    from glow_core.engine import RestoreOptions

    sharp = dead_leaves(160, seed=7)
    k = motion_kernel(9, seed=4)
    blurry = bench.blur_photo(sharp, k, noise=0.005, seed=3)
    last: dict = {}
    deconvolved, _, _ = bench.blind_stage(last=last)(blurry, k)
    assert last["photo"] is blurry and last["field"] is not None
    assert not np.array_equal(deconvolved, blurry)  # the stage kept a deconvolution
    out, _, _ = bench.whole_engine(str(tiny_checkpoint), last)(blurry, k)
    alone = process_engine(str(tiny_checkpoint)).restore(blurry, RestoreOptions())
    np.testing.assert_array_equal(out, alone.image)

    methods = {"ceiling": bench.true_kernel_ceiling(),
               "blind": bench.blind_stage(last=last),
               "engine": bench.whole_engine(str(tiny_checkpoint), last)}
    res = bench.run_protocol([("dl", sharp)], [("gen/k", k)], methods)
    assert 0 <= res["overall"]["share_ratio_le_2_engine"] <= 1
    head = bench.markdown_table(res).splitlines()[0]
    assert "whole engine PSNR / SSIM" in head and "whole engine ratio <= 2" in head
