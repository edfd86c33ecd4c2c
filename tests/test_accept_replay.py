"""The acceptance replay benchmark on a generated pair folder: the replay reproduces the
engine's kernel stage, and its overrides change what they say."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import accept_replay as bench
from tests.test_real_blur_benchmark import write_pairs

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def test_replay_reproduces_the_stage_and_its_overrides_bite(tmp_path: Path) -> None:
    from glow_core.kernel_stage import run_kernel_stage

    data = write_pairs(tmp_path / "data", width=320, height=176, leaves=700, noise=0.003)
    out = tmp_path / "cache"
    common = ["--out", str(out), "--data", str(data), "--crop", "160"]
    assert bench.main(["estimate", *common]) == 0
    assert len(list((out / "estimates" / "real").glob("*.pkl"))) == 6
    assert bench.main(["estimate", *common]) == 0  # resumes: nothing estimated again
    assert bench.main(["deconvolve", *common]) == 0
    shipped = tmp_path / "shipped.json"
    assert bench.main(["replay", *common, "--json", str(shipped)]) == 0
    rows = {r["case"]: r for r in json.loads(shipped.read_text())["rows"]}
    assert len(rows) == 6 and any(r["strength"] > 0 for r in rows.values())

    # the replay is the stage: each case's output as run_kernel_stage gives it
    for case in bench.cases(data, "real", 160):
        blurry, sharp = bench.load_blurry(case), bench.load_sharp(case)
        stage = run_kernel_stage(blurry, kernel=None, kernel_size=None, region=None,
                                 spatially_varying=False, report=lambda _f, _m: None,
                                 cancel=None)
        result = blurry if stage.deconvolved is None else stage.deconvolved
        expect = bench.psnr(result, sharp, bench.best_shift(result, sharp))
        assert rows[case.name]["output"] == pytest.approx(expect, abs=0.02), case.name

    # a rule that trusts no residual keeps nothing: every output is its input
    strict = tmp_path / "strict.json"
    assert bench.main(["replay", *common, "--accept", "ok_residual=0.01",
                       "max_residual=0.02", "--json", str(strict)]) == 0
    strict_rows = json.loads(strict.read_text())["rows"]
    assert all(r["strength"] == 0.0 for r in strict_rows)
    assert np.mean([r["output"] for r in strict_rows]) < \
        np.mean([r["output"] for r in rows.values()]) - 1.0
    # a deconvolution variant is cached apart and differs where the stage deconvolves
    assert bench.main(["deconvolve", *common, "--name", "calm",
                       "--deconv", "noise_gain=0.003"]) == 0
    calm = tmp_path / "calm.json"
    assert bench.main(["replay", *common, "--name", "calm", "--json", str(calm)]) == 0
    fulls = [(r["full"], rows[r["case"]]["full"]) for r in json.loads(calm.read_text())["rows"]
             if r["full"] is not None]
    assert fulls and any(abs(a - b) > 0.05 for a, b in fulls)
    summary = json.loads(shipped.read_text())["summary"]
    assert summary["all"]["n"] == 6 and summary["held out"]["n"] == 3


def test_bad_overrides_and_missing_estimates_are_clear_errors(tmp_path: Path) -> None:
    from glow_core.kernel.config import AcceptConfig, DeconvConfig

    assert bench._overrides(DeconvConfig, ["opponent_colour=False", "inner_iters=2",
                                           "weight=None", "noise_gain=0.05"]) == {
        "opponent_colour": False, "inner_iters": 2, "weight": None, "noise_gain": 0.05}
    with pytest.raises(SystemExit, match="no field 'bogus'"):
        bench._overrides(AcceptConfig, ["bogus=1"])
    with pytest.raises(SystemExit, match="True or False"):
        bench._overrides(AcceptConfig, ["enabled=yes"])
    with pytest.raises(SystemExit):
        bench.main(["replay", "--out", str(tmp_path / "none")])
