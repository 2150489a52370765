"""End-to-end inference speed of the shipped model, as ratios to one forward pass of the paper's network.

Reference (measured in this process, round-robin with the main figure): ``ClassicColorizer(width=1.0)``
(random init, eval, ``torch.inference_mode``), one forward pass on a 1x1x256x256 input. Figures:

1. ``Colorizer.colorize`` (``--precision``, default auto) of a 512x512 JPEG *file path* -> PNG and JPEG bytes with tinct's encoders (decode, network,
   upsample, recombine, encode). Target: <= 1/8 of the reference.
2. Per-image time at 256x256, 1024x1024, 4000x3000 and 6000x4000 (colorize; + PNG; + JPEG q95), full resolution.
3. Batch throughput: a folder of 50 512x512 JPEGs through the CLI (``tinct colorize DIR -o OUT``, one process,
   start-up included) and through the Python API (model loaded once).

Test photos are black-and-white wallpapers from the shared data folder resized (synthetic if absent).

    python benchmarks/bench_inference.py [--json out.json] [--repeats 5] [--skip-large] [--batch-images 50]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

SIZES = [(256, 256), (1024, 1024), (4000, 3000), (6000, 4000)]


def encode(img, fmt: str) -> bytes:
    """tinct's own encoder settings (pipeline/output.py: PNG zlib level 1, JPEG q95 4:2:0)."""
    from tinct.files.write import encode_bytes
    return encode_bytes(img, fmt)


def main(argv=None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--skip-large", action="store_true", help="skip 4000x3000 and 6000x4000")
    p.add_argument("--batch-images", type=int, default=50, help="images in the throughput folder (default 50)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="the Colorizer's precision (default auto, as the CLI)")
    p.add_argument("--batch-repeats", type=int, default=None, help="repeats of the folder run (default --repeats)")
    args = p.parse_args(argv)
    m = C.setup(args)

    import torch
    from tinct.color import bin_centres
    from tinct.model import ClassicColorizer
    from tinct.pipeline.colorizer import Colorizer

    torch.manual_seed(0)
    classic = ClassicColorizer(len(bin_centres("gamut")), width=1.0).eval()
    ref_side = 64 if args.quick else 256
    x_ref = torch.rand(1, 1, ref_side, ref_side) * 100

    def ref_fwd():
        with torch.inference_mode():
            classic(x_ref)

    col = Colorizer.load(device="cpu", precision=args.precision)
    print(f"# precision {args.precision}: {col.precision_record}")
    main_side = 128 if args.quick else 512
    sizes = [(64, 64), (256, 192)] if args.quick else SIZES[:2] if args.skip_large else SIZES
    n_batch = 4 if args.quick else args.batch_images
    results: dict = {"benchmark": "inference", "machine": m, "quick": args.quick, "repeats": args.repeats,
                     "precision": col.precision_record}

    with tempfile.TemporaryDirectory(prefix="tinct-bench-") as d:
        d = Path(d)
        main_photo = C.make_photo(d / f"{main_side}.jpg", main_side, main_side)

        # 1. the headline ratio
        fig = C.interleaved({
            "reference": ref_fwd,
            "colorize": lambda: col.colorize(main_photo),
            "colorize+png": lambda: encode(col.colorize(main_photo), "PNG"),
            "colorize+jpeg": lambda: encode(col.colorize(main_photo), "JPEG"),
        }, args.repeats, warmup=2)
        ref = fig["reference"]["median"]
        rows1 = [{"what": f"ClassicColorizer(width=1.0) forward {ref_side}² (reference)", "ms": C.ms(ref), "× ref": 1.0}]
        for k, label in (("colorize", "→ PIL image"), ("colorize+png", "→ PNG bytes"),
                         ("colorize+jpeg", "→ JPEG q95 bytes")):
            rows1.append({"what": f"default model: colorize {main_side}² JPEG path {label}",
                          "ms": C.ms(fig[k]["median"]), "× ref": fig[k]["median"] / ref})
        print("\n## end-to-end vs reference (target ≤ 0.125 × ref)\n")
        print(C.table(rows1))
        results["headline"] = {"rows": rows1, "raw": fig}

        # 2. per-image sizes
        rows2 = []
        ref_before = C.timeit(ref_fwd, args.repeats, warmup=1)["median"]
        for w, h in sizes:
            photo = C.make_photo(d / f"{w}x{h}.jpg", w, h)
            times = {"colorize": [], "png": [], "jpeg": []}
            big = w * h > 4e6
            reps = args.repeats
            for i in range(reps + 1):  # first one is warm-up
                t0 = time.perf_counter()
                out = col.colorize(photo)
                t1 = time.perf_counter()
                encode(out, "PNG")
                t2 = time.perf_counter()
                encode(out, "JPEG")
                t3 = time.perf_counter()
                del out
                if i:
                    times["colorize"].append(t1 - t0)
                    times["png"].append(t2 - t0)
                    times["jpeg"].append((t1 - t0) + (t3 - t2))
            med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
            rows2.append({"image": f"{w}×{h}", "MP": w * h / 1e6, "colorize ms": C.ms(med["colorize"]),
                          "+PNG ms": C.ms(med["png"]), "+JPEG ms": C.ms(med["jpeg"]),
                          "ns/pixel (+PNG)": med["png"] / (w * h) * 1e9, "_big": big})
            photo.unlink()
        ref_after = C.timeit(ref_fwd, args.repeats, warmup=1)["median"]
        ref2 = (ref_before + ref_after) / 2
        for r in rows2:
            r.pop("_big")
            r["colorize × ref"] = r["colorize ms"] / C.ms(ref2)
            r["+PNG × ref"] = r["+PNG ms"] / C.ms(ref2)
        print(f"\n## per image, full resolution (reference {C.ms(ref2):.1f} ms: before {C.ms(ref_before):.1f}, "
              f"after {C.ms(ref_after):.1f})\n")
        print(C.table(rows2))
        results["sizes"] = {"rows": rows2, "reference_s": {"before": ref_before, "after": ref_after}}

        # 3. folder throughput
        src = d / "folder"
        src.mkdir()
        wallpapers = sorted((C.SHARED_DATA / "wallpapers").glob("*.jpg")) or [None]
        for i in range(n_batch):
            C.make_photo(src / f"img_{i:03d}.jpg", main_side, main_side, source=wallpapers[i % len(wallpapers)])
        tinct_exe = shutil.which("tinct") or str(Path(sys.executable).with_name("tinct"))
        cmd = [tinct_exe, "colorize", str(src), "-o"]
        how = "CLI: tinct colorize DIR -o OUT"
        brep = args.batch_repeats or args.repeats
        runs = []
        for i in range(brep + 1):
            out = d / f"out{i}"
            t0 = time.perf_counter()
            r = subprocess.run(cmd + [str(out)], capture_output=True, text=True, env={**os.environ})
            dt = time.perf_counter() - t0
            if r.returncode != 0:
                print(f"# folder run failed ({r.returncode}): {r.stderr.strip()[-500:]}")
                break
            made = sum(1 for _ in out.iterdir()) if out.exists() else 0
            shutil.rmtree(out, ignore_errors=True)
            if i:
                runs.append(dt)
        api_out = d / "api_out"
        api_out.mkdir()
        files = sorted(src.glob("*.jpg"))

        def api_folder():
            for f in files:
                col.colorize(f).save(api_out / (f.stem + ".png"))
        api = C.timeit(api_folder, brep, warmup=1)
        ref3 = C.timeit(ref_fwd, args.repeats, warmup=1)["median"]
        rows3 = []
        if runs:
            med = sorted(runs)[len(runs) // 2]
            rows3.append({"how": how, "images": n_batch, "outputs": made, "total s": med,
                          "images/s": n_batch / med, "ms/image": C.ms(med / n_batch),
                          "ms/image × ref": med / n_batch / ref3})
        rows3.append({"how": "in-process API, model loaded once, → PNG files", "images": n_batch,
                      "outputs": n_batch, "total s": api["median"], "images/s": n_batch / api["median"],
                      "ms/image": C.ms(api["median"] / n_batch), "ms/image × ref": api["median"] / n_batch / ref3})
        print(f"\n## folder of {n_batch} {main_side}² JPEGs (reference {C.ms(ref3):.1f} ms)\n")
        print(C.table(rows3))
        results["folder"] = {"rows": rows3, "reference_s": ref3}

    C.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
