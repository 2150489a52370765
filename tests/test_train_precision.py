"""``tinct train --precision auto`` on the CPU: a measured probe of the run's own training steps picks fp32 or
bf16; the choice is logged, stored in the run (precision.json, config.json) and kept by ``--resume``."""
import json

import pytest
import torch

from tinct.train import loop
from tinct.train.checkpoint import load_checkpoint
from tinct.train.precision import MAX_LOSS_REL, MIN_SPEEDUP, StepProbe, decide, measure, resolve

from test_train import assert_same_state, data, final_state, train_cli  # noqa: F401 - data is a fixture

CPU = torch.device("cpu")


def test_decide_takes_bf16_only_when_clearly_faster_and_close():
    assert decide(StepProbe(fp32_s=1.0, bf16_s=0.7, fp32_loss=10.0, bf16_loss=10.05)) == "bf16"
    assert decide(StepProbe(1.0, 1.0 / MIN_SPEEDUP * 1.01, 10.0, 10.0)) == "fp32"      # not fast enough
    assert decide(StepProbe(1.0, 1.2, 10.0, 10.0)) == "fp32"                           # slower
    assert decide(StepProbe(1.0, 0.5, 10.0, 10.0 * (1 + 2 * MAX_LOSS_REL))) == "fp32"  # too far off


def test_resolve_measures_only_auto_on_the_cpu():
    def boom():
        raise AssertionError("measured")
    assert resolve("fp32", CPU, boom)[0] == "fp32"
    assert resolve("bf16", CPU, boom)[0] == "bf16"
    assert resolve("auto", torch.device("cuda"), boom)[0] == "bf16"
    choice, rec = resolve("auto", CPU, lambda: StepProbe(0.8, 0.6, 3.0, 3.01))
    assert choice == "bf16" and rec["why"] == "measured on this CPU" and rec["ratio"] == pytest.approx(0.75)
    assert resolve("auto", CPU, lambda: StepProbe(0.6, 0.8, 3.0, 3.0))[0] == "fp32"


def test_measure_leaves_the_network_and_the_rng_untouched():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Dropout(0.5))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(2, 1, 8, 8)
    rng = torch.get_rng_state()

    def loss_of(m, bf16):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return m(x).float().square().sum()
    p = measure(net, loss_of, CPU, repeats=2)
    assert p.fp32_s > 0 and p.bf16_s > 0 and p.fp32_loss > 0 and p.bf16_loss > 0
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())   # BatchNorm stats too
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(q.grad is None for q in net.parameters())


@pytest.mark.parametrize("faster", ["bf16", "fp32"])
def test_auto_on_the_cpu_trains_in_the_measured_precision_and_resume_keeps_it(data, tmp_path, monkeypatch,
                                                                             capsys, faster):
    fast, slow = 0.5, 1.0
    probe = StepProbe(slow, fast, 3.0, 3.0) if faster == "bf16" else StepProbe(fast, slow, 3.0, 3.0)
    calls = []
    monkeypatch.setattr(loop, "measure", lambda net, loss_of, device: calls.append(loss_of(net, True)) or probe)
    autocast_on = []
    real_loss = loop.colorization_loss

    def spy(logits, *a, **k):
        autocast_on.append(logits.dtype == torch.bfloat16)
        return real_loss(logits, *a, **k)
    monkeypatch.setattr(loop, "colorization_loss", spy)
    run = train_cli(data, tmp_path / "run", steps=4, precision="auto", ckpt_every=2)
    assert len(calls) == 1 and torch.isfinite(calls[0])      # the probe's loss ran on a real batch
    rec = json.loads((run / "precision.json").read_text())
    assert rec["requested"] == "auto" and rec["choice"] == faster and rec["why"] == "measured on this CPU"
    assert json.loads((run / "config.json").read_text())["precision"] == faster
    assert load_checkpoint(run)["config"]["precision"] == faster
    assert f"precision auto -> {faster}" in capsys.readouterr().err
    assert autocast_on[1:] == [faster == "bf16"] * 4       # [0] is the probe's own call

    # --resume: the stored choice, no new measurement
    calls.clear()
    train_cli(data, run, steps=6, resume=None)
    assert not calls and load_checkpoint(run)["config"]["precision"] == faster


def test_a_run_stored_with_auto_resumes_as_it_trained(data, tmp_path, monkeypatch):
    """Checkpoints written before the CPU probe say 'auto' and trained in fp32 on the CPU: a resume stays
    fp32 (bit for bit the same as an fp32 run), with no measurement."""
    extra = dict(schedule="constant", ckpt_every=2)     # so that 2 steps then 4 follow the same LR as 4 straight
    straight = train_cli(data, tmp_path / "straight", steps=4, **extra)          # fp32
    old = train_cli(data, tmp_path / "old", steps=2, **extra)
    ck_path = old / "checkpoint.pt"
    ck = torch.load(ck_path, weights_only=False)
    ck["config"]["precision"] = "auto"
    torch.save(ck, ck_path)
    monkeypatch.setattr(loop, "measure", lambda *a: pytest.fail("measured on resume"))
    train_cli(data, old, steps=4, resume=None, **extra)
    assert_same_state(final_state(straight), final_state(old))
