"""Small photographer's files made by the tests: a CFA DNG (tifffile) and a HEIC."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAKE, MODEL, LENS = "GlowCam", "Model X", "Glow 50mm F1.8"
DATE = "2024:05:06 07:08:09"


def _rationals(values: list[float]) -> list[int]:
    out: list[int] = []
    for v in values:
        out += [int(round(v * 10000)), 10000]
    return out


def write_dng(path: Path, height: int = 64, width: int = 80, orientation: int = 1) -> Path:
    """A tiny Bayer (RGGB) DNG with black/white levels, as-shot neutral, colour matrix,
    camera, lens, exposure and date tags (EXIF tags in IFD0, as DNG allows)."""
    import tifffile

    yy, xx = np.mgrid[0:height, 0:width]
    scene = 0.15 + 0.6 * (xx / width) * (0.5 + 0.5 * np.cos(yy / 5.0))
    cfa = np.empty((height, width))
    cfa[0::2, 0::2] = scene[0::2, 0::2] * 0.5  # R (as-shot neutral 0.5)
    cfa[0::2, 1::2] = scene[0::2, 1::2]  # G
    cfa[1::2, 0::2] = scene[1::2, 0::2]  # G
    cfa[1::2, 1::2] = scene[1::2, 1::2] * 0.7  # B (as-shot neutral 0.7)
    black, white = 256, 4095
    data = (black + cfa * (white - black)).astype(np.uint16)
    matrix = [0.6722, -0.0635, -0.0963, -0.4287, 1.2460, 0.2028, -0.0908, 0.2162, 0.5668]
    tags = [
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern RGGB
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, f"{MAKE} {MODEL}", True),  # UniqueCameraModel
        (50714, "H", 1, black, True),  # BlackLevel
        (50717, "H", 1, white, True),  # WhiteLevel
        (50721, "2i", 9, _rationals(matrix), True),  # ColorMatrix1
        (50728, "2I", 3, _rationals([0.5, 1.0, 0.7]), True),  # AsShotNeutral
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1 = D65
        (271, "s", 0, MAKE, True),
        (272, "s", 0, MODEL, True),
        (274, "H", 1, orientation, True),
        (306, "s", 0, DATE, True),
        (33434, "2I", 1, (1, 250), True),  # ExposureTime
        (33437, "2I", 1, (28, 10), True),  # FNumber
        (34855, "H", 1, 400, True),  # ISO
        (36867, "s", 0, DATE, True),  # DateTimeOriginal
        (37386, "2I", 1, (50, 1), True),  # FocalLength
        (42036, "s", 0, LENS, True),  # LensModel
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, data, photometric=32803, extratags=tags, subfiletype=0)
    return path


def check_capture_exif(exif) -> None:
    """``exif``: a PIL ``Image.Exif`` of an output written from :func:`write_dng`'s DNG."""
    assert exif.get(0x010F) == MAKE and exif.get(0x0110) == MODEL
    assert exif.get(0x0112) in (None, 1)
    sub = exif.get_ifd(0x8769)
    assert sub.get(0xA434) == LENS
    assert sub.get(0x9003) == DATE
    assert float(sub.get(0x829A)) == 1 / 250 and float(sub.get(0x829D)) == 2.8
    assert sub.get(0x8827) == 400
