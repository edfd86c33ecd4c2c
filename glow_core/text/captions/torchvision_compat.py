"""Make ``import torchvision`` (and therefore ``import open_clip``) work beside a mismatched torch.

Why this exists
---------------
open_clip imports torchvision at import time (for its image transforms). On CPU-only Linux
machines pip can resolve torchvision to a wheel whose compiled extension (``torchvision/_C.so``)
was built for a different torch (here: torchvision 0.28.0, a CUDA build, beside torch 2.13 CPU).
The extension then fails to load -- torchvision tolerates that and only disables its C++ ops --
but ``torchvision/_meta_registrations.py`` unconditionally calls
``torch.library.register_fake("torchvision::nms")`` (and ``torchvision::qnms``), which needs the
operator *schema* to exist. Without the extension it does not, and the whole import dies with::

    RuntimeError: operator torchvision::nms does not exist

We never run torchvision's detection ops (NMS is for object detectors), so all that is missing
is the two schema *definitions*. :func:`ensure_torchvision_importable` defines exactly those
two, with the schemas torchvision itself declares (``torchvision/csrc/ops/nms.cpp`` and the
quantized ops)::

    torchvision::nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor
    torchvision::qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor

No kernels are registered: calling ``torchvision.ops.nms`` still raises torchvision's own
"Couldn't load custom C++ ops" error, which is the honest answer on such an install.

Why "try the import first, patch only on that exact failure"
------------------------------------------------------------
On healthy installs (CUDA wheels that match torch, macOS, Windows) the schemas only appear
*while* ``import torchvision`` loads ``_C``. Defining them beforehand would make that
registration fail ("registered multiple times") and break a working install. So we import
torchvision untouched first; only if it fails with "operator torchvision::nms/qnms does not
exist" do we define whichever of the two schemas is still missing (checked one by one) and
import again. Healthy installs therefore never see a single change.

The :class:`torch.library.Library` object is kept in a module global: the definitions live
exactly as long as it does.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType

import torch

# The schemas torchvision declares in C++ (see module docstring), without the namespace.
TORCHVISION_SCHEMAS: dict[str, str] = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}

_LOCK = threading.Lock()
_LIBRARY: torch.library.Library | None = None  # keeps our definitions alive
_PATCHED: list[str] = []


def operator_exists(qualified_name: str) -> bool:
    """True if the dispatcher knows a schema for ``namespace::op`` (default overload)."""
    try:
        torch._C._dispatch_find_schema_or_throw(qualified_name, "")
    except RuntimeError:
        return False
    return True


def patched_operators() -> list[str]:
    """The schemas this module had to define in this process (empty on healthy installs)."""
    return list(_PATCHED)


def _define_missing_schemas() -> list[str]:
    global _LIBRARY
    defined = []
    for op, schema in TORCHVISION_SCHEMAS.items():
        if operator_exists(f"torchvision::{op}"):
            continue
        if _LIBRARY is None:
            _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
        _LIBRARY.define(schema)
        defined.append(f"torchvision::{op}")
    _PATCHED.extend(defined)
    return defined


def _forget_partial_import() -> None:
    """Drop half-imported torchvision modules so the retry runs a clean import."""
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]


def _is_missing_schema_error(error: BaseException) -> bool:
    text = str(error)
    return "does not exist" in text and any(
        f"torchvision::{op}" in text for op in TORCHVISION_SCHEMAS
    )


def ensure_torchvision_importable() -> ModuleType:
    """Import torchvision, defining the nms/qnms schemas first only if that import needs them.

    Call this before importing open_clip (or anything else that imports torchvision).
    Returns the torchvision module. Errors that are not the known missing-schema failure are
    raised unchanged.
    """
    with _LOCK:
        module = sys.modules.get("torchvision")
        if module is not None and hasattr(module, "__version__"):
            return module
        try:
            return importlib.import_module("torchvision")
        except RuntimeError as error:
            if not _is_missing_schema_error(error):
                raise
            _forget_partial_import()
            if not _define_missing_schemas():
                raise  # nothing was missing after all: not the failure we know how to fix
            return importlib.import_module("torchvision")


def import_open_clip() -> ModuleType:
    """Import open_clip after :func:`ensure_torchvision_importable`."""
    ensure_torchvision_importable()
    return importlib.import_module("open_clip")
