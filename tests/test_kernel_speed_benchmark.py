"""The speed benchmark's plumbing on a generated data folder (no shared data needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import kernel_speed as bench
from tests.test_kernel_deconvolve import dead_leaves, motion_kernel


def data_folder(root: Path) -> Path:
    photo = root / bench.PHOTO
    photo.parent.mkdir(parents=True)
    Image.fromarray((dead_leaves(160, seed=3) * 255).astype(np.uint8)).save(photo)
    kernel = root / bench.KERNEL
    kernel.parent.mkdir(parents=True)
    np.save(kernel, motion_kernel(9, seed=1))
    return root


def test_photo_of_size_mirrors_to_the_size_asked() -> None:
    sharp = dead_leaves(40, seed=1)
    out = bench.photo_of_size(sharp, 0.01)
    assert out.shape == (86, 115, 3)
    np.testing.assert_array_equal(out[:40, :40], sharp)
    np.testing.assert_array_equal(out[:40, 40:80], sharp[:, ::-1])  # mirrored: no seam


def test_every_part_reports_time_memory_and_the_chroma_solve(tmp_path: Path, capsys) -> None:
    data = data_folder(tmp_path / "data")
    md = tmp_path / "speed.md"
    assert bench.main(["--data", str(data), "--sizes", "0.03", "--parts", "deconv", "stage",
                       "fast", "--repeats", "1", "--threads", "1", "--markdown", str(md)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()
            if line.startswith("{")]
    assert [r["part"] for r in rows] == ["deconv", "stage", "fast"]
    for r in rows:
        assert r["size"] == "200x150" and r["wall_s"] > 0 and r["peak_mb"] > r["working_mb"]
        assert r["chroma"].startswith(("half (", "full ("))
    fast = rows[2]
    assert fast["stage_s"] >= 0 and fast["network_s"] > 0
    table = md.read_text()
    assert table.count("\n| ") == 3 and "network" in table  # a row per part


def test_a_jpeg_photo_is_read_back_with_its_colour_sampling(tmp_path: Path, capsys) -> None:
    """``--jpeg``: the shaken photo goes through a 4:2:0 JPEG file, so the stage and the
    engine see what a camera's photo tells them, and the row says so."""
    data = data_folder(tmp_path / "data")
    assert bench.main(["--data", str(data), "--sizes", "0.03", "--parts", "deconv", "fast",
                       "--repeats", "1", "--threads", "1", "--jpeg", "90"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()
            if line.startswith("{")]
    assert [r["part"] for r in rows] == ["deconv", "fast"]
    for r in rows:
        assert r["chroma"].startswith("half, 4:2:0 JPEG (") and r["size"] == "200x150"


@pytest.mark.parametrize("tie_break", [False, True])
def test_the_estimate_part_times_the_given_and_the_automatic_size(
        tmp_path: Path, capsys, tie_break: bool) -> None:
    """Issue 10's goal (a 31 px kernel given at 1 MP) as a row, with the automatic size's
    time and how many starts ran; ``--tie-break`` runs the third start every time."""
    data = data_folder(tmp_path / "data")
    args = ["--data", str(data), "--sizes", "0.03", "--parts", "estimate", "--repeats", "1",
            "--threads", "1"] + (["--tie-break"] if tie_break else [])
    assert bench.main(args) == 0
    out = capsys.readouterr().out
    row = next(json.loads(line) for line in out.splitlines() if line.startswith("{"))
    assert row["part"] == "estimate" and row["wall_s"] > 0 and row["auto_s"] > 0
    if tie_break:
        assert row["starts"] == 3
    assert "31 px given" in out


def test_a_missing_photo_is_a_usage_error(tmp_path: Path) -> None:
    data = data_folder(tmp_path / "data")
    with pytest.raises(SystemExit) as err:
        bench.main(["--data", str(data), "--photo", "sharp/none.png"])
    assert err.value.code == 2
