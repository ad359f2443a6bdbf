"""SwinIR: image restoration with shifted-window (Swin) transformer blocks, lightweight variant.

Paper: J. Liang, J. Cao, G. Sun, K. Zhang, L. Van Gool, R. Timofte, "SwinIR: Image Restoration
Using Swin Transformer", ICCV Workshops (AIM) 2021. https://arxiv.org/abs/2108.10257

A 3x3 convolution extracts shallow features; residual Swin transformer blocks (RSTB: several
Swin layers with window self-attention, alternately on regular and shifted windows, then a 3x3
convolution and a skip) extract deep features; after a long skip, one convolution and a pixel
shuffle ("pixelshuffledirect") reconstruct the image. Defaults are the paper's lightweight model:
embedding dimension 60, four RSTBs of six layers with six heads, 8x8 windows, MLP ratio 2.

Attention uses a learned relative position bias; shifted windows use attention masks computed
for the actual (padded) input size, so any input size works. ``forward`` pads the input to a
multiple of the window by mirroring, as the authors' test script does, and crops the output
back. Module names follow the authors' code; the derived buffers (``relative_position_index``,
``attn_mask``) are computed rather than stored, so official weights load once those keys are
dropped. Attention runs through ``F.scaled_dot_product_attention`` with the position bias and
mask as an additive bias; ``DropPath``, ``Mlp`` and ``trunc_normal_`` come from ``timm.layers``.

@inproceedings{liang2021swinir,
  title={SwinIR: Image Restoration Using Swin Transformer},
  author={Liang, Jingyun and Cao, Jiezhang and Sun, Guolei and Zhang, Kai and Van Gool, Luc and
          Timofte, Radu},
  booktitle={ICCV Workshops}, pages={1833--1844}, year={2021}}
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.layers import DropPath, Mlp, ndgrid, trunc_normal_
from torch import nn

from ..hub import HubSR
from ..layers import MeanShift, PixelShuffleUpsampler, dataset_mean
from ..registry import register

__all__ = ["SwinIR"]

# Bias added to attention logits between pixels that the cyclic shift made neighbours (as SwinIR).
_MASKED = -100.0


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """``B x H x W x C`` -> ``(B * num_windows) x window_size**2 x C``, windows in raster order."""
    b, h, w, c = x.shape
    x = x.view(b, h // window_size, window_size, w // window_size, window_size, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size * window_size, c)


def window_reverse(windows: torch.Tensor, window_size: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``(B * num_windows) x N x C`` -> ``B x H x W x C``."""
    c = windows.shape[-1]
    x = windows.view(-1, h // window_size, w // window_size, window_size, window_size, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, h, w, c)


def relative_position_index(window_size: int) -> torch.Tensor:
    """``N x N`` index into the ``(2 * window_size - 1) ** 2`` relative position bias table."""
    coords = torch.stack(ndgrid(torch.arange(window_size), torch.arange(window_size))).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window_size - 1)
    return relative[:, :, 0] * (2 * window_size - 1) + relative[:, :, 1]


def shifted_window_mask(h: int, w: int, window_size: int, shift: int, device=None) -> torch.Tensor:
    """``num_windows x N x N`` additive mask that keeps shifted windows from mixing regions."""
    regions = torch.zeros(1, h, w, 1, device=device)
    cuts = (slice(0, -window_size), slice(-window_size, -shift), slice(-shift, None))
    label = 0
    for hs in cuts:
        for ws in cuts:
            regions[:, hs, ws, :] = label
            label += 1
    labels = window_partition(regions, window_size).squeeze(-1)  # num_windows x N
    different = labels.unsqueeze(1) != labels.unsqueeze(2)
    return torch.zeros(different.shape, device=device).masked_fill_(different, _MASKED)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside square windows, with a relative position bias."""

    def __init__(self, dim: int, window_size: int, num_heads: int, attn_drop: float = 0.0):
        super().__init__()
        self.window_size = window_size
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads)
        )
        self.register_buffer(
            "relative_position_index", relative_position_index(window_size), persistent=False
        )
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        trunc_normal_(self.relative_position_bias_table, std=0.02)

    def position_bias(self) -> torch.Tensor:
        n = self.window_size**2
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(n, n, self.num_heads).permute(2, 0, 1)  # heads x N x N

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: ``(B * num_windows) x N x C``; ``mask``: ``num_windows x N x N`` or None."""
        bw, n, c = x.shape
        heads = self.num_heads
        q, k, v = self.qkv(x).view(bw, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4).unbind(0)
        bias = self.position_bias().unsqueeze(0)  # 1 x heads x N x N
        if mask is not None:
            # Fold the windows into the head dimension so one bias (windows x heads) broadcasts
            # over the batch without being copied for every image.
            windows = mask.shape[0]
            bias = (bias + mask.unsqueeze(1)).reshape(1, windows * heads, n, n)
            q, k, v = (t.reshape(bw // windows, windows * heads, n, -1) for t in (q, k, v))
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias.to(q.dtype), dropout_p=self.attn_drop if self.training else 0.0
        )
        out = out.reshape(bw, heads, n, -1).transpose(1, 2).reshape(bw, n, c)
        return self.proj(out)


class SwinTransformerBlock(nn.Module):
    """Pre-norm Swin layer: (shifted) window attention and an MLP, each with a residual."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: int,
        shift_size: int,
        mlp_ratio: float,
        drop_path: float,
    ):
        super().__init__()
        self.window_size = window_size
        self.shift_size = shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, hidden_features=int(dim * mlp_ratio), act_layer=nn.GELU)

    def forward(self, x: torch.Tensor, size: tuple[int, int], mask: torch.Tensor | None):
        h, w = size
        b, _, c = x.shape
        s = self.shift_size
        y = self.norm1(x).view(b, h, w, c)
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
        y = self.attn(window_partition(y, self.window_size), mask=mask if s else None)
        y = window_reverse(y, self.window_size, h, w)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        x = x + self.drop_path(y.reshape(b, h * w, c))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class BasicLayer(nn.Module):
    """Swin layers alternating regular and shifted windows."""

    def __init__(self, dim, depth, num_heads, window_size, mlp_ratio, drop_path: list[float]):
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(
                dim,
                num_heads,
                window_size,
                shift_size=0 if i % 2 == 0 else window_size // 2,
                mlp_ratio=mlp_ratio,
                drop_path=drop_path[i],
            )
            for i in range(depth)
        )

    def forward(self, x, size, mask):
        for block in self.blocks:
            x = block(x, size, mask)
        return x


class RSTB(nn.Module):
    """Residual Swin transformer block: Swin layers, a 3x3 conv, and a skip connection."""

    def __init__(self, dim, depth, num_heads, window_size, mlp_ratio, drop_path: list[float]):
        super().__init__()
        self.residual_group = BasicLayer(dim, depth, num_heads, window_size, mlp_ratio, drop_path)
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: torch.Tensor, size: tuple[int, int], mask) -> torch.Tensor:
        y = tokens_to_image(self.residual_group(x, size, mask), size)
        return image_to_tokens(self.conv(y)) + x


class PatchEmbed(nn.Module):
    """Image to tokens (patch size 1), then LayerNorm."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(image_to_tokens(x))


def image_to_tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)  # B x HW x C


def tokens_to_image(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *size)


@register
class SwinIR(HubSR):
    """SwinIR with the lightweight "pixelshuffledirect" reconstruction.

    Args:
        scale: upscaling factor (2, 3 or 4).
        in_channels: image channels (3 for RGB).
        embed_dim: token width.
        depths: Swin layers in each RSTB.
        num_heads: attention heads in each RSTB (each must divide ``embed_dim``).
        window_size: side of the square attention windows; inputs are padded to a multiple.
        mlp_ratio: MLP hidden width as a multiple of ``embed_dim``.
        drop_path_rate: stochastic depth rate, rising linearly to this over all layers.
    """

    architecture = "swinir"
    size_multiple = 8  # the default window size; instances set their own

    def __init__(
        self,
        *,
        scale: int = 3,
        in_channels: int = 3,
        embed_dim: int = 60,
        depths: tuple[int, ...] = (6, 6, 6, 6),
        num_heads: tuple[int, ...] = (6, 6, 6, 6),
        window_size: int = 8,
        mlp_ratio: float = 2.0,
        drop_path_rate: float = 0.1,
    ):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"SwinIR supports scales 2, 3 and 4, got {scale}")
        if len(depths) != len(num_heads) or not depths:
            raise ValueError(f"SwinIR needs one head count per RSTB, got {depths} and {num_heads}")
        if any(embed_dim % h for h in num_heads):
            raise ValueError(f"SwinIR head counts {num_heads} must divide embed_dim {embed_dim}")
        if window_size < 2:
            raise ValueError(f"SwinIR window_size must be at least 2, got {window_size}")
        self.scale = scale
        self.in_channels = in_channels
        self.window_size = window_size
        self.size_multiple = window_size
        mean = dataset_mean(in_channels)
        self.sub_mean = MeanShift(mean, sign=-1)
        self.add_mean = MeanShift(mean, sign=1)
        self.conv_first = nn.Conv2d(in_channels, embed_dim, 3, padding=1)
        self.patch_embed = PatchEmbed(embed_dim)
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        starts = [sum(depths[:i]) for i in range(len(depths))]
        self.layers = nn.ModuleList(
            RSTB(embed_dim, d, h, window_size, mlp_ratio, rates[start : start + d])
            for d, h, start in zip(depths, num_heads, starts, strict=True)
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = nn.Conv2d(embed_dim, embed_dim, 3, padding=1)
        self.upsample = PixelShuffleUpsampler(embed_dim, in_channels, scale)
        self.apply(_init_weights)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        # Mirror the image past its bottom and right edges, as the authors' test script does
        # (``cat([x, flip(x)])``), repeating the mirror for images smaller than the padding.
        for dim in (-2, -1):
            size = x.shape[dim]
            target = -(-size // self.window_size) * self.window_size
            while x.shape[dim] < target:
                x = torch.cat([x, x.flip(dim)], dim)
            x = x.narrow(dim, 0, target)
        return x

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2], x.shape[-1])
        shift = self.window_size // 2
        mask = shifted_window_mask(*size, self.window_size, shift, device=x.device)
        tokens = self.patch_embed(x)
        for layer in self.layers:
            tokens = layer(tokens, size, mask)
        return tokens_to_image(self.norm(tokens), size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = self.conv_first(self.sub_mean(self._pad(x)))
        x = x + self.conv_after_body(self.forward_features(x))
        x = self.add_mean(self.upsample(x))
        return x[..., : h * self.scale, : w * self.scale]


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
