"""Video benchmarks: throughput (end to end), peak RSS over a long clip, and stability on synthetic clips.

    python benchmarks/bench_video.py report                              # 640x360 stabilised frames/s end to end
                                                                          # + flicker / accuracy on the quality clips
    python benchmarks/bench_video.py speed --frames 24 --rounds 2        # 640x360: stabilised vs per-frame, A,B,A,B
    python benchmarks/bench_video.py rss --frames 120 --size 1920x1080   # RSS after every frame (flat = bounded)
    python benchmarks/bench_video.py quality --strip docs/video_strip.png # flicker / AuC / PSNR table + a strip
    python benchmarks/bench_video.py clips --out /tmp/clips               # the quality clips as .mp4 files, for
    tinct evaluate-video /tmp/clips/*.mp4                                 # ... the same table from the CLI
    python benchmarks/bench_video.py strip --clip examples/video/bbb_640x360_8s.mp4 --strip docs/video_strip_bbb.jpg

Clips are made from the wallpapers in examples/ (pan, zoom, shake; hard cuts between stills).
"""
from __future__ import annotations

import argparse
import glob
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tinct import Colorizer  # noqa: E402
from tinct.video import colorize_frames, colorize_video  # noqa: E402
from tinct.video.evaluate import evaluate_clip, table  # noqa: E402
from tinct.video.synthetic import MOTIONS, clip, motion_frames, write_clip  # noqa: E402


def stills():
    return [Image.open(p).convert("RGB") for p in sorted(glob.glob(str(REPO / "examples" / "debwall_*.jpg")))]


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def speed(args, c):
    w, h = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in.mp4"
        write_clip(src, clip(stills()[:2], args.frames // 2, (w, h)), rate=24, audio=True, pix_fmt="yuv420p", crf=20)
        times = {0.0: [], args.stability: []}
        colorize_video(c, src, Path(d) / "warm.mp4", stability=args.stability, max_frames=3)
        for r in range(args.rounds):
            for s in times:
                t = time.perf_counter()
                colorize_video(c, src, Path(d) / f"out_{r}_{s}.mp4", stability=s)
                times[s].append(time.perf_counter() - t)
    res = {f"s={s:g}": {"fps": [round(args.frames / t, 2) for t in ts], "best_fps": round(args.frames / min(ts), 2)}
           for s, ts in times.items()}
    res["ratio_stabilised_over_per_frame_time"] = round(min(times[args.stability]) / min(times[0.0]), 3)
    print(json.dumps({"size": args.size, "frames": args.frames, **res}, indent=1))


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def end_to_end(args, c) -> dict:
    """A 640x360 (``--size``) clip with audio, colorized file to file (decode, network, flow and smoothing,
    recombine, encode) at ``--stability``: best and median frames/s over ``--rounds`` and process CPU
    seconds per frame (all threads: user + sys)."""
    w, h = map(int, args.size.split("x"))
    fps, cpu = [], []
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in.mp4"
        write_clip(src, clip(stills()[:2], args.frames // 2, (w, h)), rate=24, audio=True, pix_fmt="yuv420p", crf=20)
        colorize_video(c, src, Path(d) / "warm.mp4", stability=args.stability, max_frames=3)
        for r in range(args.rounds):
            c0, t = cpu_seconds(), time.perf_counter()
            n = colorize_video(c, src, Path(d) / f"out_{r}.mp4", stability=args.stability)["frames"]
            fps.append(n / (time.perf_counter() - t))
            cpu.append((cpu_seconds() - c0) / n)
    return {"size": args.size, "frames": args.frames, "stability": args.stability, "precision": c.precision,
            "fps_best": round(max(fps), 2), "fps_median": round(float(np.median(fps)), 2),
            "cpu_s_per_frame": round(float(np.median(cpu)), 4)}


def report(args, c):
    """Speed end to end at 640x360, then flicker and accuracy on the quality clips (``--quality-size``)."""
    speed_res = end_to_end(args, c)
    print(json.dumps({"speed": speed_res}, indent=1), flush=True)
    args.size, args.frames = args.quality_size, args.quality_frames
    out = {}
    for name, fn in quality_clips(args).items():
        res = evaluate_clip(c, fn, stabilities=(0.0, args.stability))
        out[name] = {k: {m: round(v[m], 3) for m in ("auc", "auc_rebalanced", "psnr", "flicker_excess")}
                     for k, v in res.items() if k != "grey"}
        print(f"{name}\n{table(res)}\n", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"speed": speed_res, "quality": out}, indent=1))


def rss(args, c):
    w, h = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "long.mp4"
        frames = (f for k in range(10 ** 6) for f in motion_frames(stills()[k % 2], MOTIONS[k % 3], 30, (w, h), k))
        write_clip(src, (f for _, f in zip(range(args.frames), frames)), rate=24, pix_fmt="yuv420p", crf=28)
        trace = []

        class Bar:
            def update(self, n):
                trace.append(rss_mb())
        t = time.perf_counter()
        colorize_video(c, src, Path(d) / "out.mp4", stability=args.stability, progress=lambda total: Bar())
        dt = time.perf_counter() - t
    q = len(trace) // 4
    print(json.dumps({"size": args.size, "frames": len(trace), "seconds": round(dt, 1),
                      "rss_mb_after_frame": {str(i + 1): round(trace[i], 1) for i in (0, q, 2 * q, 3 * q, len(trace) - 1)},
                      "peak_rss_mb": round(max(trace), 1)}, indent=1))


def quality_clips(args) -> dict:
    """name -> a factory of frame iterators: pan, zoom, shake of one still; three stills with hard cuts."""
    ims = stills()
    w, h = map(int, args.size.split("x"))
    clips = {m: (lambda m=m: motion_frames(ims[0], m, args.frames, (w, h), 1)) for m in MOTIONS}
    clips["cuts"] = lambda: clip(ims[1:4], args.frames // 3, (w, h), 2)
    return clips


def write_clips(args, c):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, fn in quality_clips(args).items():
        n = write_clip(out / f"{name}.mp4", fn(), rate=12, pix_fmt="yuv444p", crf=10)
        print(f"wrote {out / name}.mp4 ({n} frames)")


def quality(args, c):
    clips = quality_clips(args)
    out = {}
    for name, fn in clips.items():
        out[name] = evaluate_clip(c, fn, stabilities=(0.0, args.stability))
        print(f"{name}\n{table(out[name])}\n", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    if args.strip:
        make_strip(c, clips["zoom"], args.stability, args.strip)


def make_strip(c, frames_fn, s, path, every=3, n=6, width=None):
    """Rows: truth | per-frame | stabilised, every ``every``-th frame (thumbnails ``width`` pixels wide)."""
    def pick(it):
        out = []
        for i, f in enumerate(it):
            if i % every == 0:
                im = Image.fromarray(f)
                out.append(np.asarray(im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
                                      if width else im))
            if len(out) == n:
                break
        return out
    rows = [pick(frames_fn()), pick(colorize_frames(c, frames_fn(), stability=0.0)),
            pick(colorize_frames(c, frames_fn(), stability=s))]
    h, w = rows[0][0].shape[:2]
    sheet = np.full((3 * h + 8, len(rows[0]) * (w + 4), 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for k, f in enumerate(row):
            sheet[r * (h + 4):r * (h + 4) + h, k * (w + 4):k * (w + 4) + w] = f
    Image.fromarray(sheet).save(path)
    print(f"wrote {path}")


def strip(args, c):
    from tinct.video.evaluate import video_frames
    make_strip(c, video_frames(args.clip), args.stability, args.strip, args.every, args.count, 240)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("report", "speed", "rss", "quality", "clips", "strip"))
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--size", default=None, help="WxH (speed: 640x360, rss: 1920x1080, quality: 160x96)")
    ap.add_argument("--stability", type=float, default=0.6)
    ap.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                    help="network precision (default auto, as tinct colorize)")
    ap.add_argument("--quality-size", default="160x96", help="report: WxH of the quality clips")
    ap.add_argument("--quality-frames", type=int, default=24, help="report: frames of each quality clip")
    ap.add_argument("--json", default=None)
    ap.add_argument("--strip", default=None)
    ap.add_argument("--out", default="video_clips", help="clips: folder for the .mp4 files")
    ap.add_argument("--clip", default=None, help="strip: the video file")
    ap.add_argument("--every", type=int, default=16, help="strip: every N-th frame")
    ap.add_argument("--count", type=int, default=6, help="strip: how many frames")
    args = ap.parse_args()
    args.size = args.size or {"speed": "640x360", "report": "640x360", "rss": "1920x1080"}.get(args.what, "160x96")
    if args.what == "report":
        args.rounds = max(args.rounds, 3)
        args.frames = max(args.frames, 48)
    c = None if args.what == "clips" else Colorizer.load(device="cpu", precision=args.precision)
    {"report": report, "speed": speed, "rss": rss, "quality": quality, "clips": write_clips,
     "strip": strip}[args.what](args, c)


if __name__ == "__main__":
    main()
