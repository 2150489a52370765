"""Inference fast paths (issue 5.2) for the shipped model on this CPU, each against the network as trained
(fp32 eager, NCHW, BatchNorm layers, ``torch.inference_mode``) measured in the same process, round-robin:

- ``channels_last`` memory format
- BatchNorm folded into the convolutions + channels_last (``tinct.pipeline.fast_net.prepare_for_cpu``: what
  ``Colorizer`` runs on CPU)
- bf16 autocast (``torch.autocast("cpu", torch.bfloat16)``) on each of those
- ``torch.compile`` of the CPU default (skipped with ``--no-compile``; compile time reported separately: the
  first compile on a machine is much slower than later ones, which hit inductor's on-disk cache)
- ONNX Runtime (CPU execution provider, no spinning) on the exported graph

Two figures per variant: the network's forward at 256x256 (batch 1, and batch 8 per image), and the end-to-end
``Colorizer.colorize`` of a 512x512 JPEG (decode, predict, upsample, recombine; no output encoding), plus
the max |delta ab| of the variant's decoded ab against the reference (accuracy cost).

    python benchmarks/bench_fastpaths.py [--json out.json] [--repeats 7] [--no-compile]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


class Wrapper:
    """A network wrapped for ``Colorizer``: ``.to``/``.eval`` are no-ops, subclasses change ``__call__``."""

    def __init__(self, net):
        self.net = net

    def to(self, *a, **k):
        return self

    def eval(self):
        return self


class Autocast(Wrapper):
    """Run the forward under bf16 autocast and return fp32 logits."""

    def __call__(self, l, hints=None):
        import torch
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.net(l, hints).float()


class ChannelsLastInput(Wrapper):
    """Feed the network channels_last inputs (the weights are converted separately)."""

    def __call__(self, l, hints=None):
        import torch
        l = l.contiguous(memory_format=torch.channels_last)
        hints = None if hints is None else hints.contiguous(memory_format=torch.channels_last)
        return self.net(l, hints)


def main(argv=None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile (slow to compile on few cores)")
    p.add_argument("--no-onnx", action="store_true", help="skip ONNX Runtime")
    args = p.parse_args(argv)
    m = C.setup(args)

    import copy

    import torch
    from tinct.color import decode
    from tinct.pipeline.colorizer import Colorizer

    from tinct.pipeline.fast_net import prepare_for_cpu

    base = Colorizer.load(device="cpu")
    # the reference is the network as trained: NCHW fp32 with BatchNorm layers, whatever the Colorizer's default
    net32 = copy.deepcopy(base.model.net).to(memory_format=torch.contiguous_format).eval()
    size = 64 if args.quick else 256
    e2e_side = 128 if args.quick else 512
    flags = C.cpu_flags()

    variants: dict = {"fp32 NCHW, as trained (reference)": net32}
    cl_net = copy.deepcopy(net32).to(memory_format=torch.channels_last).eval()
    fast_net = prepare_for_cpu(net32)
    variants["channels_last"] = ChannelsLastInput(cl_net)
    variants["BatchNorm folded + channels_last (Colorizer's CPU default)"] = fast_net
    variants["bf16 autocast"] = Autocast(net32)
    variants["bf16 autocast + channels_last"] = Autocast(ChannelsLastInput(cl_net))
    variants["bf16 autocast + BN folded + channels_last"] = Autocast(fast_net)
    notes = {}
    if not ("avx512_bf16" in flags or "amx_bf16" in flags):
        notes["bf16"] = "CPU has no native bf16 (AVX512_BF16/AMX): bf16 runs emulated"

    l1 = torch.full((1, 1, size, size), 50.0) + torch.randn(1, 1, size, size) * 20
    l8 = l1.repeat(8, 1, 1, 1)

    if not args.no_compile:
        t0 = time.perf_counter()
        try:
            comp = torch.compile(prepare_for_cpu(net32))
            with torch.inference_mode():
                comp(l1, None)
                comp(l8, None)
            variants["torch.compile of the CPU default (inductor)"] = comp
            notes["compile_s"] = round(time.perf_counter() - t0, 1)
        except Exception as e:  # no compiler toolchain etc.
            notes["compile_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    if not args.no_onnx:
        try:
            from tinct.export.onnx import to_onnx_bytes
            from tinct.pipeline.onnx_backend import OnnxNetwork
            variants["onnxruntime"] = OnnxNetwork(to_onnx_bytes(base.model))
        except ModuleNotFoundError as e:
            notes["onnx_error"] = str(e)

    # accuracy of each variant vs fp32 eager, on decoded ab
    with torch.inference_mode():
        ref_ab = decode(net32(l1, None), base.centres)
        dab = {k: float((decode(v(l1, None), base.centres) - ref_ab).abs().max()) for k, v in variants.items()}

    def fwd(net, x):
        def f():
            with torch.inference_mode():
                net(x, None)
        return f

    fwd1 = C.interleaved({k: fwd(v, l1) for k, v in variants.items()}, args.repeats, warmup=2)
    fwd8 = C.interleaved({k: fwd(v, l8) for k, v in variants.items()}, args.repeats, warmup=1)

    with tempfile.TemporaryDirectory() as d:
        photo = C.make_photo(Path(d) / "photo.jpg", e2e_side, e2e_side)
        cols = {}
        for k, v in variants.items():
            c = Colorizer(base.model, torch.device("cpu"))
            c.net = v
            cols[k] = c
        e2e = C.interleaved({k: (lambda c=c: c.colorize(photo)) for k, c in cols.items()}, args.repeats, warmup=1)

    ref = "fp32 NCHW, as trained (reference)"
    rows = []
    for k in variants:
        rows.append({"variant": k,
                     f"fwd {size}² b1 ms": C.ms(fwd1[k]["median"]),
                     "b1 × ref": fwd1[k]["median"] / fwd1[ref]["median"],
                     f"fwd {size}² b8 ms/img": C.ms(fwd8[k]["median"]) / 8,
                     "b8 × ref": fwd8[k]["median"] / fwd8[ref]["median"],
                     f"colorize {e2e_side}² ms": C.ms(e2e[k]["median"]),
                     "colorize × ref": e2e[k]["median"] / e2e[ref]["median"],
                     "max Δab vs ref": dab[k]})
    print(C.table(rows))
    for k, v in notes.items():
        print(f"# {k}: {v}")
    C.write_json(args.json, {"benchmark": "fastpaths", "machine": m, "quick": args.quick, "repeats": args.repeats,
                             "size": size, "e2e_side": e2e_side, "rows": rows, "notes": notes,
                             "raw": {"fwd_b1": fwd1, "fwd_b8": fwd8, "colorize": e2e}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
