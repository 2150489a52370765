"""ONNX export of the shipped model: export time, file size, load times, speed and accuracy vs PyTorch.

Rows: ``tinct export --onnx`` work in-process (export + ``onnx.checker``), the file's size, creating an ONNX Runtime
session from the file, ``Colorizer.load(FILE, backend="onnxruntime")`` vs ``Colorizer.load()`` (torch), then
``colorize`` of a 512x512 JPEG with each backend (round-robin; ratio to torch), the max |delta ab| / max |delta
RGB| between the two backends on real photos from the shared data folder (2 old photos, 2 wallpapers), and whole
``tinct colorize FOLDER`` processes (a folder of 512x512 JPEGs) with ``--backend torch``, ``--backend onnxruntime
--model FILE.onnx`` and ``--backend onnxruntime`` (shipped .safetensors, exported at start-up), round-robin.

    python benchmarks/bench_onnx.py [--json out.json] [--repeats 7]
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def main(argv=None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--opset", type=int, default=None)
    args = p.parse_args(argv)
    m = C.setup(args)

    import numpy as np
    from tinct.export.onnx import DEFAULT_OPSET, export_onnx
    from tinct.model import load_model_file
    from tinct.pipeline.colorizer import Colorizer, shipped_model_path
    from tinct.pipeline.onnx_backend import OnnxNetwork

    opset = args.opset or DEFAULT_OPSET
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinct-onnx-") as d:
        d = Path(d)
        loaded = load_model_file(shipped_model_path())
        f = d / "default.onnx"
        t0 = time.perf_counter()
        export_onnx(loaded, f, opset)
        rows.append({"what": f"export + onnx.checker (opset {opset})", "value": time.perf_counter() - t0, "unit": "s"})
        rows.append({"what": "ONNX file size (weights + tinct.* metadata)", "value": f.stat().st_size / 1e6,
                     "unit": "MB"})
        rows.append({"what": "safetensors model file size", "value": shipped_model_path().stat().st_size / 1e6,
                     "unit": "MB"})
        t = C.timeit(lambda: OnnxNetwork(f), args.repeats, warmup=1)
        rows.append({"what": "ONNX Runtime session from the file", "value": C.ms(t["median"]), "unit": "ms"})
        t = C.timeit(lambda: Colorizer.load(f, backend="onnxruntime"), args.repeats, warmup=1)
        rows.append({"what": "Colorizer.load(FILE.onnx, backend='onnxruntime')", "value": C.ms(t["median"]),
                     "unit": "ms"})
        t = C.timeit(lambda: Colorizer.load(device="cpu"), args.repeats, warmup=1)
        rows.append({"what": "Colorizer.load() (torch, shipped model)", "value": C.ms(t["median"]), "unit": "ms"})

        ct = Colorizer.load(device="cpu")
        co = Colorizer.load(f, backend="onnxruntime")
        side = 128 if args.quick else 512
        photo = C.make_photo(d / "p.jpg", side, side)
        sp = C.interleaved({"torch": lambda: ct.colorize(photo), "onnxruntime": lambda: co.colorize(photo)},
                           args.repeats, warmup=2)
        rows.append({"what": f"colorize {side}² JPEG, torch backend (CPU default)", "value": C.ms(sp["torch"]["median"]),
                     "unit": "ms"})
        rows.append({"what": f"colorize {side}² JPEG, onnxruntime backend",
                     "value": C.ms(sp["onnxruntime"]["median"]), "unit": "ms",
                     "× torch": sp["onnxruntime"]["median"] / sp["torch"]["median"]})

        photos = [q for q in sorted((C.SHARED_DATA / "oldphotos").glob("*.jpg"))[:2]
                  + sorted((C.SHARED_DATA / "wallpapers").glob("*.jpg"))[:2]]
        dab, drgb = 0.0, 0
        for q in photos:
            rgb, _ = ct._read(q)
            opts = ct.options()
            a = ct.predict_ab([rgb], [[]], opts)[0]
            b = co.predict_ab([rgb], [[]], opts)[0]
            dab = max(dab, float((a - b).abs().max()))
            x = np.asarray(ct.colorize(q), dtype=np.int16)
            y = np.asarray(co.colorize(q), dtype=np.int16)
            drgb = max(drgb, int(np.abs(x - y).max()))
        if photos:
            rows.append({"what": f"max Δab torch vs onnxruntime, {len(photos)} real photos (network grid)",
                         "value": dab, "unit": "CIELAB"})
            rows.append({"what": "max ΔRGB of the final images, same photos", "value": float(drgb),
                         "unit": "8-bit levels"})
        rows += cli_folder_rows(d, f, 4 if args.quick else 24, side, args.repeats)
    print(C.table(rows, ["what", "value", "unit", "× torch"]))
    C.write_json(args.json, {"benchmark": "onnx", "machine": m, "quick": args.quick, "opset": opset, "rows": rows})
    return 0


def cli_folder_rows(d: Path, onnx_file: Path, n: int, side: int, repeats: int) -> list[dict]:
    """Whole ``tinct colorize FOLDER -o OUT`` processes (start-up, model load, n photos), round-robin."""
    src = d / "folder"
    src.mkdir()
    for i in range(n):
        C.make_photo(src / f"p{i:03d}.jpg", side, side)
    tinct = [sys.executable, "-m", "tinct.cli.main", "colorize", str(src), "-q", "--overwrite"]
    variants = {"torch": ["--backend", "torch"],
                "onnxruntime, .onnx file": ["--backend", "onnxruntime", "--model", str(onnx_file)],
                "onnxruntime, .safetensors (exported at start-up)": ["--backend", "onnxruntime"]}

    def run(extra):
        out = d / "out"
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(tinct + ["-o", str(out)] + extra, check=True)

    t = C.interleaved({k: (lambda e=e: run(e)) for k, e in variants.items()}, max(3, repeats // 2), warmup=1)
    ref = t["torch"]["median"]
    return [{"what": f"tinct colorize of a folder of {n} {side}² JPEGs, --backend {k}", "value": v["median"],
             "unit": "s", "× torch": v["median"] / ref} for k, v in t.items()]


if __name__ == "__main__":
    sys.exit(main())
