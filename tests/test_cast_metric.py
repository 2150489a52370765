"""The mean-colour error (issue 28's cast): per image |mean ab of output - mean ab of truth|, and mean a*, b*."""
import pytest
import torch

from tinct.color.metrics import MetricAccumulator


def ab_images(seed=0, n=2, h=6, w=5):
    return torch.randn(n, 2, h, w, generator=torch.Generator().manual_seed(seed)) * 25


def feed(acc, pred_ab, true_ab):
    rgb = torch.full((pred_ab.shape[0], 3) + pred_ab.shape[2:], 0.5)
    acc.update(pred_ab, true_ab, rgb, rgb)


def test_constant_shift_per_image_is_its_length_averaged_over_images():
    truth = ab_images()
    shift = torch.tensor([[3.0, 4.0], [-6.0, 8.0]]).view(2, 2, 1, 1)  # lengths 5 and 10
    acc = MetricAccumulator()
    feed(acc, truth + shift, truth)
    r = acc.result()
    assert r["mean_colour_error"] == pytest.approx(7.5, abs=1e-4)
    assert r["mean_a"] - r["mean_a_truth"] == pytest.approx(-1.5, abs=1e-4)
    assert r["mean_b"] - r["mean_b_truth"] == pytest.approx(6.0, abs=1e-4)
    assert r["mean_a_truth"] == pytest.approx(float(truth[:, 0].mean()), abs=1e-4)


def test_zero_mean_errors_are_no_cast_but_cost_auc():
    truth = ab_images(1, n=1, h=4, w=4)
    noise = torch.tensor([20.0, -20.0]).repeat(8).view(1, 1, 4, 4)
    pred = truth + torch.cat([noise, noise.flip(-1)], 1)  # each channel's errors sum to zero over the image
    acc = MetricAccumulator()
    feed(acc, pred, truth)
    r = acc.result()
    assert r["mean_colour_error"] == pytest.approx(0.0, abs=1e-4)
    assert r["auc"] < 90


def test_streams_over_batches_like_one_pass():
    truth = ab_images(2, n=4)
    pred = truth * 0.5 + torch.tensor([2.0, 9.0]).view(1, 2, 1, 1)
    one, two = MetricAccumulator(), MetricAccumulator()
    feed(one, pred, truth)
    feed(two, pred[:1], truth[:1])
    feed(two, pred[1:], truth[1:])
    for key in ("mean_colour_error", "mean_a", "mean_b", "mean_a_truth", "mean_b_truth"):
        assert one.result()[key] == pytest.approx(two.result()[key], abs=1e-4)


def test_grey_output_error_is_the_truths_mean_chroma():
    truth = torch.zeros(1, 2, 3, 3) + torch.tensor([6.0, -8.0]).view(1, 2, 1, 1)
    acc = MetricAccumulator()
    feed(acc, torch.zeros_like(truth), truth)
    assert acc.result()["mean_colour_error"] == pytest.approx(10.0, abs=1e-4)


def test_evaluate_summary_reports_the_cast():
    from tinct.evaluate.run import summary
    truth = ab_images(3, n=1)
    model, grey = MetricAccumulator(), MetricAccumulator()
    feed(model, truth + torch.tensor([0.0, 5.0]).view(1, 2, 1, 1), truth)
    feed(grey, torch.zeros_like(truth), truth)
    text = summary({"model": model.result(), "grey": grey.result(), "options": {}})
    line = next(l for l in text.splitlines() if l.startswith("mean colour"))
    assert "error 5.00 ab" in line
