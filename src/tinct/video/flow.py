"""Optical flow on lightness, warping, warp-error confidence and scene-cut detection.

Flow is OpenCV's DIS (Kroeger et al. 2016; ``opencv-python-headless``), run on CIELAB L at the network's
input grid (about 256^2 pixels), a millisecond or two per frame. Convention: ``flow[y, x] = (dx, dy)`` such
that ``cur(x, y) ~ prev(x + dx, y + dy)`` (backward flow, from the current frame into the previous one), so
that anything defined on the previous frame is pulled into the current one with ``warp``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

CUT_THRESHOLD = 0.35     # total-variation distance between L histograms above which a shot is cut
CONF_SIGMA = 6.0         # L units: warp error giving confidence exp(-1)
HIST_BINS = 32


def _dis():
    try:
        import cv2
    except ImportError:
        raise ImportError("video needs OpenCV for optical flow: pip install 'tinct[video]'") from None
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)


class FlowEstimator:
    """Backward DIS flow between two L images ``(h, w)`` float in [0, 100] -> ``(h, w, 2)`` float32 pixels."""

    def __init__(self):
        self.dis = _dis()

    def __call__(self, l_prev: torch.Tensor, l_cur: torch.Tensor) -> np.ndarray:
        a = (l_cur.float() * 2.55).clamp(0, 255).to(torch.uint8).numpy()
        b = (l_prev.float() * 2.55).clamp(0, 255).to(torch.uint8).numpy()
        return self.dis.calc(np.ascontiguousarray(a), np.ascontiguousarray(b), None)


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """``(h, w, 2)`` pixel flow -> ``(1, 2, H, W)`` pixel flow at ``size`` (H, W) (area average, rescaled)."""
    h, w = flow.shape[:2]
    t = torch.from_numpy(np.ascontiguousarray(flow)).permute(2, 0, 1).unsqueeze(0)
    out = F.interpolate(t, size=size, mode="area" if size[0] <= h else "bilinear")
    out[:, 0] *= size[1] / w
    out[:, 1] *= size[0] / h
    return out


def _sources(flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Source points ``(x + dx, y + dy)`` of every pixel of ``flow`` ``(1, 2, H, W)``: two ``(H, W)`` tensors."""
    _, _, H, W = flow.shape
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    return xs + flow[0, 0].float(), ys + flow[0, 1].float()


def warp(x: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear") -> tuple[torch.Tensor, torch.Tensor]:
    """Pull ``x`` ``(1, C, H, W)`` (on the previous frame) along ``flow`` ``(1, 2, H, W)`` pixels into the
    current frame (``mode``: "bilinear" or "bicubic", which blurs less when warps are chained). Returns
    (warped ``(1, C, H, W)``, valid ``(1, 1, H, W)``: 1 where the source point lies inside the previous frame)."""
    _, _, H, W = x.shape
    sx, sy = _sources(flow)
    valid = ((sx >= -0.5) & (sx <= W - 0.5) & (sy >= -0.5) & (sy <= H - 0.5)).float()[None, None]
    grid = torch.stack([(sx + 0.5) * 2 / W - 1, (sy + 0.5) * 2 / H - 1], -1).unsqueeze(0)
    x = x.float().contiguous(memory_format=torch.channels_last)  # several times faster with many channels
    out = F.grid_sample(x, grid, mode=mode, padding_mode="border", align_corners=False)
    return out, valid


CUBIC_A = -0.75          # the cubic convolution kernel's parameter, as in ``grid_sample(mode="bicubic")``


def _cubic_weights(t: torch.Tensor) -> torch.Tensor:
    """Weights of the 4 taps at offsets -1, 0, 1, 2 for fractional positions ``t`` in [0, 1): ``(..., 4)``."""
    a = CUBIC_A
    far = lambda d: ((a * d - 5 * a) * d + 8 * a) * d - 4 * a  # noqa: E731  1 <= |d| < 2
    near = lambda d: ((a + 2) * d - (a + 3)) * d * d + 1      # noqa: E731  |d| < 1
    return torch.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], -1)


class SparseWarp:
    """A bicubic pull as a sparse ``(H*W, H*W)`` matrix (SciPy CSR, 16 taps a row); ``M @ x`` for a float32
    tensor ``x`` ``(H*W, C)`` (pixels in rows) returns a tensor. SciPy's single-threaded CSR product is about 2x
    faster than torch's for one frame's 257-bin distributions and leaves torch's threads to the network."""

    def __init__(self, matrix):
        self.matrix = matrix
        self.shape = matrix.shape

    def __matmul__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.matrix @ np.ascontiguousarray(x.detach().float().numpy()))


def warp_matrix(flow: torch.Tensor) -> SparseWarp:
    """The bicubic pull along ``flow`` ``(1, 2, H, W)`` pixels as a sparse matrix ``(H*W, H*W)``, 16 taps a
    row: ``M @ x`` for ``x`` ``(H*W, C)`` (pixels in rows, channels last) equals ``warp(x, flow, "bicubic")`` (border
    padding; out-of-frame taps clamp to the edge; repeated columns of clamped taps add up). Built once per flow
    and applied to all C channels in one sparse product, several times faster than ``grid_sample`` for the
    257-bin distributions."""
    from scipy.sparse import csr_matrix
    _, _, H, W = flow.shape
    sx, sy = _sources(flow)
    x0, y0 = sx.floor(), sy.floor()
    off = torch.arange(-1, 3, dtype=torch.float32)
    xi = (x0[..., None] + off).clamp(0, W - 1).long()
    yi = (y0[..., None] + off).clamp(0, H - 1).long()
    cols = (yi[..., :, None] * W + xi[..., None, :]).reshape(H * W, 16)
    vals = (_cubic_weights(sy - y0)[..., :, None] * _cubic_weights(sx - x0)[..., None, :]).reshape(H * W, 16)
    n = H * W
    return SparseWarp(csr_matrix((vals.flatten().numpy(), cols.flatten().to(torch.int32).numpy(),
                                  np.arange(0, 16 * n + 1, 16, dtype=np.int32)), shape=(n, n)))


def confidence(l_prev: torch.Tensor, l_cur: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Per-pixel trust in the flow ``(1, 1, H, W)`` in [0, 1]: exp(-(warp error on L / CONF_SIGMA)^2), 0 where
    the source falls outside the frame (occlusions and revealed borders show up as warp error)."""
    warped, valid = warp(l_prev.view(1, 1, *l_prev.shape[-2:]), flow)
    err = (warped - l_cur.view(1, 1, *l_cur.shape[-2:]).float()).abs()
    err = F.avg_pool2d(err, 3, 1, 1, count_include_pad=False)  # a little spatial support against noise
    return torch.exp(-(err / CONF_SIGMA) ** 2) * valid


def l_histogram(l: torch.Tensor) -> torch.Tensor:
    """Normalised histogram of L in [0, 100] ``(HIST_BINS,)``."""
    h = torch.histc(l.float().flatten(), HIST_BINS, 0, 100)
    return h / h.sum().clamp(min=1)


def is_cut(h_prev: torch.Tensor, h_cur: torch.Tensor, threshold: float = CUT_THRESHOLD) -> bool:
    """A scene cut when the total-variation distance between the two L histograms exceeds ``threshold``."""
    return float(0.5 * (h_prev - h_cur).abs().sum()) > threshold
