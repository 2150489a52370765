"""sRGB <-> CIELAB: agreement with scikit-image, round trips, gradients, shapes and errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.color import lab2rgb as sk_lab2rgb
from skimage.color import rgb2lab as sk_rgb2lab

from tinct.color import LabToRgb, RgbToLab, lab_to_rgb, rgb_to_lab

EDGE_RGB = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1],
                     [0.5, 0.5, 0.5], [0.04045, 0.04045, 0.04045], [0.04, 0.05, 0.03], [0.001, 0.002, 0.0]])


def to_t(a_hw3: np.ndarray, dtype=torch.float64) -> torch.Tensor:
    """(H, W, 3) numpy -> (3, H, W) torch."""
    return torch.from_numpy(np.ascontiguousarray(a_hw3)).permute(2, 0, 1).to(dtype)


def to_np(t_3hw: torch.Tensor) -> np.ndarray:
    return t_3hw.permute(1, 2, 0).double().numpy()


def random_rgb(n=4096, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (64, n // 64, 3))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_rgb_to_lab_matches_skimage(dtype):
    for rgb in (random_rgb(), EDGE_RGB.reshape(3, 4, 3)):
        ours = to_np(rgb_to_lab(to_t(rgb, dtype)))
        ref = sk_rgb2lab(rgb)
        tol = 1e-4 if dtype == torch.float64 else 2e-3
        np.testing.assert_allclose(ours, ref, atol=tol, rtol=0)


def test_edge_colours_known_values():
    lab = to_np(rgb_to_lab(to_t(EDGE_RGB.reshape(3, 4, 3)))).reshape(-1, 3)
    np.testing.assert_allclose(lab[0], [0, 0, 0], atol=1e-4)            # black
    np.testing.assert_allclose(lab[1], [100, 0, 0], atol=1e-2)          # white (D65): a, b ~ 0
    assert abs(lab[8, 1]) < 1e-2 and abs(lab[8, 2]) < 1e-2              # grey is neutral
    assert lab[2, 1] > 70 and lab[2, 2] > 60                            # red: +a, +b
    assert lab[3, 1] < -80                                              # green: -a
    assert lab[4, 2] < -100                                             # blue: -b


def test_lab_to_rgb_matches_skimage():
    # in-gamut Lab (from random RGB) and a broad box of Lab values, out-of-gamut ones clipped by both sides
    lab_in = sk_rgb2lab(random_rgb(seed=1))
    rng = np.random.default_rng(2)
    box = np.stack([rng.uniform(0, 100, 4096), rng.uniform(-100, 100, 4096), rng.uniform(-100, 100, 4096)], -1)
    # scikit-image clamps f_z = f_y - b/200 at 0 (with a warning); keep away from that corner
    box = box[(box[:, 0] + 16) / 116 - box[:, 2] / 200 > 0.01][:3000].reshape(30, 100, 3)
    edge = np.array([[0, 0, 0], [100, 0, 0], [50, 0, 0], [53.24, 80.09, 67.20], [87.73, -86.18, 83.18],
                     [32.30, 79.19, -107.86], [50, 100, -100], [70, -128, 127]], dtype=np.float64).reshape(2, 4, 3)
    for lab in (lab_in, box, edge):
        ours = to_np(lab_to_rgb(to_t(lab)))
        ref = sk_lab2rgb(lab)
        np.testing.assert_allclose(ours, ref, atol=1e-4, rtol=0)
        assert ours.min() >= 0 and ours.max() <= 1


def test_round_trip_rgb_lab_rgb():
    rgb = to_t(np.concatenate([random_rgb(seed=3).reshape(-1, 3), EDGE_RGB]).reshape(-1, 4, 3))
    back = lab_to_rgb(rgb_to_lab(rgb))
    torch.testing.assert_close(back, rgb, atol=1e-6, rtol=0)
    # float32 too, within what 8-bit images need
    back32 = lab_to_rgb(rgb_to_lab(rgb.float()))
    assert (back32.double() - rgb).abs().max() < 1e-4


def test_round_trip_lab_rgb_lab_in_gamut():
    lab = to_t(sk_rgb2lab(random_rgb(seed=4)))
    torch.testing.assert_close(rgb_to_lab(lab_to_rgb(lab)), lab, atol=1e-6, rtol=0)


@settings(max_examples=50, deadline=None)
@given(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)))
def test_round_trip_property(rgb):
    t = torch.tensor(rgb, dtype=torch.float64).view(3, 1, 1)
    assert torch.allclose(lab_to_rgb(rgb_to_lab(t)), t, atol=1e-7)


def test_gradcheck_rgb_to_lab():
    # away from the sRGB and Lab kinks (0.04045, f = 6/29) and from 0
    rgb = (0.2 + 0.6 * torch.rand(1, 3, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    rgb.requires_grad_(True)
    assert torch.autograd.gradcheck(rgb_to_lab, (rgb,), eps=1e-6, atol=1e-5)


def test_gradcheck_lab_to_rgb():
    # in-gamut colours, away from the clamps
    rgb = 0.2 + 0.6 * torch.rand(1, 3, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    lab = rgb_to_lab(rgb).detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lab_to_rgb, (lab,), eps=1e-6, atol=1e-5)


def test_gradient_is_finite_everywhere_including_black_and_clamps():
    rgb = torch.tensor(EDGE_RGB, dtype=torch.float32).T.reshape(3, 3, 4).requires_grad_(True)
    rgb_to_lab(rgb).sum().backward()
    assert torch.isfinite(rgb.grad).all()
    lab = torch.tensor([[0.0, 50, 100], [0, 90, -120], [0, 120, 0]]).view(3, 3, 1).requires_grad_(True)
    lab_to_rgb(lab).sum().backward()
    assert torch.isfinite(lab.grad).all()


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 3, 4, 4), (2, 2, 3, 1, 6)])
def test_batched_shapes_and_consistency(shape):
    rgb = torch.rand(shape, dtype=torch.float64)
    lab = rgb_to_lab(rgb)
    assert lab.shape == rgb.shape and lab.dtype == rgb.dtype
    assert lab_to_rgb(lab).shape == rgb.shape
    # batching does not mix images: each element converts the same alone
    flat = rgb.reshape(-1, 3, *shape[-2:])
    one = torch.stack([rgb_to_lab(x) for x in flat]).reshape(shape)
    torch.testing.assert_close(lab, one)
    assert torch.equal(RgbToLab()(rgb), lab)
    assert torch.equal(LabToRgb()(lab), lab_to_rgb(lab))


@pytest.mark.parametrize("shape", [(3,), (3, 4), (4, 5, 5), (2, 4, 5, 5), (1, 1, 5, 5)])
def test_wrong_shape_raises(shape):
    with pytest.raises(ValueError):
        rgb_to_lab(torch.rand(shape))
    with pytest.raises(ValueError):
        lab_to_rgb(torch.rand(shape))
