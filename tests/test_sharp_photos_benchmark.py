"""The sharp-photo benchmark's plumbing on generated photos (no shared data needed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import sharp_photos as bench
from tests.test_kernel_deconvolve import dead_leaves


def test_noise_is_seeded_8_bit_and_of_the_asked_sigma() -> None:
    photo = np.full((64, 64, 3), 0.5, np.float32)
    a, b = bench.add_noise(photo, 0.02, seed=1), bench.add_noise(photo, 0.02, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, bench.add_noise(photo, 0.02, 2))
    assert np.allclose(a * 255, np.round(a * 255), atol=1e-3)
    assert 0.017 < float((a - photo).std()) < 0.023


def test_summary_keeps_a_clean_inputs_infinite_psnr_out_of_the_mean() -> None:
    rows = [{"set": "clean", "name": n, "input_psnr": 120.0 if d else math.inf, "input_ssim": 1.0,
             "output_psnr": p, "output_ssim": 0.99, "deconvolved": d}
            for n, p, d in (("a", 40.0, False), ("b", 30.0, True))]
    rows.append({"set": "noisy", "name": "a", "input_psnr": 40.0, "input_ssim": 0.9,
                 "output_psnr": 41.0, "output_ssim": 0.95, "deconvolved": False})
    s = bench.summarise(rows)
    assert s["clean"]["output_psnr"] == pytest.approx(35.0)
    assert (s["clean"]["worst"], s["clean"]["deconvolved"]) == ("b", 1)
    assert math.isinf(s["clean"]["input_psnr"]) and s["noisy"]["input_psnr"] == 40.0
    table = bench.markdown_table(s)
    assert "| clean | 2 | sharp itself | 35.00" in table and "| noisy | 1 | 40.00" in table


@pytest.mark.usefixtures("one_torch_thread")
def test_cli_runs_the_engine_on_sharp_and_noisy_photos(tmp_path: Path) -> None:
    kodak = tmp_path / "data" / "sharp" / "kodak24"
    kodak.mkdir(parents=True)
    for i in range(2):
        img = dead_leaves(160, seed=i, n=300)
        Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8)).save(
            kodak / f"kodim{i:02d}.png")
    out = tmp_path / "s.json"
    assert bench.main(["--data", str(tmp_path / "data"), "--crop", "128",
                       "--sets", "clean,noisy", "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert [r["set"] for r in payload["rows"]] == ["clean", "clean", "noisy", "noisy"]
    for row in payload["rows"]:
        assert np.isfinite(row["output_psnr"]) and row["output_psnr"] > 20.0
    assert payload["summary"]["noisy"]["input_psnr"] < 45.0
    with pytest.raises(SystemExit):
        bench.main(["--data", str(tmp_path / "data"), "--sets", "blurry"])
