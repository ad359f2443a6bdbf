"""Every registered architecture gets these checks for free: shapes, gradients, Hub round trip.

Models are built with small ``TINY`` configurations (defaults where none is listed) and run on
tiny inputs, so the whole file takes seconds on one CPU thread.
"""

from __future__ import annotations

import inspect
import json

import pytest
import torch

import hubsr
from hubsr import HubSR, HubSRError, get_architecture, list_architectures

# "spandrel" wraps a network read from a community checkpoint, whose scale and channels come
# from that checkpoint: tests/test_community_checkpoints.py checks it, architecture by architecture.
ARCHITECTURES = [name for name in list_architectures() if name != "spandrel"]
SCALES = (2, 3, 4)

# Small configurations (JSON values, as they come back from config.json); defaults otherwise.
TINY: dict[str, dict] = {
    "abpn": {"channels": 8, "num_convs": 2},
    "edsr": {"feature_channels": 8, "num_blocks": 2},
    "espcn": {"channels": [8, 4]},
    "rcan": {"feature_channels": 8, "num_groups": 2, "num_blocks": 2, "reduction": 4},
    "span": {"feature_channels": 8, "num_blocks": 2},
    "srcnn": {"channels": [8, 4]},
    "swinir": {"embed_dim": 12, "depths": [2, 2], "num_heads": [2, 3], "window_size": 4},
    "vdsr": {"feature_channels": 8, "num_layers": 4},
}


def build(name: str, **kwargs) -> HubSR:
    torch.manual_seed(0)
    return get_architecture(name)(**{**TINY.get(name, {}), **kwargs})


def lr_batch(n: int = 2, channels: int = 3, h: int = 7, w: int = 10) -> torch.Tensor:
    # Odd, non-square and not a multiple of any window, to exercise padding and cropping.
    return torch.rand(n, channels, h, w, generator=torch.Generator().manual_seed(1))


def test_registry_lists_the_exported_models():
    assert set(ARCHITECTURES) >= {
        "abpn",
        "bicubic",
        "edsr",
        "espcn",
        "rcan",
        "span",
        "srcnn",
        "swinir",
    }
    assert "vdsr" in ARCHITECTURES
    for cls_name in hubsr.models.__all__:
        cls = getattr(hubsr.models, cls_name)
        assert get_architecture(cls.architecture) is cls


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_init_signature_is_a_json_config(name):
    cls = get_architecture(name)
    assert cls.architecture == name and issubclass(cls, HubSR)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert {"scale", "in_channels"} <= {p.name for p in params}
    for p in params:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{p.name} must be keyword-only"
        assert p.name != "config"
        assert p.default is not inspect.Parameter.empty, f"{p.name} needs a default"
        json.dumps(p.default)  # JSON values only


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_declared_attributes(name):
    model = build(name, scale=2)
    assert model.scale == 2 and model.in_channels == 3
    assert isinstance(model.size_multiple, int) and model.size_multiple >= 1
    assert isinstance(model.bf16_safe, bool)
    with pytest.raises(ValueError, match="scale"):
        build(name, scale=0)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_forward_shape(name, scale):
    model = build(name, scale=scale).eval()
    x = lr_batch()
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 3, 7 * scale, 10 * scale)
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()
    # Batch items do not mix (window attention, padding, normalisation).
    with torch.no_grad():
        single = model(x[1:])
    torch.testing.assert_close(single, y[1:], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_single_channel(name):
    model = build(name, scale=2, in_channels=1).eval()
    with torch.no_grad():
        y = model(lr_batch(1, channels=1, h=5, w=6))
    assert y.shape == (1, 1, 10, 12)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_backward_gives_finite_grads(name):
    model = build(name, scale=3).train()
    params = dict(model.named_parameters())
    if not params:
        pytest.skip(f"{name} has no parameters")
    x = lr_batch()
    target = torch.rand(2, 3, 21, 30, generator=torch.Generator().manual_seed(2))
    loss = (model(x) - target).abs().mean()
    assert torch.isfinite(loss)
    loss.backward()
    for key, p in params.items():
        assert p.grad is not None, f"{key} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{key} has a non-finite gradient"
    assert any(p.grad.abs().sum() > 0 for p in params.values())


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_save_load_round_trip(name, tmp_path):
    model = build(name, scale=2).eval()
    x = lr_batch(1)
    with torch.no_grad():
        expected = model(x)
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["architecture"] == name
    assert (tmp_path / "model.safetensors").is_file()

    loaded = HubSR.from_pretrained(tmp_path)
    assert type(loaded) is type(model)
    assert not loaded.training and not any(m.training for m in loaded.modules())
    assert loaded.config == json.loads(json.dumps(model.config))
    assert loaded.scale == 2
    with torch.no_grad():
        assert torch.equal(loaded(x), expected)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_subclass_from_pretrained(name, tmp_path):
    cls = get_architecture(name)
    build(name, scale=4).save_pretrained(tmp_path)
    loaded = cls.from_pretrained(tmp_path)
    assert type(loaded) is cls and loaded.scale == 4
    other = get_architecture(ARCHITECTURES[(ARCHITECTURES.index(name) + 1) % len(ARCHITECTURES)])
    with pytest.raises(HubSRError, match=f"not a {other.__name__}"):
        other.from_pretrained(tmp_path)


# -- parity with reference formulations ---------------------------------------------------------
def test_bicubic_is_matlab_imresize():
    x = torch.rand(1, 3, 9, 7, dtype=torch.float64)
    for scale in SCALES:
        model = get_architecture("bicubic")(scale=scale).double()
        assert torch.equal(model(x), hubsr.imresize(x, float(scale)))


@pytest.mark.parametrize("scale", SCALES)
def test_abpn_anchor_is_nearest_neighbour_upsampling(scale):
    # With the output convolution zeroed only the anchor is left: it must land on the right
    # sub-pixels, i.e. equal nearest-neighbour upsampling, for every scale and channel count.
    for channels in (1, 3):
        model = build("abpn", scale=scale, in_channels=channels)
        last = model.body[-1]
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.zeros_(last.bias)
        x = lr_batch(channels=channels)
        nearest = torch.nn.functional.interpolate(x, scale_factor=scale, mode="nearest")
        assert torch.equal(model(x), nearest)


@pytest.mark.parametrize("scale", SCALES)
def test_abpn_linear_skip_starts_at_zero_and_reaches_each_sub_pixel(scale):
    plain, skip = build("abpn", scale=scale), build("abpn", scale=scale, linear_skip=5)
    fresh = {k: v for k, v in skip.state_dict().items() if k.startswith("linear_skip.")}
    assert fresh and all(not v.any() for v in fresh.values())
    skip.load_state_dict({**plain.state_dict(), **fresh})  # a warm start from the plain net
    x = lr_batch()
    assert torch.equal(skip(x), plain(x))  # zero-initialised: the same output
    # A skip of -1 at the kernel's centre (and -0.5 bias: the input is centred) cancels the
    # anchor on every sub-pixel, so with the body's output zeroed the whole output is zero.
    torch.nn.init.zeros_(skip.body[-1].weight)
    torch.nn.init.zeros_(skip.body[-1].bias)
    with torch.no_grad():
        for c in range(3):
            skip.linear_skip.weight[c * scale**2 : (c + 1) * scale**2, c, 2, 2] = -1.0
        skip.linear_skip.bias.fill_(-0.5)
    assert skip(x).abs().max() < 1e-6
    skip(x).sum().backward()  # and it learns from zero like any layer
    assert skip.linear_skip.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("bad", [-1, 2, 4])
def test_abpn_linear_skip_is_an_odd_kernel(bad):
    with pytest.raises(ValueError, match="linear_skip is 0 or an odd kernel size"):
        build("abpn", linear_skip=bad)


def test_abpn_linear_skip_round_trips_through_config(tmp_path):
    model = build("abpn", scale=3, linear_skip=5).eval()
    torch.nn.init.normal_(model.linear_skip.weight)
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["linear_skip"] == 5
    x = lr_batch(1)
    with torch.no_grad():
        assert torch.equal(HubSR.from_pretrained(tmp_path)(x), model(x))


def test_swinir_attention_matches_reference():
    """Fused attention equals the authors' explicit softmax and mask, forward and backward."""
    from hubsr.models.swinir import WindowAttention, shifted_window_mask, window_partition

    torch.manual_seed(0)
    ws, heads, dim, h, w = 4, 3, 12, 8, 12
    attn = WindowAttention(dim, ws, heads)
    windows = window_partition(torch.randn(2, h, w, dim), ws)

    # The authors' calculate_mask, literally.
    img_mask = torch.zeros(1, h, w, 1)
    cuts = (slice(0, -ws), slice(-ws, -ws // 2), slice(-ws // 2, None))
    for i, (hs, wsl) in enumerate((a, b) for a in cuts for b in cuts):
        img_mask[:, hs, wsl, :] = i
    labels = window_partition(img_mask, ws).view(-1, ws * ws)
    mask = labels.unsqueeze(1) - labels.unsqueeze(2)
    mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
    assert torch.equal(shifted_window_mask(h, w, ws, ws // 2), mask)

    def reference(x, mask):
        b, n, c = x.shape
        q, k, v = attn.qkv(x).reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        logits = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1) + attn.position_bias()
        if mask is not None:
            nw = mask.shape[0]
            logits = logits.view(b // nw, nw, heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            logits = logits.view(-1, heads, n, n)
        return attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))

    for m in (None, mask):
        results = []
        for fn in (attn, reference):
            attn.zero_grad()
            out = fn(windows, m)
            out.square().sum().backward()
            results.append((out.detach(), [p.grad.clone() for p in attn.parameters()]))
        (out, grads), (ref_out, ref_grads) = results
        torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)
        for g, ref_g in zip(grads, ref_grads, strict=True):
            torch.testing.assert_close(g, ref_g, rtol=1e-4, atol=1e-4)
