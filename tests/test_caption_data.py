"""Caption files parse, cover the data, and the bank hands captions out as documented."""

from __future__ import annotations

import json
import random
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from training.caption_data import (
    CAPTIONS_DIR,
    FOLDERS_FILE,
    PROCEDURAL_FILE,
    CaptionBank,
    default_data_root,
    truncate_at_clause,
)

DATA_ROOT = default_data_root()
KODAK = [f"sharp/kodak24/kodim{i:02d}.png" for i in range(1, 25)]


@pytest.fixture(scope="module")
def bank() -> CaptionBank:
    return CaptionBank.load()


def _source(rel: str) -> str:
    """Source folder of a data path: ``sharp/<name>`` or ``pairs/<name>``."""
    return "/".join(PurePosixPath(rel).parts[:2])


def test_every_line_parses_with_expected_fields():
    files = sorted(CAPTIONS_DIR.glob("*.jsonl"))
    assert {FOLDERS_FILE, PROCEDURAL_FILE} <= {f.name for f in files}
    for file in files:
        for lineno, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            obj = json.loads(line)
            where = f"{file.name}:{lineno}"
            assert isinstance(obj.get("caption"), str) and obj["caption"].strip(), where
            if file.name in (FOLDERS_FILE, PROCEDURAL_FILE):
                continue
            assert set(obj) == {"path", "caption", "short"}, where
            n_long, n_short = len(obj["caption"].split()), len(obj["short"].split())
            assert 15 <= n_long <= 40, f"{where}: {n_long} words"
            assert 5 <= n_short <= 10, f"{where}: short has {n_short} words"
            assert "blur" not in obj["caption"].lower(), where
            # One file per source folder, named after it.
            assert PurePosixPath(obj["path"]).parts[1] == file.stem, where


def test_every_kodak_photo_has_its_own_caption(bank):
    for rel in KODAK:
        assert bank.has_own_caption(rel), rel


def test_training_captions_are_many_and_spread(bank):
    train = [k for k in bank.photos if _source(k) != "sharp/kodak24"]
    assert len(train) >= 320
    sources = {_source(k) for k in train}
    assert len(sources) >= 14
    assert sum(_source(k) == "sharp/bsds500" for k in train) >= 150
    cov = bank.coverage()
    assert cov.total == len(bank.photos) and sum(cov.per_folder.values()) == cov.total


def test_every_source_folder_has_a_folder_caption(bank):
    for src in {_source(k) for k in bank.photos}:
        assert src in bank.folders, src


@pytest.mark.skipif(not DATA_ROOT.is_dir(), reason="shared data not present")
def test_caption_paths_exist_and_folders_are_complete(bank):
    assert bank.missing_files() == []
    for folder in ("sharp/kodak24", "sharp/celebahq_faces", "sharp/receipts_300dpi"):
        on_disk = {f"{folder}/{p.name}" for p in (DATA_ROOT / folder).iterdir()}
        assert on_disk <= set(bank.photos), sorted(on_disk - set(bank.photos))[:3]
    # An absolute path resolves to the same caption as the relative one.
    rng_a, rng_b = random.Random(3), random.Random(3)
    assert bank.caption_for(DATA_ROOT / KODAK[0], rng_a) == bank.caption_for(KODAK[0], rng_b)


def _write(tmp: Path, name: str, rows: list[dict]) -> None:
    (tmp / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def small_bank(tmp_path) -> CaptionBank:
    _write(tmp_path, "demo.jsonl", [
        {"path": "sharp/demo/a.png", "caption": "a red door, a stone wall, soft light",
         "short": "a red door in a wall"},
        {"path": "pairs/clip/sharp/f1.png", "caption": "a street, people walking",
         "short": "a street with people walking"},
    ])
    _write(tmp_path, FOLDERS_FILE, [
        {"folder": "sharp/demo", "caption": "demo folder caption", "short": "demo"},
    ])
    _write(tmp_path, PROCEDURAL_FILE, [{"caption": "discs"}, {"caption": "stripes"}])
    return CaptionBank.load(tmp_path, data_root=tmp_path / "data")


def test_folder_fallback_and_pair_partner(small_bank):
    rng = random.Random(0)
    assert small_bank.caption_for("sharp/demo/sub/zzz.png", rng) == "demo folder caption"
    assert small_bank.caption_for("sharp/other/zzz.png", rng) == ""
    assert small_bank.entry_for("pairs/clip/blur/f1.png").caption == "a street, people walking"
    # A copy of the data under another root still finds the caption by its tail.
    assert small_bank.relpath("/elsewhere/data/sharp/demo/a.png") == "sharp/demo/a.png"


def test_augmentation_variants(small_bank):
    rng = random.Random(1)
    seen = {small_bank.caption_for("sharp/demo/a.png", rng) for _ in range(400)}
    assert seen == {
        "a red door, a stone wall, soft light",
        "a red door in a wall",
        "a red door",
        "a red door, a stone wall",
    }
    assert truncate_at_clause("no commas here", rng) == ""


def test_dropout_rate_within_tolerance(small_bank):
    rng = random.Random(7)
    n, p = 20000, 0.15
    dropped = sum(small_bank.with_dropout("x", rng, p) == "" for _ in range(n))
    assert abs(dropped / n - p) < 0.01
    assert small_bank.with_dropout("x", rng, 0.0) == "x"
    assert small_bank.with_dropout("x", rng, 1.0) == ""
    with pytest.raises(ValueError):
        small_bank.with_dropout("x", rng, 1.5)


def test_deterministic_with_seeded_rng(bank):
    paths = sorted(bank.photos)[:50]

    def draw(rng):
        return [bank.caption_for(p, rng) for p in paths] + [bank.procedural(rng) for _ in range(5)]

    assert draw(random.Random(42)) == draw(random.Random(42))
    assert draw(np.random.default_rng(42)) == draw(np.random.default_rng(42))
    assert draw(random.Random(42)) != draw(random.Random(43))


def test_procedural_captions(small_bank, bank):
    rng = random.Random(5)
    assert {small_bank.procedural(rng) for _ in range(100)} == {"discs", "stripes"}
    assert len(bank.procedural_captions) >= 15


def test_bad_line_is_reported(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"path": "sharp/x/a.png"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        CaptionBank.load(tmp_path)


def test_absolute_path_outside_the_data_root_terminates() -> None:
    import random

    bank = CaptionBank.load()
    assert bank.caption_for("/tmp/elsewhere/pairs/0.png", random.Random(0)) == ""
