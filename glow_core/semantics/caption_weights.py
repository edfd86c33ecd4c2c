"""Caption -> soft case weights with the frozen caption encoder.

The caption and every case description are embedded (mean-pooled, L2-normalised token
states of the encoder: for MiniLM that is exactly its sentence embedding); a case's score
is the cosine similarity of its best description; the weights are a softmax of the scores
over a temperature. Pure function of the text and the frozen weights: deterministic.
"""

from __future__ import annotations

import functools
import threading

import numpy as np
import torch

from .cases import CASES, DESCRIPTIONS

#: Softmax temperature over cosine similarities: MiniLM similarities of related sentences
#: differ by ~0.1-0.3, so 0.05 makes a clear match dominant but keeps mixed captions mixed.
TEMPERATURE = 0.05
DEFAULT_ENCODER = "minilm-l6"
_LOCK = threading.Lock()


def embed(encoder: object, texts: list[str]) -> np.ndarray:
    """N x dim unit vectors: masked mean of the encoder's token states."""
    tokens, mask = encoder.encode(list(texts), 64)  # type: ignore[attr-defined]
    m = mask.unsqueeze(-1).float()
    pooled = (tokens * m).sum(1) / m.sum(1).clamp_min(1.0)
    pooled = torch.nn.functional.normalize(pooled, dim=-1)
    return pooled.detach().cpu().double().numpy()


@functools.lru_cache(maxsize=4)
def _encoder(name: str) -> object:
    from glow_core.text import get_encoder

    return get_encoder(name)


@functools.lru_cache(maxsize=4)
def _case_bank(name: str) -> tuple[np.ndarray, tuple[int, ...]]:
    texts, owner = [], []
    for i, case in enumerate(CASES):
        for d in DESCRIPTIONS[case]:
            texts.append(d)
            owner.append(i)
    return embed(_encoder(name), texts), tuple(owner)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = (np.asarray(scores, dtype=np.float64) - np.max(scores)) / temperature
    e = np.exp(z)
    return e / e.sum()


def case_scores(caption: str, encoder: str = DEFAULT_ENCODER) -> dict[str, float]:
    """Best cosine similarity of ``caption`` to each case's descriptions."""
    with _LOCK:  # the GUI may call from a worker while the engine uses the encoder
        bank, owner = _case_bank(encoder)
        v = embed(_encoder(encoder), [caption])[0]
    sims = bank @ v
    best = np.full(len(CASES), -1.0)
    for s, i in zip(sims, owner):
        best[i] = max(best[i], float(s))
    return {c: float(best[i]) for i, c in enumerate(CASES)}


def caption_weights(caption: str, encoder: str = DEFAULT_ENCODER,
                    temperature: float = TEMPERATURE) -> dict[str, float]:
    """Soft case weights (sum 1) for a non-empty caption."""
    scores = case_scores(caption, encoder)
    w = softmax(np.array([scores[c] for c in CASES]), temperature)
    return {c: round(float(x), 6) for c, x in zip(CASES, w)}
