"""Metrics and the evaluation harness (tiny checkpoint, procedural images, no data)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from tests.conftest import make_tiny_checkpoint, synthetic_photo
from training import evaluation as ev
from training.evaluation import oracles
from training.metrics import PSNR_CEILING, psnr, ssim

# ----------------------------------------------------------------------------- metrics


def test_psnr_known_values() -> None:
    a = np.full((8, 8, 3), 0.5, np.float32)
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-4)  # mse 0.01
    assert psnr(a, a + 0.01) == pytest.approx(40.0, abs=1e-3)
    assert psnr(a, a) == PSNR_CEILING
    b = a.copy()
    b[0, 0] = 1.0  # one wrong pixel on the border: ignored with border=1
    assert psnr(a, b, border=1) == PSNR_CEILING
    assert psnr(a, b) < PSNR_CEILING
    batch = psnr(np.stack([a, a]), np.stack([a + 0.1, a + 0.01]))
    np.testing.assert_allclose(batch, [20.0, 40.0], atol=1e-3)


def test_ssim_known_values_and_matches_skimage() -> None:
    a = np.full((16, 16, 3), 0.5, np.float32)
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * 0.5 * 0.6 + c1) / (0.5**2 + 0.6**2 + c1)  # flat images: luminance term
    assert ssim(a, a + 0.1) == pytest.approx(expected, abs=1e-6)
    assert ssim(a, a) == pytest.approx(1.0)
    x = synthetic_photo(32, 40, seed=1)
    y = np.clip(x + np.random.default_rng(0).normal(0, 0.05, x.shape), 0, 1).astype(np.float32)
    ref = structural_similarity(x.astype(np.float64), y.astype(np.float64), channel_axis=2,
                                data_range=1.0)
    assert ssim(x, y) == pytest.approx(ref, abs=1e-9)
    assert ssim(x, y, border=4) != pytest.approx(ssim(x, y), abs=1e-6)
    np.testing.assert_allclose(ssim(np.stack([x, x]), np.stack([y, x])), [ref, 1.0], atol=1e-9)


def test_metrics_reject_bad_input() -> None:
    a = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="shape"):
        psnr(a, np.zeros((8, 9, 3), np.float32))
    with pytest.raises(ValueError):
        psnr(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="border"):
        ssim(a, a, border=4)


# ----------------------------------------------------------------------------- sets


def test_expand_and_parse_sets() -> None:
    assert ev.expand_sets(["synthetic"]) == ["synthetic-mixed"]
    allk = ev.expand_sets(["kodak-all", "kodak-shake"])
    assert "kodak-shake" in allk and "kodak-frames" in allk and len(allk) == len(ev.PATTERNS)
    assert ev.expand_sets(["gopro-real", "folder:/x"]) == ["gopro-real", "folder:/x"]
    for bad in ("kodak-wobble", "imagenet", "folder:"):
        with pytest.raises(ValueError):
            ev.expand_sets([bad])


def test_simulated_set_is_deterministic_and_cached() -> None:
    ev.clear_cache()
    a = ev.build_set("synthetic-linear", crop=32, limit=2, seed=3, camera="off")
    assert ev.build_set("synthetic-linear", crop=32, limit=2, seed=3, camera="off") is a
    ev.clear_cache()
    b = ev.build_set("synthetic-linear", crop=32, limit=2, seed=3, camera="off")
    assert b is not a
    for x, y in zip(a.images, b.images):
        np.testing.assert_array_equal(x.blurry, y.blurry)
        np.testing.assert_array_equal(x.kernel, y.kernel)
        assert x.pattern == "linear" and x.blurry.shape == (32, 32, 3)
    c = ev.build_set("synthetic-linear", crop=32, limit=2, seed=4, camera="off")
    assert not np.array_equal(c.images[0].blurry, a.images[0].blurry)
    with pytest.raises(ValueError, match="multiple of 32"):
        ev.build_set("synthetic-linear", crop=40)


def test_kodak_set_from_a_data_root(tmp_path: Path) -> None:
    """kodak-<pattern> reads sharp/kodak24 under the data root, centre-cropped."""
    folder = tmp_path / "sharp" / "kodak24"
    folder.mkdir(parents=True)
    for i in range(2):
        img = (synthetic_photo(48, 80, seed=i) * 255).round().astype(np.uint8)
        cv2.imwrite(str(folder / f"kodim{i + 1:02d}.png"), img[..., ::-1])
    s = ev.build_set("kodak-defocus", crop=32, data_root=tmp_path)
    assert [im.name for im in s.images] == ["kodim01", "kodim02"]
    sharp0 = synthetic_photo(48, 80, seed=0)[8:40, 24:56]
    # The target is the same photo through the (random) tone curve: same structure.
    assert s.images[0].sharp.shape == (32, 32, 3)
    assert np.corrcoef(s.images[0].sharp[..., 0].ravel(), sharp0[..., 0].ravel())[0, 1] > 0.9
    assert all(im.kernel is not None and im.camera is not None for im in s.images)
    with pytest.raises(FileNotFoundError):
        ev.build_set("kodak-defocus", crop=32, data_root=tmp_path / "nothing")


def test_wiener_with_true_kernel_beats_blur_on_noiseless_linear_blur() -> None:
    s = ev.build_set("synthetic-linear", crop=64, limit=2, seed=0, camera="off")
    for im in s.images:
        out, balance = ev.wiener_reference(im.blurry, im.sharp, im.kernel, im.camera)
        assert balance in ev.WIENER_BALANCES
        assert psnr(out, im.sharp) > psnr(im.blurry, im.sharp) + 1.0


# ----------------------------------------------------------------------------- evaluate


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    from glow_core.engine import Engine

    path = make_tiny_checkpoint(tmp_path_factory.mktemp("eval") / "tiny.safetensors")
    return Engine(path, device="cpu")


def test_evaluate_reports_every_method(engine) -> None:
    res = ev.evaluate(ev.EvalConfig(["synthetic-linear", "synthetic-object"], crop=32,
                                    limit=2, steps=2, camera="off"), engine)
    result = res.to_dict()
    assert result["settings"]["full"] is True and result["stages"]
    lin = result["sets"]["synthetic-linear"]
    (row,) = lin["summary"]
    assert row["pattern"] == "linear" and row["n"] == 2
    assert set(row["methods"]) == {"blurry", "fast", "full", "wiener", "rl"}
    assert row["fast_minus_wiener_db"] == pytest.approx(
        row["methods"]["fast"]["psnr"] - row["methods"]["wiener"]["psnr"])
    assert row["methods"]["wiener"]["psnr"] > row["methods"]["blurry"]["psnr"]
    for im in lin["images"]:
        assert im["kernel_size"] and im["size"] == [32, 32]
        assert im["metrics"]["blurry"]["psnr"] == pytest.approx(
            psnr(*_pair(lin, im["name"])), abs=1e-9)
    # Object motion has no uniform kernel: no references, and no gain.
    (obj,) = result["sets"]["synthetic-object"]["summary"]
    assert set(obj["methods"]) == {"blurry", "fast", "full"}
    assert obj["fast_minus_wiener_db"] is None
    table = ev.format_table(res)
    for title in ("Blurry input", "Fast", "Full (2 steps)", "Wiener*", "Richardson-Lucy*",
                  "synthetic-linear", "synthetic-object", "oracle"):
        assert title in table
    flat = ev.scalars(res)
    assert flat["synthetic-linear/linear/fast/psnr"] == row["methods"]["fast"]["psnr"]
    json.dumps(result)  # JSON-ready


def _pair(setresult: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    s = ev.build_set("synthetic-linear", crop=32, limit=2, seed=0, camera="off")
    im = next(i for i in s.images if i.name == name)
    return im.blurry, im.sharp


def test_references_are_computed_once_per_set(engine, monkeypatch) -> None:
    ev.clear_cache()
    calls = []
    real = ev.wiener_reference

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(oracles, "wiener_reference", counting)
    kw = dict(crop=32, limit=2, camera="off", full=False)
    first = ev.evaluate(ev.EvalConfig(["synthetic-shake"], **kw), engine).to_dict()
    second = ev.evaluate(ev.EvalConfig(["synthetic-shake"], **kw), engine).to_dict()
    assert len(calls) == 2  # two images, once each
    assert first["sets"]["synthetic-shake"]["summary"][0]["methods"]["wiener"] == \
        second["sets"]["synthetic-shake"]["summary"][0]["methods"]["wiener"]
    assert "full" not in first["sets"]["synthetic-shake"]["summary"][0]["methods"]
    assert first["full_skipped_reason"]


def test_mixed_set_has_rows_per_pattern(engine) -> None:
    result = ev.evaluate(ev.EvalConfig(["synthetic"], crop=32, limit=6, full=False,
                                       references=False, seed=1), engine).to_dict()
    rows = result["sets"]["synthetic-mixed"]["summary"]
    patterns = {im["pattern"] for im in result["sets"]["synthetic-mixed"]["images"]}
    assert len(patterns) > 1
    assert [r["pattern"] for r in rows][-1] == "all" and rows[-1]["n"] == 6
    assert {r["pattern"] for r in rows[:-1]} == patterns


def test_untrained_dit_skips_full(tmp_path: Path) -> None:
    path = make_tiny_checkpoint(tmp_path / "prerecon.safetensors", trained=False)
    result = ev.evaluate(ev.EvalConfig(["synthetic-gaussian"], path, crop=32, limit=1,
                                       device="cpu", references=False)).to_dict()
    assert result["settings"]["full"] is False
    assert "no trained DiT" in result["full_skipped_reason"]
    assert set(result["sets"]["synthetic-gaussian"]["summary"][0]["methods"]) == {
        "blurry", "fast"}


def test_folder_set_reads_real_pairs(engine, tmp_path: Path) -> None:
    root = tmp_path / "pairs"
    for d in ("blur", "sharp"):
        (root / d).mkdir(parents=True)
    for i in range(2):
        sharp = (synthetic_photo(40, 72, seed=i) * 255).round().astype(np.uint8)
        blurry = cv2.GaussianBlur(sharp, (0, 0), 1.5)
        cv2.imwrite(str(root / "sharp" / f"p{i}.png"), sharp[..., ::-1])
        cv2.imwrite(str(root / "blur" / f"p{i}.png"), blurry[..., ::-1])
    result = ev.evaluate(ev.EvalConfig([f"folder:{root}"], crop=32, full=False),
                         engine).to_dict()
    s = result["sets"][f"folder:{root}"]
    assert [im["name"] for im in s["images"]] == ["p0", "p1"]
    assert s["images"][0]["size"] == [32, 32]
    (row,) = s["summary"]
    assert row["pattern"] == "real" and set(row["methods"]) == {"blurry", "fast"}
    assert "plain layout" in s["description"]


# ----------------------------------------------------------------------------- CLI


def test_cli_writes_json_and_markdown(tiny_checkpoint: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    js, md = tmp_path / "out" / "r.json", tmp_path / "r.md"
    code = ev.main([str(tiny_checkpoint), "--dataset", "synthetic", "--dataset", "synthetic-linear",
                    "--limit", "2", "--crop", "32", "--steps", "1", "--device", "cpu",
                    "--camera", "off", "--json", str(js), "--markdown", str(md), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "synthetic-linear" in printed and "Wiener*" in printed
    data = json.loads(js.read_text())
    assert set(data["sets"]) == {"synthetic-mixed", "synthetic-linear"}
    assert data["settings"]["steps"] == 1 and data["settings"]["camera"] == "off"
    text = md.read_text()
    assert "## synthetic-linear" in text and "| pattern | n | Blurry input |" in text
    assert "Full (1 steps)" in text and "oracle references" in text
    assert "camera pipeline off" in text


def test_cli_errors_are_clear(tmp_path: Path, tiny_checkpoint: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert ev.main([str(tmp_path / "missing.safetensors"), "--dataset", "synthetic"]) == 2
    assert "not found" in capsys.readouterr().err
    assert ev.main([str(tiny_checkpoint), "--dataset", "kodak-wobble", "--device", "cpu"]) == 2
    assert "unknown blur pattern" in capsys.readouterr().err
    assert ev.main([str(tiny_checkpoint), "--dataset", "synthetic", "--crop", "50",
                    "--device", "cpu"]) == 2
    assert "multiple of 32" in capsys.readouterr().err
