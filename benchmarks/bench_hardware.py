"""How well the default model uses this CPU: measured matmul peak vs the model's achieved GFLOP/s.

1. Peak: median GFLOP/s of ``torch.mm`` on 4096x4096 matrices in fp32 and in bf16 (torch's default threads, or
   ``--threads``).
2. Achieved: the shipped model's forward at 1x1x256x256 (``torch.inference_mode``), FLOPs counted with
   ``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add = 2 FLOPs): the network as trained (NCHW),
   channels_last, and what ``Colorizer`` runs on CPU (BatchNorm folded + channels_last), each in fp32 and bf16
   autocast; and ONNX Runtime (same FLOPs). Target: >= 60 % of the fp32 peak or >= 30 % of the bf16 peak.
3. Where the time goes, for the network as trained and as Colorizer runs it: per-layer-kind time from module
   hooks (depthwise, pointwise 1x1, dense kxk convs, BatchNorm, activations, the rest), with FLOPs, bytes touched
   (inputs + outputs + weights, fp32) and arithmetic intensity, and a ``torch.profiler`` table of the top
   operators of the Colorizer's network.

    python benchmarks/bench_hardware.py [--json out.json] [--repeats 7] [--threads 2] [--matmul-size 4096]
"""
from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def matmul_peak(dtype, n: int, repeats: int) -> dict:
    import torch
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    out = torch.empty(n, n, dtype=dtype)
    t = C.timeit(lambda: torch.mm(a, b, out=out), repeats, warmup=2)
    return {"n": n, "median_s": t["median"], "gflops": 2 * n ** 3 / t["median"] / 1e9}


def count_flops(net, l) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        net(l, None)
    return int(fc.get_total_flops())


def kind_of(mod) -> str | None:
    from torch import nn
    if isinstance(mod, nn.Conv2d):
        k = mod.kernel_size[0]
        if mod.groups > 1 and mod.groups == mod.in_channels:
            return "depthwise conv (3×3, 5×5)"
        if k == 1:
            return "pointwise conv 1×1"
        return "dense conv k×k (stem, decoder, head)"
    if isinstance(mod, nn.BatchNorm2d):
        return "BatchNorm (eval)"
    if isinstance(mod, (nn.ReLU, nn.ReLU6)):
        return "activation modules"
    if isinstance(mod, nn.Linear):
        return None
    return None


def layer_breakdown(net, l, repeats: int, clock) -> tuple[list[dict], float]:
    """Per-kind time (median over repeats of the per-forward sums), FLOPs and bytes, via forward hooks."""
    import torch
    kinds = {}
    for name, mod in net.named_modules():
        if len(list(mod.children())) == 0:
            k = kind_of(mod)
            if k is not None:
                kinds[mod] = k
    acc: dict = defaultdict(float)
    flops: dict = defaultdict(int)
    nbytes: dict = defaultdict(int)
    starts: dict = {}
    first = {"on": True}

    def pre(mod, inp):
        starts[mod] = clock()

    def post(mod, inp, out):
        acc[kinds[mod]] += clock() - starts[mod]
        if first["on"]:
            x = inp[0]
            b = (x.numel() + out.numel()) * 4 + sum(p.numel() * 4 for p in mod.parameters())
            nbytes[kinds[mod]] += b
            if isinstance(mod, torch.nn.Conv2d):
                kh, kw = mod.kernel_size
                flops[kinds[mod]] += 2 * out.numel() * (mod.in_channels // mod.groups) * kh * kw
            elif isinstance(mod, torch.nn.BatchNorm2d):
                flops[kinds[mod]] += 2 * out.numel()
    hooks = [m.register_forward_pre_hook(pre) for m in kinds] + [m.register_forward_hook(post) for m in kinds]
    per_run = []
    totals = []
    try:
        with torch.inference_mode():
            net(l, None)
            first["on"] = False
            for _ in range(repeats):
                acc.clear()
                t0 = clock()
                net(l, None)
                totals.append(clock() - t0)
                per_run.append(dict(acc))
    finally:
        for h in hooks:
            h.remove()
    total = sorted(totals)[len(totals) // 2]
    names = sorted({k for r in per_run for k in r})
    med = {k: sorted(r.get(k, 0.0) for r in per_run)[len(per_run) // 2] for k in names}
    rows = []
    for k in names:
        rows.append({"layer kind": k, "ms": C.ms(med[k]), "% time": 100 * med[k] / total,
                     "GFLOP": flops[k] / 1e9, "GFLOP/s": flops[k] / med[k] / 1e9 if med[k] else None,
                     "MB touched": nbytes[k] / 1e6, "FLOP/byte": flops[k] / nbytes[k] if nbytes[k] else None})
    rest = total - sum(med.values())
    rows.append({"layer kind": "rest (pad, add, interpolate, cat, relu6 fn, hooks)", "ms": C.ms(rest),
                 "% time": 100 * rest / total})
    rows.append({"layer kind": "total forward", "ms": C.ms(total), "% time": 100.0,
                 "GFLOP": sum(flops.values()) / 1e9, "GFLOP/s": sum(flops.values()) / total / 1e9})
    return rows, total


def main(argv=None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--matmul-size", type=int, default=4096)
    p.add_argument("--size", type=int, default=256, help="network input side (default 256)")
    p.add_argument("--cpu-clock", action="store_true",
                   help="time with process CPU time instead of wall time (diagnosis on a busy machine only)")
    p.add_argument("--no-profile", action="store_true")
    args = p.parse_args(argv)
    m = C.setup(args)

    import copy

    import torch
    from tinct.pipeline.colorizer import Colorizer

    clock = time.process_time if args.cpu_clock else time.perf_counter
    n = 1024 if args.quick else args.matmul_size
    size = 64 if args.quick else args.size
    peak = {"fp32": matmul_peak(torch.float32, n, args.repeats), "bf16": matmul_peak(torch.bfloat16, n, args.repeats)}
    print(f"\n## matmul peak ({n}×{n}, {torch.get_num_threads()} threads)\n")
    print(C.table([{"dtype": k, "GFLOP/s": v["gflops"], "ms per mm": C.ms(v["median_s"])} for k, v in peak.items()]))

    col = Colorizer.load(device="cpu")
    torch.manual_seed(0)
    l = (torch.rand(1, 1, size, size) * 100)
    net = copy.deepcopy(col.model.net).to(memory_format=torch.contiguous_format).eval()   # as trained, NCHW
    net_cl = copy.deepcopy(net).to(memory_format=torch.channels_last).eval()
    fast = col.net   # what Colorizer runs on CPU (BatchNorm folded, channels_last, unless CPU_FAST_PATHS is off)
    l_cl = l.contiguous(memory_format=torch.channels_last)
    flops = count_flops(net, l)

    def fwd(model, x, bf16=False):
        def f():
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                model(x, None)
        return f

    fns = {"fp32 NCHW (as trained)": fwd(net, l), "fp32 channels_last": fwd(net_cl, l_cl),
           "fp32 BN folded + channels_last (Colorizer)": fwd(fast, l),
           "bf16 autocast": fwd(net, l, True), "bf16 autocast channels_last": fwd(net_cl, l_cl, True),
           "bf16 autocast BN folded + channels_last": fwd(fast, l, True)}
    try:
        from tinct.export.onnx import to_onnx_bytes
        from tinct.pipeline.onnx_backend import OnnxNetwork
        ort_net = OnnxNetwork(to_onnx_bytes(col.model))
        fns["onnxruntime fp32"] = lambda: ort_net(l, None)
    except ModuleNotFoundError:
        pass
    times = C.interleaved(fns, args.repeats, warmup=2)
    rows = []
    for k, t in times.items():
        g = flops / t["median"] / 1e9
        pk = peak["bf16" if "bf16" in k else "fp32"]["gflops"]
        rows.append({"forward": k, "ms": C.ms(t["median"]), "GFLOP/s": g,
                     "% of fp32 peak": 100 * g / peak["fp32"]["gflops"],
                     "% of bf16 peak": 100 * g / peak["bf16"]["gflops"],
                     "% of own-dtype peak": 100 * g / pk})
    print(f"\n## default model forward, 1×1×{size}×{size}: {flops / 1e9:.3f} GFLOP (FlopCounterMode)\n")
    print(C.table(rows))
    best32 = max(r["% of fp32 peak"] for r in rows if "bf16" not in r["forward"])
    best16 = max(r["% of bf16 peak"] for r in rows if "bf16" in r["forward"])
    met = best32 >= 60 or best16 >= 30
    print(f"\ntarget (>= 60 % of fp32 peak or >= 30 % of bf16 peak): {'met' if met else 'NOT met'} "
          f"(best {best32:.1f} % fp32, {best16:.1f} % bf16)")
    if peak["bf16"]["gflops"] < peak["fp32"]["gflops"]:
        print(f"note: bf16 matmul peak ({peak['bf16']['gflops']:.0f} GFLOP/s) is below fp32's "
              f"({peak['fp32']['gflops']:.0f}): no bf16 speed-up on this CPU (no AMX), so the fp32 figure is the "
              "one that counts")

    # the breakdown and profile: the network as trained (NCHW, BatchNorm) and as Colorizer runs it on CPU
    breakdown, _ = layer_breakdown(net, l, args.repeats, clock)
    breakdown_fast, _ = layer_breakdown(fast, l, args.repeats, clock)
    bnet, bl, layout = fast, l, "Colorizer (BN folded, channels_last)"
    pk = peak["fp32"]["gflops"]
    for title, rows_ in (("as trained (NCHW, BatchNorm layers)", breakdown), (layout, breakdown_fast)):
        for r in rows_:
            if r.get("GFLOP/s"):
                r["% of fp32 peak"] = 100 * r["GFLOP/s"] / pk
        print(f"\n## where the fp32 forward's time goes, {title} (module hooks, {args.repeats} runs, median)\n")
        print(C.table(rows_, ["layer kind", "ms", "% time", "GFLOP", "GFLOP/s", "% of fp32 peak", "MB touched",
                              "FLOP/byte"]))

    prof_rows = []
    if not args.no_profile:
        from torch.profiler import ProfilerActivity, profile
        with torch.inference_mode():
            bnet(bl, None)
            with profile(activities=[ProfilerActivity.CPU], record_shapes=False) as prof:
                for _ in range(args.repeats):
                    bnet(bl, None)
        ka = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        tot = sum(e.self_cpu_time_total for e in ka) or 1
        for e in ka[:12]:
            prof_rows.append({"operator": e.key, "self CPU ms / forward": e.self_cpu_time_total / 1e3 / args.repeats,
                              "% self CPU": 100 * e.self_cpu_time_total / tot, "calls / forward": e.count // args.repeats})
        print(f"\n## torch.profiler: top operators, fp32 forward, {layout} (self CPU time)\n")
        print(C.table(prof_rows))

    C.write_json(args.json, {"benchmark": "hardware", "machine": m, "quick": args.quick, "repeats": args.repeats,
                             "peak": peak, "flops": flops, "size": size, "forward": rows, "target_met": met,
                             "breakdown_as_trained": breakdown, "breakdown_colorizer": breakdown_fast,
                             "profiler": prof_rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
