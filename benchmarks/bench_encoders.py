"""Output encoders: file size and encode time of PNG zlib levels 1-9, WebP methods and JPEG subsampling.

Every shared wallpaper (../shared/data/wallpapers, colour photos, 25 files, 2.5 MP in all) is encoded with each
setting; a setting's time is the median over ``--repeats`` passes of the total over all wallpapers, passes
interleaved across settings (A B C ... A B C ...). Sizes are totals in bytes. Reference: Pillow's defaults
(PNG level 6; WebP method 4; JPEG q95 4:2:0), measured in the same run.

    python benchmarks/bench_encoders.py [--repeats 5] [--json out.json]
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

SETTINGS = ([(f"PNG level {k}", "PNG", {"compress_level": k}) for k in range(1, 10)]
            + [(f"WebP q95 method {m}", "WEBP", {"quality": 95, "method": m}) for m in (0, 2, 4, 6)]
            + [("JPEG q95 4:2:0", "JPEG", {"quality": 95, "subsampling": 2}),
               ("JPEG q95 4:4:4", "JPEG", {"quality": 95, "subsampling": 0})])
REFERENCE = {"PNG": "PNG level 6", "WEBP": "WebP q95 method 4", "JPEG": "JPEG q95 4:2:0"}


def main(argv=None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    args = p.parse_args(argv)
    m = C.setup(args)
    from PIL import Image
    files = sorted((C.SHARED_DATA / "wallpapers").glob("*.jpg"))[: 3 if args.quick else None]
    images = [Image.open(f).convert("RGB") for f in files]
    for im in images:
        im.load()
    mp = sum(im.width * im.height for im in images) / 1e6
    sizes: dict = {}

    def run(name, fmt, kw):
        total = 0
        for im in images:
            b = io.BytesIO()
            im.save(b, fmt, **kw)
            total += b.tell()
        sizes[name] = total
    times = C.interleaved({name: (lambda n=name, f=fmt, k=kw: run(n, f, k)) for name, fmt, kw in SETTINGS},
                          args.repeats, warmup=1)
    rows = []
    for name, fmt, _ in SETTINGS:
        ref = REFERENCE[fmt]
        t = times[name]["median"]
        rows.append({"setting": name, "MB": sizes[name] / 1e6, "size × ref": sizes[name] / sizes[ref],
                     "ms total": C.ms(t), "ms/MP": C.ms(t) / mp, "time × ref": t / times[ref]["median"]})
    print(f"\n## {len(images)} wallpapers, {mp:.2f} MP (reference: Pillow's default for the format)\n")
    print(C.table(rows))
    C.write_json(args.json, {"benchmark": "encoders", "machine": m, "megapixels": mp, "rows": rows, "raw": times})
    return 0


if __name__ == "__main__":
    sys.exit(main())
