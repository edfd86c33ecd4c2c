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
    assert (s["n"], s["losses"], s["gains"], s["kept"]) == (3, 1, 1, 2)
    assert s["gain"] == pytest.approx((1.0 - 0.5 + 0.05) / 3)
    assert s["worst"] == pytest.approx(-0.5) and s["best"] == pytest.approx(1.0)
    assert bench.summarise([]) == {}
    assert "| all | 3 |" in bench.markdown_table({"all": s, "none": {}})


@pytest.mark.usefixtures("one_torch_thread")
def test_cli_runs_the_engine_stage_on_each_place(tmp_path: Path) -> None:
    root = tmp_path / "data" / "pairs" / "gopro_frameavg"
    for sub in ("blur", "sharp"):
        (root / sub).mkdir(parents=True)
    for i, name in enumerate((HELD, "GOPR9999_00_st_frame-1_n_avg-8")):
        sharp = dead_leaves(256, seed=i, n=500)[:160]
        blurry = blur_linear(sharp, motion_kernel(9, seed=i), noise=0.005, seed=i)
        for sub, img in (("sharp", sharp), ("blur", blurry)):
            Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8)).save(
                root / sub / f"{name}.png")
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
