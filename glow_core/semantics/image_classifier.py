"""Empty caption: decide the case from the (blurry) image alone, cheaply.

Features, each robust to blur (they are computed on the blurry photo):

* **text**: documents are mostly flat paper with dark marks: a large share of pixels sits
  at the bright mode, the rest is much darker, colour is weak (two tones, Pan et al.'s
  observation), and the marks are thin strokes (:func:`solid_share`): an object in front of
  a white sky or wall is bright, colourless and two-toned too, but its dark part is broad
  (Kodak 20's aeroplane over grass read 80 % text without it);
* **night**: low mean luminance with a few clipped highlights (lamps, neon);
* **face**: OpenCV's bundled frontal-face Haar cascade finds a face covering a fair part
  of the frame (portraits; a tiny face in a landscape does not make a portrait). OpenCV 5
  dropped the cascades; then a skin-tone test (YCrCb box of Chai & Ngan 1999) stands in:
  a portrait has skin over most of the frame's centre, more than at its edges.

Each feature becomes a logit; the weights are a softmax, like the caption's. Deterministic.
"""

from __future__ import annotations

import functools

import numpy as np

from .cases import CASES


def _grey(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    a = a.astype(np.float32, copy=False)
    if a.ndim == 3:
        a = a[..., :3]
        if a.shape[2] == 1:
            return a[..., 0]
        return a @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)[: a.shape[2]]
    return a


def _shrink(image: np.ndarray, side: int = 384) -> np.ndarray:
    a = np.asarray(image)
    step = max(1, int(np.ceil(max(a.shape[:2]) / side)))
    return a[::step, ::step]


def _chroma(image: np.ndarray) -> float:
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] < 3:
        return 0.0
    a = a[..., :3].astype(np.float32)
    if np.asarray(image).dtype == np.uint8:
        a = a / 255.0
    return float(np.mean(a.max(-1) - a.min(-1)))


@functools.lru_cache(maxsize=1)
def _cascade() -> object | None:
    try:
        import cv2

        if not hasattr(cv2, "CascadeClassifier"):
            return None
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        c = cv2.CascadeClassifier(path)
        return None if c.empty() else c
    except Exception:  # no OpenCV: the face feature is simply absent
        return None


def face_fraction(grey: np.ndarray) -> float:
    """Side of the largest detected frontal face over the image's short side (0: none)."""
    cascade = _cascade()
    if cascade is None:
        return 0.0
    g8 = (np.clip(grey, 0, 1) * 255 + 0.5).astype(np.uint8)
    short = min(g8.shape)
    faces = cascade.detectMultiScale(g8, scaleFactor=1.05, minNeighbors=3,  # type: ignore[attr-defined]
                                     minSize=(max(20, short // 8),) * 2)
    if len(faces) == 0:
        return 0.0
    return float(max(min(w, h) for (_, _, w, h) in faces)) / short


def skin_centre(image: np.ndarray) -> tuple[float, float]:
    """(share of skin-tone pixels in the central 60 % box, share in the whole frame)."""
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] < 3:
        return 0.0, 0.0
    a = a[..., :3].astype(np.float32)
    if np.asarray(image).dtype != np.uint8:
        a = np.clip(a, 0, 1) * 255.0
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cr, cb = (r - y) * 0.713 + 128, (b - y) * 0.564 + 128
    m = (cr >= 135) & (cr <= 172) & (cb >= 80) & (cb <= 125) & (y > 40) & (y < 245)
    h, w = m.shape
    return float(m[h // 5:4 * h // 5, w // 5:4 * w // 5].mean()), float(m.mean())


def solid_share(dark: np.ndarray) -> float:
    """Share of the dark pixels more than 2 px (at the 384 px working size) from any
    lighter one: ink is strokes, so near 0 on pages (measured 0-0.06 on 26 receipt scans),
    while a dark object, ground or shadow is broad (0.24-0.89 on the photo sets, Kodak 20's
    aeroplane and grass 0.83)."""
    import cv2

    n = int(dark.sum())
    if n == 0:
        return 0.0
    core = cv2.erode(dark.astype(np.uint8), np.ones((5, 5), np.uint8),
                     borderType=cv2.BORDER_REPLICATE)
    return float(core.sum()) / n


def image_features(image: np.ndarray) -> dict[str, float]:
    small = _shrink(image)
    g = _grey(small)
    hi = float(np.percentile(g, 90))
    lo = float(np.percentile(g, 5))
    paper = float(np.mean(np.abs(g - hi) < 0.06))  # share at the bright mode
    marks = g < hi - 0.35  # clearly darker marks
    dark = float(np.mean(marks))
    return {
        "mean": float(g.mean()),
        "clipped": float(np.mean(g >= 0.97)),
        "bright_mode": hi,
        "paper": paper,
        "dark": dark,
        "contrast": hi - lo,
        "solid": solid_share(marks),
        "chroma": _chroma(small),
        "face": face_fraction(g),
        "skin_centre": (sk := skin_centre(small))[0],
        "skin_all": sk[1],
    }


def image_logits(f: dict[str, float]) -> dict[str, float]:
    # text: a bright, colourless dominant mode (paper) holding a fair share of the pixels
    # whose dark marks are thin strokes (a broad dark region is an object, not ink)
    text = (8.0 * (f["bright_mode"] - 0.8) + 4.0 * (f["paper"] - 0.35)
            - 40.0 * max(f["chroma"] - 0.06, 0.0) - 10.0 * max(f["solid"] - 0.3, 0.0))
    # night: dark overall, with some clipped lights
    night = 12.0 * (0.35 - f["mean"]) + 3.0 * min(f["clipped"] / 0.003, 1.0) - 1.5
    # face: a detected face covering a fair part of the frame, else centred skin
    if f["face"] > 0:
        face = 8.0 * min(f["face"] - 0.15, 0.25)
    elif _cascade() is None:
        face = (min(12.0 * (f["skin_centre"] - 0.7), 3.0)
                + 6.0 * (f["skin_centre"] - f["skin_all"] - 0.15))
    else:
        face = -4.0
    return {"text": text, "night": night, "face": face, "general": 0.0}


#: Softmax temperature of the image logits (units of the logits above).
IMAGE_TEMPERATURE = 0.5


def image_weights(image: np.ndarray) -> dict[str, float]:
    """Soft case weights (sum 1) from the pixels alone."""
    logits = image_logits(image_features(image))
    z = np.array([logits[c] for c in CASES], dtype=np.float64) / IMAGE_TEMPERATURE
    e = np.exp(z - z.max())
    w = e / e.sum()
    return {c: round(float(x), 6) for c, x in zip(CASES, w)}
