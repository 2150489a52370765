"""Average two models of one lineage (a "model soup"): how the shipped v3 file was made (MODEL.md, session 14).

  python tools/average_models.py A B OUT [--weight-b 0.5] [--temperature T] [--rebalance-correction BETA]

Every floating-point tensor of B's network is blended into A's, ``(1 - w) * A + w * B`` (BatchNorm running
statistics included; integer counters kept from A); the result keeps A's network config, prior, rebalancing
weights and decode, except the decode settings given. The two must be the same network (same config and tensor
shapes), which is what sharing a lineage (B fine-tuned from A) guarantees.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from tinct.model.io import load_model_file, save_model_file   # noqa: E402
from tinct.pipeline.colorizer import resolve_model_path       # noqa: E402


def average(a_path, b_path, out, weight_b: float = 0.5, temperature: float | None = None,
            rebalance_correction: float | None = None) -> None:
    """Write ``out``: A's model with its network blended toward B's by ``weight_b`` in [0, 1]."""
    if not 0.0 <= weight_b <= 1.0:
        raise ValueError(f"weight of B {weight_b} is outside [0, 1]")
    a, b = load_model_file(a_path), load_model_file(b_path)
    if a.model_config != b.model_config:
        raise ValueError(f"{a_path} and {b_path} are different networks: {a.model_config} vs {b.model_config}")
    sa, sb = a.net.state_dict(), b.net.state_dict()
    mixed = {k: torch.lerp(v.float(), sb[k].float(), weight_b).to(v.dtype) if v.is_floating_point() else v
             for k, v in sa.items()}
    a.net.load_state_dict(mixed)
    changes = {k: v for k, v in (("temperature", temperature), ("rebalance_correction", rebalance_correction))
               if v is not None}
    save_model_file(out, a.net, a.model_config, dataclasses.replace(a.inference, **changes), a.prior, a.weights)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="model A (a shipped name, a .safetensors file or a run folder): its config is kept")
    p.add_argument("b", help="model B, the same network")
    p.add_argument("out", help="the .safetensors file to write")
    p.add_argument("--weight-b", type=float, default=0.5)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--rebalance-correction", type=float, default=None)
    args = p.parse_args()
    average(resolve_model_path(args.a), resolve_model_path(args.b), args.out, args.weight_b, args.temperature,
            args.rebalance_correction)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
