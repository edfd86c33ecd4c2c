"""The app's blur-kernel tools: blur trace, blur region, load / save kernel, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QRect, Qt

from glow_core.kernel import linear_to_srgb, save_kernel
from tests.app_fixtures import app_config_dir, open_photo, photo_file, window  # noqa: F401
from tests.test_kernel_estimate import dead_leaves, motion_kernel

KSIZE = 11


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def blurry_file(tmp_path: Path) -> Path:
    """A 240 x 240 motion-blurred dead-leaves photo: enough edges to find the kernel."""
    k = motion_kernel(KSIZE, seed=4)
    g = dead_leaves(240 + KSIZE - 1, seed=2, n=400)
    blurred = scipy.signal.convolve(g, k, mode="valid")
    rgb = linear_to_srgb(np.stack([blurred, 0.8 * blurred + 0.1, 0.6 * blurred + 0.2], 2))
    path = tmp_path / "shaky.png"
    Image.fromarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)).save(path)
    return path


def spy_estimates(monkeypatch, engine) -> list[dict]:
    """The keyword arguments of every ``engine.estimate_kernel`` call from now on (the
    real estimate still runs)."""
    seen: list[dict] = []
    real = engine.estimate_kernel

    def spy(pixels, **kw):
        seen.append(kw)
        return real(pixels, **kw)

    monkeypatch.setattr(engine, "estimate_kernel", spy)
    return seen


def _fixed_size(win) -> None:
    win.kernel.panel.size_auto.setChecked(False)
    win.kernel.panel.size.setValue(KSIZE)


def test_estimate_blur_shows_the_blur_trace(qtbot, window, blurry_file: Path) -> None:  # noqa: F811
    open_photo(qtbot, window, blurry_file)
    _fixed_size(window)
    before = window.view.primary_canvas().grab().toImage()
    with qtbot.waitSignal(window.restorer.estimated, timeout=120000):
        assert window.act_estimate_blur.isEnabled()
        window.act_estimate_blur.trigger()
    qtbot.waitUntil(lambda: not window.restorer.busy, timeout=10000)
    field = window.view.kernel_field
    assert field is not None and field.kernels.shape[-1] == KSIZE
    assert window.act_motion.isChecked()  # the overlay was switched on to show it
    assert "Estimated" in window.kernel.panel.status.text()
    canvas = window.view.primary_canvas()
    after = canvas.grab().toImage()
    # The trace square at the region's centre: bright trace pixels on a dark square.
    (y0, x0, y1, x1) = (int(v) for v in field.boxes[0, 0])
    c = canvas.image_to_widget(QPointF((x0 + x1) / 2, (y0 + y1) / 2))
    dpr = after.devicePixelRatio()
    values = [after.pixelColor(int((c.x() + dx) * dpr), int((c.y() + dy) * dpr)).value()
              for dx in range(-50, 51, 3) for dy in range(-50, 51, 3)]
    assert min(values) < 40 and max(values) > 180
    assert after != before
    # a restore now reuses the estimate shown (no second estimate), as an estimate
    options = window.restore_options()
    assert options.estimate is field and options.kernel is None
    window.kernel.panel.size.setValue(KSIZE + 2)  # another size: estimated again
    assert window.restore_options().estimate is None


def test_dragged_region_reaches_the_engine(qtbot, window, blurry_file: Path,  # noqa: F811
                                           monkeypatch) -> None:
    open_photo(qtbot, window, blurry_file)
    _fixed_size(window)
    window.act_blur_region.trigger()
    assert window.kernel.region_tool.active and window.kernel.panel.region.isChecked()
    canvas = window.view.primary_canvas()

    def at(x: float, y: float) -> QPoint:
        return canvas.image_to_widget(QPointF(x, y)).toPoint()

    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=at(20, 30))
    qtbot.mouseMove(canvas, at(120, 110))
    qtbot.mouseMove(canvas, at(200, 190))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=at(200, 190))
    assert not window.kernel.region_tool.active and not window.act_blur_region.isChecked()
    region = window.restore_options().kernel_region
    assert region is not None
    assert np.allclose(region, (30, 20, 190, 200), atol=3), region

    seen = spy_estimates(monkeypatch, window.engine)
    with qtbot.waitSignal(window.restorer.estimated, timeout=120000):
        window.kernel.estimate()
    assert seen[-1]["region"] == region and seen[-1]["kernel_size"] == KSIZE
    qtbot.waitUntil(lambda: not window.restorer.busy, timeout=10000)
    window.kernel.clear_region()
    assert window.restore_options().kernel_region is None


def test_load_and_save_kernel_round_trip(qtbot, window, photo_file: Path,  # noqa: F811
                                         tmp_path: Path) -> None:
    open_photo(qtbot, window, photo_file)
    k = np.zeros((7, 7), np.float32)
    k[3, 1:6] = 1.0
    k[2, 5] = 0.5
    k /= k.sum()
    src = save_kernel(tmp_path / "given.npy", k)[0]
    assert window.kernel.load_path(src)
    opts = window.restore_options()
    np.testing.assert_allclose(opts.kernel, k, atol=1e-6)
    assert "Loaded given.npy" in window.kernel.panel.status.text()
    for name in ("out.npy", "out.png"):
        written = window.kernel.save_path(tmp_path / name)
        assert written == [tmp_path / name]
    from glow_core.kernel import load_kernel

    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), k, atol=1e-6)
    np.testing.assert_allclose(load_kernel(tmp_path / "out.png"), k, atol=2e-4)
    # the restore uses it, without estimating
    with qtbot.waitSignal(window.restoreFinished, timeout=60000) as got:
        window.restore_whole()
    assert got.args[0].info["kernel"]["source"] == "user"
    assert window.kernel.field is not None and window.kernel.source == "user"


@pytest.mark.parametrize("content", ["text", "negative", "zero", "big"])
def test_bad_kernel_file_shows_a_banner(qtbot, window, photo_file: Path,  # noqa: F811
                                        tmp_path: Path, content: str) -> None:
    open_photo(qtbot, window, photo_file)  # 64 x 96
    path = tmp_path / ("bad.png" if content == "text" else "bad.npy")
    if content == "text":
        path.write_text("hello")
    else:
        arr = {"negative": -np.ones((5, 5)), "zero": np.zeros((5, 5)),
               "big": np.ones((81, 81))}[content]
        np.save(path, arr)
    assert not window.kernel.load_path(path)
    assert window.banner.isVisible() and window.banner.level == "error"
    assert str(path) in window.banner.text()
    assert window.kernel.field is None and window.restore_options().kernel is None


def test_painted_mask_is_where_the_blur_is_estimated(qtbot, window,  # noqa: F811
                                                     blurry_file: Path) -> None:
    open_photo(qtbot, window, blurry_file)
    assert window.kernel.estimate_region() is None
    tool = window.mask_tool
    tool.tool = "rect"
    tool.press(QPointF(40, 50))
    tool.release(QPointF(200, 180))
    assert tool.has_mask()
    region = window.restore_options().kernel_region
    assert region == tool.region() and np.allclose(region, (50, 40, 180, 200), atol=2)
    # a dragged blur region wins over the mask
    window.kernel.region_tool.set_region(QRect(10, 20, 90, 80))
    assert window.restore_options().kernel_region == (20, 10, 100, 100)


def test_the_panel_line_says_when_the_polish_recovered_faint_strokes() -> None:
    """The kernel panel's one-line summary of ``info["kernel"]`` mentions a kept polish
    (and only a kept one)."""
    from app.kernel_tools import describe

    base = {"source": "estimated", "size": 27, "confidence": 0.8, "seconds": 4.2}
    assert "faint strokes" in describe(dict(base, polish={"kept": True}))
    assert "faint strokes" not in describe(dict(base, polish={"kept": False}))
    assert describe(base) == "Estimated: 27 px, confidence 0.80 (4.2 s)"
    lit = describe(dict(base, light_streaks={"count": 3, "agreement": 0.82}))
    assert "read off 3 light streaks" in lit and "faint strokes" not in lit


def test_the_panel_line_says_whether_the_estimates_agreed() -> None:
    """The estimator's starts (``info["kernel"]["starts"]``): a kept kernel that another
    start confirmed says so; one no other start found says the estimates disagree."""
    from app.kernel_tools import describe

    base = {"source": "estimated", "size": 27, "confidence": 0.8, "seconds": 4.2}
    two = [{"agreement": 0.93, "residual": 1.1}, {"agreement": 0.93, "residual": 1.0}]
    assert describe(dict(base, starts=two, start=1)) == (
        "Estimated: 27 px, confidence 0.80, confirmed by a second estimate (4.2 s)")
    # three starts, no two alike: the first one's kernel stands, unconfirmed
    alone = [{"agreement": 0.46, "residual": 1.3}, {"agreement": 0.46, "residual": None},
             {"agreement": 0.41, "residual": None}]
    assert describe(dict(base, starts=alone, start=0)) == (
        "Estimated: 27 px, confidence 0.80, estimates disagree (4.2 s)")
    assert describe(dict(base, starts=two[:1], start=0)) == describe(base)
    # the engine's agreement counts only starts that explain the photo too: two alike whose
    # second fails to explain it do not confirm the first
    assert describe(dict(base, starts=two, start=1, agreement=0.0)).endswith(
        "estimates disagree (4.2 s)")


def test_varying_blur_reaches_the_estimate_and_the_restore(qtbot, window,  # noqa: F811
                                                           blurry_file: Path,
                                                           monkeypatch) -> None:
    """"Blur varies across the photo" asks the engine for a kernel per region, in the
    estimate and the restore; an estimate made without it is not reused with it."""
    open_photo(qtbot, window, blurry_file)
    _fixed_size(window)
    panel = window.kernel.panel
    assert not panel.varying.isChecked() and not window.restore_options().spatially_varying
    seen = spy_estimates(monkeypatch, window.engine)
    with qtbot.waitSignal(window.restorer.estimated, timeout=120000):
        window.kernel.estimate()
    qtbot.waitUntil(lambda: not window.restorer.busy, timeout=10000)
    assert seen[-1]["spatially_varying"] is False
    assert window.restore_options().estimate is not None  # reused as made
    panel.varying.setChecked(True)
    options = window.restore_options()
    assert options.spatially_varying and options.estimate is None  # estimated again
    with qtbot.waitSignal(window.restorer.estimated, timeout=120000):
        window.kernel.estimate()
    qtbot.waitUntil(lambda: not window.restorer.busy, timeout=10000)
    assert seen[-1]["spatially_varying"] is True
    assert window.restore_options().estimate is not None


def test_the_panel_line_says_how_many_regions_differ() -> None:
    from app.kernel_tools import describe

    base = {"source": "estimated", "size": 25, "confidence": 0.8, "seconds": 9.0}
    assert describe(dict(base, grid=[3, 4], uniform=False, regions_differing=5)) == (
        "Estimated: 25 px, confidence 0.80, 5 of 12 regions blurred differently (9.0 s)")
    assert describe(dict(base, grid=[3, 4], uniform=True, regions_differing=0)).endswith(
        ", one kernel fits all 12 regions (9.0 s)")
    assert describe(dict(base, grid=[1, 1], uniform=True)) == (
        "Estimated: 25 px, confidence 0.80 (9.0 s)")


def test_the_panel_line_says_how_much_deconvolution_a_restore_kept() -> None:
    """After a restore, the acceptance test's share and the parts of the photo it held
    back (``info["kernel"]["acceptance"]``) are on the panel's line; a full share says
    nothing."""
    from app.kernel_tools import describe

    base = {"source": "estimated", "size": 25, "confidence": 0.8, "seconds": 9.0}
    full = dict(base, acceptance={"strength": 1.0, "score": 1.0, "reasons": []})
    assert describe(full) == describe(base) == "Estimated: 25 px, confidence 0.80 (9.0 s)"
    part = dict(base, acceptance={"strength": 0.74, "held_back": [3, 40]})
    assert describe(part) == ("Estimated: 25 px, confidence 0.80, deconvolution at 74 %, "
                              "held back in 3 of 40 parts whose blur differs (9.0 s)")


def _restored_field(shares: list[list[float]] | None, size: tuple[int, int] = (240, 240)):
    """One kernel as a restore returns it, its acceptance holding the cell shares."""
    from glow_core.kernel import KernelField
    from glow_core.kernel.accept import Acceptance

    field = KernelField.single(motion_kernel(KSIZE, seed=4), size, confidence=0.8)
    features = {} if shares is None else {"cell_strengths": shares}
    field.acceptance = Acceptance(0.9, 0.9, features=features)
    return field


def test_the_blur_trace_hatches_the_parts_held_back(qtbot, window,  # noqa: F811
                                                     blurry_file: Path) -> None:
    """After a restore, the motion overlay hatches (and darkens) each part of the photo
    where the acceptance test held the deconvolution back, the more the less it kept, and
    its legend counts them; parts kept in full, and a field without shares, are clear."""
    from app.views.blur_trace import held_back, legend_text

    field = _restored_field([[1.0, 0.0], [1.0, 0.5]])
    assert held_back(field) == [((0.0, 120.0, 120.0, 240.0), 0.0),
                                ((120.0, 120.0, 240.0, 240.0), 0.5)]
    assert legend_text(field).endswith("held back in 2 of 4 parts (hatched)")
    assert "held back" not in legend_text(_restored_field(None))
    assert held_back(_restored_field(None)) == []

    open_photo(qtbot, window, blurry_file)
    window.act_motion.setChecked(True)
    canvas = window.view.primary_canvas()

    def darkness(f) -> list[float]:
        window.view.set_kernel_field(f)
        image = canvas.grab().toImage()
        dpr = image.devicePixelRatio()
        out = []
        for x, y in ((60, 15), (180, 15), (180, 135)):  # top-left, top-right, bottom-right
            p = canvas.image_to_widget(QPointF(x, y))
            out.append(image.pixelColor(int(p.x() * dpr), int(p.y() * dpr)).value())
        return out

    clear = darkness(_restored_field(None))
    hatched = darkness(_restored_field([[1.0, 0.0], [1.0, 0.5]]))
    assert hatched[0] == clear[0]  # kept in full: untouched
    assert hatched[1] < clear[1] - 20 and hatched[2] < clear[2]
    assert clear[1] - hatched[1] > clear[2] - hatched[2]  # share 0 darker than 0.5


def test_the_open_photos_colour_sampling_reaches_the_options(qtbot, window,  # noqa: F811
                                                             tmp_path: Path) -> None:
    """The window hands the engine pixels (a region, a crop), so what the file kept of the
    colour travels in the options: a 4:2:0 JPEG says so, a PNG does not."""
    rgb = (np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)
    jpeg, png = tmp_path / "shot.jpg", tmp_path / "shot.png"
    Image.fromarray(rgb).save(jpeg, quality=90, subsampling=2)
    Image.fromarray(rgb).save(png)
    open_photo(qtbot, window, jpeg)
    assert window.restore_options().chroma_subsampled is True
    open_photo(qtbot, window, png)
    assert window.restore_options().chroma_subsampled is False
