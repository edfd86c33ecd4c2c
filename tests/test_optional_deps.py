"""The engine core runs without the optional ``[captions]`` extra (open_clip, torchvision)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import make_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]

_BLOCKER = """
import importlib.abc, sys

BLOCKED = ("open_clip", "torchvision")

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None

for name in [m for m in sys.modules if m.split(".")[0] in BLOCKED]:
    del sys.modules[name]
sys.meta_path.insert(0, Block())
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    script = _BLOCKER + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_glow_core_imports_and_restores_without_open_clip(tmp_path: Path) -> None:
    checkpoint = make_tiny_checkpoint(tmp_path / "tiny.safetensors")
    done = _run(f"""
        import numpy as np
        import glow_core, glow_core.engine, glow_core.cli, glow_core.batch, glow_core.text
        from glow_core.engine import Engine, RestoreOptions

        engine = Engine({str(checkpoint)!r}, device="cpu")
        img = np.random.default_rng(0).random((40, 48, 3), dtype=np.float32)
        fast = engine.restore(img, RestoreOptions(mode="fast"))
        full = engine.restore(img, RestoreOptions(mode="full", steps=1, caption="a dog"))
        assert fast.image.shape == full.image.shape == img.shape
        assert np.isfinite(full.image).all()
        for name in ("open_clip", "torchvision"):
            assert name not in sys.modules, name
        from glow_core.text.captions.torchvision_compat import import_open_clip
        try:
            import_open_clip()
        except ImportError:
            print("captions unavailable")
        print("ok")
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ok" in done.stdout and "captions unavailable" in done.stdout
