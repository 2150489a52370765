"""Cut the committed real clip from its source (see SOURCES.tsv beside this file):

    python examples/video/cut_clip.py video.mp4 examples/video/bbb_640x360_8s.mp4 --start 9 --seconds 8

Frames with ``start <= t < start + seconds`` are resized to 640x360 (Lanczos) and encoded as H.264
(yuv420p, crf 23) at the source's frame rate, without audio.
"""
import argparse
import sys
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from tinct.video.synthetic import write_clip  # noqa: E402


def frames(src, start, seconds, size):
    with av.open(str(src)) as c:
        for f in c.decode(video=0):
            t = float(f.pts * f.time_base)
            if start <= t < start + seconds:
                yield np.asarray(f.to_image().resize(size, Image.LANCZOS))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--start", type=float, default=9.0)
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args()
    with av.open(args.src) as c:
        rate = c.streams.video[0].average_rate
    n = write_clip(args.dst, frames(args.src, args.start, args.seconds, (640, 360)), rate=rate, pix_fmt="yuv420p",
                   crf=23)
    print(f"wrote {args.dst}: {n} frames at {rate} fps")


if __name__ == "__main__":
    main()
