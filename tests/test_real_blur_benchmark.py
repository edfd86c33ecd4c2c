"""The real-blur benchmark's plumbing on a generated pair folder (no shared data needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import real_blur as bench
from tests.test_kernel_deconvolve import blur_linear, dead_leaves, motion_kernel

HELD = "GOPR0374_11_00_st_frame-614_n_avg-8"  # a held-out name of training.paired


def test_crop_boxes_sit_inside_the_frame() -> None:
    for h, w, crop in ((720, 1280, 512), (300, 400, 256), (200, 200, 256)):
        boxes = {p: bench.crop_box(h, w, p, crop) for p in ("L", "C", "R", "F")}
        assert boxes["F"] == (0, 0, h, w)
        for y0, x0, y1, x1 in boxes.values():
            assert 0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w
        if crop < min(h, w):
            assert boxes["L"][1] < boxes["C"][1] < boxes["R"][1]
            assert boxes["C"][3] - boxes["C"][1] == crop


def test_summary_counts_losses_and_gains() -> None:
    rows = [{"input_psnr": 20.0, "input_ssim": 0.5, "stage_psnr": s, "stage_ssim": 0.5,
             "strength": st} for s, st in ((21.0, 1.0), (19.5, 0.4), (20.05, 0.0))]
    s = bench.summarise(rows)
    stage = s["stage"]
    assert (s["n"], stage["losses"], stage["gains"], s["kept"]) == (3, 1, 1, 2)
    assert stage["gain"] == pytest.approx((1.0 - 0.5 + 0.05) / 3)
    assert stage["worst"] == pytest.approx(-0.5) and stage["best"] == pytest.approx(1.0)
    assert "engine" not in s and "network" not in s
    assert bench.summarise([]) == {}
    table = bench.markdown_table({"all": s, "none": {}})
    assert "| all | 3 | stage alone |" in table and "whole engine" not in table


def test_summary_scores_the_engine_and_the_network_beside_the_stage() -> None:
    rows = [{"input_psnr": 20.0, "input_ssim": 0.5, "stage_psnr": 21.0, "stage_ssim": 0.6,
             "engine_psnr": 20.5, "engine_ssim": 0.55, "network_psnr": e, "network_ssim": 0.5,
             "strength": 1.0} for e in (19.0, 21.0)]
    s = bench.summarise(rows)
    assert s["engine"]["gain"] == pytest.approx(0.5)
    assert (s["network"]["losses"], s["network"]["gains"]) == (1, 1)
    table = bench.markdown_table({"all": s})
    assert "| all | 2 | whole engine |" in table and "| all | 2 | network alone |" in table


def write_pairs(data: Path, width: int = 256, height: int = 160, leaves: int = 500,
                noise: float = 0.005) -> Path:
    """A ``gopro_frameavg`` folder under ``data`` with two generated pairs (one held out):
    dead leaves shaken by a 9 px kernel, 8-bit PNGs. Returns ``data``."""
    root = data / "pairs" / "gopro_frameavg"
    for sub in ("blur", "sharp"):
        (root / sub).mkdir(parents=True)
    for i, name in enumerate((HELD, "GOPR9999_00_st_frame-1_n_avg-8")):
        sharp = dead_leaves(width, seed=i, n=leaves)[:height]
        blurry = blur_linear(sharp, motion_kernel(9, seed=i), noise=noise, seed=i)
        for sub, img in (("sharp", sharp), ("blur", blurry)):
            Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8)).save(
                root / sub / f"{name}.png")
    return data


@pytest.mark.usefixtures("one_torch_thread")
def test_cli_runs_the_engine_stage_on_each_place(tmp_path: Path) -> None:
    write_pairs(tmp_path / "data")
    out = tmp_path / "r.json"
    rc = bench.main(["--data", str(tmp_path / "data"), "--crop", "144", "--places", "L,R",
                     "--full", "--json", str(out)])
    assert rc == 0
    payload = json.loads(out.read_text())
    assert len(payload["rows"]) == 6 and payload["places"] == ["L", "R", "F"]
    assert payload["summary"]["held out"]["n"] == 3 and payload["summary"]["the rest"]["n"] == 3
    for row in payload["rows"]:
        assert np.isfinite(row["stage_psnr"]) and 0.0 <= row["strength"] <= 1.0
    assert payload["table"].startswith("| pairs |")
    with pytest.raises(SystemExit):
        bench.main(["--data", str(tmp_path / "data"), "--places", "X"])


@pytest.mark.usefixtures("one_torch_thread")
def test_engine_mode_scores_what_a_user_gets(tmp_path: Path) -> None:
    """The shipped checkpoint behind the stage, and alone, on a generated pair."""
    sharp = dead_leaves(192, seed=3, n=400)
    blurry = blur_linear(sharp, motion_kernel(9, seed=3), noise=0.005, seed=3)
    sharp, blurry = (np.round(np.clip(x, 0, 1) * 255) / 255 for x in (sharp, blurry))
    scores = bench.engine_scores(blurry.astype(np.float32), sharp.astype(np.float32))
    assert set(scores) == {"engine_psnr", "engine_ssim", "network_psnr", "network_ssim"}
    # the two runs differ (the stage deconvolves this blur) and both are real restorations
    assert scores["engine_psnr"] != scores["network_psnr"]
    assert all(np.isfinite(v) for v in scores.values())
    assert scores["engine_psnr"] > bench.psnr(blurry, sharp) - 1.0


@pytest.mark.usefixtures("one_torch_thread")
def test_ceiling_mode_fits_each_pairs_kernel(tmp_path: Path) -> None:
    """``--ceiling``: the kernel fitted to each generated pair explains its blur far
    better than no blur at all, its deconvolution is a real ceiling (above the input and
    at least as good as the blind stage on this clean synthetic shake), and the table
    gains the fit rows."""
    write_pairs(tmp_path / "data", width=224, height=224)
    out = tmp_path / "r.json"
    rc = bench.main(["--data", str(tmp_path / "data"), "--crop", "224", "--places", "C",
                     "--ceiling", "--json", str(out)])
    assert rc == 0
    payload = json.loads(out.read_text())
    for row in payload["rows"]:
        assert row["fit_psnr"] > row["fit_input_psnr"] + 8
        assert row["ceiling_psnr"] > row["input_psnr"] + 2
        assert row["ceiling_own_psnr"] > row["stage_psnr"] - 0.5
        assert row["ceiling_psnr"] > row["input_psnr"] + 2
        assert 5 <= row["fitted_extent"] <= 15  # the 9 px shake, give or take a pixel
        if row["explained_psnr"] is not None:
            assert row["explained_psnr"] <= row["fit_psnr"] + 0.5
    assert "ceiling (fitted kernel, blind noise floor)" in payload["table"]
    assert "re-blurred by the fitted kernel" in payload["table"]
