"""``tinct colorize INPUT... [-o OUT]``: colorize photos, folders of photos, or stdin to stdout."""
from __future__ import annotations

import argparse
import sys
import warnings

from ..files.jobs import cause, read_source, show, write_result
from .args import number, parsed
from .colorize_batch import Batch
from .reference_args import add_reference_arguments, check_reference

DEVICES = ("auto", "cpu", "cuda", "mps")
BACKENDS = ("torch", "onnxruntime")
EXTS = ("same", "png", "jpg", "webp")
PRECISIONS = ("auto", "fp32", "bf16")
DEFAULT_BATCH = 8   # photos of the same network input shape per forward
UPSAMPLE_METHODS = ("bilinear", "joint", "guided")   # pipeline/upsample.py METHODS (kept light: no torch import)

DESCRIPTION = "Colorize black-and-white photos: files, folders (-r to recurse), or - for stdin to stdout."
EPILOG = """\
outputs:
  Each output keeps its input's name (stem). Without -o it is written next to the input as
  <stem>_color.<ext>; with -o FOLDER as FOLDER/<stem>.<ext> (subfolders mirrored with -r; the folder
  is created if missing); with -o FILE (one input only) exactly there, in the format of its extension.
  --ext same keeps the input's format when it can hold the result (JPEG, PNG, WebP, TIFF, BMP) and
  otherwise writes PNG (e.g. for GIF, PPM/PGM or files with an unknown extension).
  An input (also through a symlink, '..' or a file:// URL) is never written over, even with --overwrite
  (that input fails, the rest go on); two inputs with one output fail, naming both; any other existing
  file is replaced only with --overwrite; --skip-existing skips inputs whose output exists.
  Files are written under a temporary hidden name (.tinct-<pid>-<random>.part) and renamed when
  complete: an interrupted run leaves no partial outputs (stale temporary files are removed by the
  next run writing to the same folder).

images:
  The result has the input's size and lightness, upright (EXIF orientation applied; no orientation
  tag is written; other EXIF kept for JPEG/PNG/WebP) and keeps the input's transparency. JPEG output
  has quality 95 and 4:2:0 chroma subsampling, PNG zlib level 1, WebP quality 95 method 2 (README);
  JPEG cannot store transparency, so a transparent input written as JPEG (--ext jpg
  or -o x.jpg) is flattened onto white - use png or webp to keep it. Animated GIFs and multi-page
  TIFFs: only the first frame is colorized. Grey, colour (recoloured from its lightness), palette,
  16-bit and CMYK inputs all work; images over --max-pixels are refused before decoding.

exit status: 0 if every input succeeded (or was skipped), 1 if any failed (one line each on stderr:
  "tinct: <file>: <cause>"), 2 for usage errors (bad options, a model that cannot be loaded, a URL
  scheme tinct does not support, a --frame-hint on a photo or on a frame the input does not have, a
  --hint outside an image: that image fails, the rest go on).
"""


def add_parser(sub):
    from ..files.read import DEFAULT_MAX_PIXELS
    from ..files.urls import out_arg
    p = sub.add_parser("colorize", help="colorize photos, folders of photos, or stdin to stdout",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, or - (stdin to stdout)")
    p.add_argument("-o", "--out", type=out_arg, metavar="OUT",
                   help="output folder (created if missing) or, for a single input, output file; with --ray a URL")
    p.add_argument("-r", "--recursive", action="store_true", help="also colorize images in subfolders")
    p.add_argument("--ext", choices=EXTS, default="same", help="output format (default: same as the input)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--overwrite", action="store_true", help="replace existing output files")
    g.add_argument("--skip-existing", action="store_true", help="skip inputs whose output already exists")
    p.add_argument("--decode", choices=_decodes(), default=None,
                   help="how colours are chosen from the predicted distribution (default: the model's)")
    p.add_argument("--temperature", type=_temperature, default=None, metavar="T",
                   help="annealed-mean temperature in [0.01, 10]: lower is more vivid (default: the model's)")
    p.add_argument("--size", type=_size, default=None, metavar="N",
                   help="side of the network's input in pixels, 32-8192 (default: the model's)")
    p.add_argument("--model", default=None, metavar="NAME|PATH",
                   help="'default' (the recommended shipped model), 'v1' (the first release), 'v3' (opt-in: natural skin on portraits and people, less yellow cast; a little behind v2 on scenes), a .safetensors file or a run folder")
    p.add_argument("--device", choices=DEVICES, default="auto", help="where to run the network (default: auto)")
    p.add_argument("--backend", choices=BACKENDS, default="torch",
                   help="network runtime: torch (default) or onnxruntime (CPU only, needs tinct[onnx]; about 0.9x "
                        "the time per photo, but a .safetensors model is first exported, ~0.6 s: pass a .onnx file "
                        "from 'tinct export --onnx' to skip that; BENCHMARKS.md)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="network precision: auto (default: bf16 where a one-off measurement, cached per machine and "
                        "model, finds it faster and within ab 2 of fp32's colour; else fp32), fp32 or bf16")
    p.add_argument("--batch", type=_positive_int, default=DEFAULT_BATCH, metavar="N",
                   help=f"photos of the same network input shape per forward pass (default {DEFAULT_BATCH})")
    p.add_argument("--upsample", choices=UPSAMPLE_METHODS, default=None,
                   help="how colour reaches full resolution: bilinear (default, fastest), joint (joint bilateral: "
                        "colour stops at the photo's edges, no fringes; ~10x bilinear's upsampling time) or guided "
                        "(guided filter: sharper, can fringe) - BENCHMARKS.md 'Edge-aware upsampling'")
    p.add_argument("--hint", dest="hints", action="append", type=_hint, default=[], metavar="X,Y,#RRGGBB[,RADIUS]",
                   help="colour hint at pixel X,Y of the (upright) input, radius in pixels; repeatable; "
                        "applied to every input")
    p.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS, metavar="N",
                   help=f"refuse images with more pixels (default {DEFAULT_MAX_PIXELS})")
    add_reference_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    from .colorize_video import add_video_arguments
    add_video_arguments(p)
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="spread the work over a Ray cluster (needs tinct[cluster]): auto, ray://HOST:PORT, or none "
                        "for a local Ray on this machine; the inputs and -o may then also be fsspec URLs (s3://, gs://, "
                        "file://...; needs their backend, e.g. s3fs); failures also go to tinct-failures.tsv (README)")
    return p


# --- argument types ------------------------------------------------------------------------------------
def _decodes():
    from ..color import DECODES
    return DECODES


@parsed
def _temperature(text):
    from ..pipeline import checks
    return checks.temperature(number(text))


@parsed
def _positive_int(text):
    return number(text, int, lo=1)


@parsed
def _size(text):
    from ..pipeline import checks
    return checks.size(number(text, int, lo=1))


@parsed
def _hint(text):
    from ..pipeline.hints import parse_hint_arg
    return parse_hint_arg(text)


# --- work -----------------------------------------------------------------------------------------------
def load_colorizer(model, device: str, max_pixels: int, backend: str = "torch"):
    """The one place the CLI loads a model (tests replace it to share one loaded model)."""
    from ..pipeline.colorizer import Colorizer
    return Colorizer.load(model, device=device, max_pixels=max_pixels, backend=backend)


def options_of(args):
    """The typed options of a run (files.options.ColorizeOptions) from its parsed command line: the only place
    the namespace is read."""
    from ..files.options import ColorizeOptions
    return ColorizeOptions.of(args)


def run(args) -> int:
    from ..cluster.start import refuse
    from ..files.plan import UsageError, plan
    if (rc := check_reference(args, sys.stderr)) is not None:   # read once, before anything is loaded or written
        return rc
    opts = options_of(args)
    if (rc := refuse(opts)) is not None:   # URLs without --ray, --ray without Ray, unusable URLs
        return rc
    try:
        p = plan(opts)
    except UsageError as e:
        print(f"tinct: {e}", file=sys.stderr)
        return 2
    rc, failures = 0, []
    if p.of_kind("video", "sequence"):
        from .colorize_video import run_videos
        rc, failures = run_videos(p.of_kind("video", "sequence"), opts, lambda: _load(opts))
    photos = p.of_kind("photo", "url")
    if photos or p.errors or p.skipped:
        batch = Batch(opts.quiet, len(photos) + len(p.errors) + p.skipped)
        try:
            rc = max(rc, _run_photos(photos, p, opts, batch))
        finally:
            batch.bar.close()
        failures += batch.failures
    if opts.ray is not None and (failures or rc == 0):   # whenever anything failed, also at planning
        from ..cluster.job import report
        report(opts.out, failures)
    return rc


def _run_photos(jobs: list, p, opts, batch: Batch) -> int:
    """The photo jobs (local files or URLs) and the inputs that failed at planning -> the exit status."""
    from PIL import Image

    from ..files.plan import precheck
    from ..files.write import clean_stale_temps
    if any(j.out is None for j in jobs) and sys.stdout.isatty():
        print("tinct: refusing to write image data to a terminal; redirect stdout or give -o FILE", file=sys.stderr)
        return 2
    for name, why in p.errors:
        batch.fail(name, why)
    for _ in range(p.skipped):
        batch.ok(skipped=True)
    todo = []
    cleaned: set = set()
    for job in jobs:
        if job.kind == "url":
            todo.append(job)   # checked at planning, from the output folders' listings
            continue
        if job.out is not None and job.out.parent not in cleaned:
            cleaned.add(job.out.parent)
            clean_stale_temps(job.out.parent)  # left by a killed run
        why = precheck(job, opts)
        if why == "skip":
            batch.ok(skipped=True)
        elif why:
            batch.fail(job.name, why)
        else:
            todo.append(job)

    old_limit = Image.MAX_IMAGE_PIXELS
    try:
        # open_image enforces --max-pixels itself, with a clearer message than Pillow's own bomb check
        Image.MAX_IMAGE_PIXELS = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decoders warn about odd metadata; stderr is one line per failed input
            if todo and opts.ray is not None:
                if _run_on_ray(todo, opts, batch):
                    return 2
            elif todo:
                colorizer = _load(opts)
                if colorizer is None:
                    return 2
                _process(todo, colorizer, opts, batch)
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
        batch.bar.close()
    return batch.finish(len(jobs) + len(p.errors) + p.skipped)


def _run_on_ray(todo: list, opts, batch) -> int:
    """The planned jobs on Ray: URL jobs through cluster.start, local files through cluster.job."""
    from ..cluster.job import check_model, run_on_ray
    from ..cluster.start import run_urls
    if todo[0].kind == "url":
        return run_urls(todo, opts, batch, lambda: _load(opts))
    if not check_model(opts, lambda: _load(opts)):
        return 2
    return run_on_ray(todo, opts, batch)


def _load(opts):
    import torch

    from ..device import mps_available
    if opts.backend == "onnxruntime" and opts.device not in ("auto", "cpu"):
        print(f"tinct: --backend onnxruntime runs on the CPU; it cannot use --device {opts.device}", file=sys.stderr)
        return None
    if opts.device == "cuda" and not torch.cuda.is_available():
        print("tinct: --device cuda: no CUDA device is available", file=sys.stderr)
        return None
    if opts.device == "mps" and not mps_available():
        print("tinct: --device mps: no MPS device is available", file=sys.stderr)
        return None
    try:
        colorizer = load_colorizer(opts.model, opts.device, opts.max_pixels, opts.backend)
        colorizer.upsample = opts.upsample or colorizer.upsample
    except Exception as e:
        if isinstance(e, FileNotFoundError) and not e.strerror and str(e):
            msg = show(str(e).splitlines()[0])  # resolve_model_path's own message names the model
        else:
            msg = f"cannot load model {show(opts.model or 'default')}: {cause(e)}"
        print(f"tinct: {msg}", file=sys.stderr)
        return None
    try:
        colorizer.set_precision(opts.precision)
    except ValueError as e:
        print(f"tinct: --precision {opts.precision}: {cause(e)}", file=sys.stderr)
        return None
    return colorizer


def _process(jobs: list, colorizer, opts, batch: Batch) -> None:
    """Colorize ``jobs`` through the batched pipeline (pipeline/batch.py): decoding in reader threads,
    same-shaped photos in one forward, recombining, encoding and writing in writer threads; one line per
    failed input, the rest go on."""
    from ..pipeline.batch import run_batched
    from ..pipeline.hints import HintOutsideImage
    net = colorizer.options(opts.decode, opts.temperature, opts.size, **opts.reference_options)

    def read(i):
        src = read_source(jobs[i], opts.max_pixels)
        image, src.image = src.image, None  # the pipeline keeps its own array; write() needs exif and format
        return image, src

    def write(i, out, src):
        write_result(jobs[i], out, src, opts.overwrite)

    def done(i, e):
        if e is None:
            batch.ok()
        else:
            batch.misused += isinstance(e, HintOutsideImage)
            batch.fail(jobs[i].name, cause(e))

    run_batched(colorizer, len(jobs), read, write, net, hints=opts.hints or None, max_batch=opts.batch,
                on_done=done)
