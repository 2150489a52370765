"""``tinct evaluate [--model M] SRC``: AuC (raw and rebalanced), PSNR and colourfulness beside grey."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .colorize import UPSAMPLE_METHODS


def add_parser(sub):
    p = sub.add_parser("evaluate", help="measure a model against the grey baseline on colour photos",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("src", type=Path, help="a prepared dataset or a folder of colour photos")
    p.add_argument("--model", default=None, help="'default' (shipped), 'v1', a .safetensors file or a run folder")
    p.add_argument("--split", default=None, help="dataset split (default: val if present, else train)")
    p.add_argument("--limit", type=int, default=None, help="evaluate at most this many images")
    p.add_argument("--hints", type=int, default=0, help="also run with N ground-truth hints per image")
    p.add_argument("--decode", choices=DECODES, default=None, help="decode method (default: the model's own)")
    p.add_argument("--temperature", type=float, default=None, help="annealed-mean temperature (default: the model's)")
    p.add_argument("--rebalance-correction", type=float, default=None,
                   help="beta: decode with log p - beta log w; 0 to 1 undoes rebalancing, negative strengthens "
                        "it (more vivid) (default: the model's)")
    p.add_argument("--input-size", "--size", dest="size", type=int, default=None,
                   help="the network's input size: photos are resized to about this squared (default: the model's)")
    p.add_argument("--upsample", choices=UPSAMPLE_METHODS, default="bilinear",
                   help="how ab reaches full resolution: bilinear (the colorizer's default), joint or guided "
                        "(edge-aware)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="network precision (auto: bf16 where measured faster and within ab 2 of fp32)")
    p.add_argument("--json", type=Path, default=None, help="write all figures here")
    p.add_argument("--report", type=Path, default=None, help="write a PNG report here")
    return p


from ..color import DECODES  # noqa: E402  (light: no model is loaded here)


def run(args) -> int:
    from ..pipeline.colorizer import Colorizer
    from .. evaluate.run import evaluate, summary
    if not args.src.exists():
        print(f"tinct evaluate: {args.src}: no such file or folder", file=sys.stderr)
        return 2
    try:
        colorizer = Colorizer.load(args.model, args.device, precision=args.precision, upsample=args.upsample)
        opts = colorizer.options(args.decode, args.temperature, args.size, args.rebalance_correction)
    except (FileNotFoundError, ValueError) as e:
        print(f"tinct evaluate: {e}", file=sys.stderr)
        return 2
    result = evaluate(colorizer, args.src, opts, args.hints, args.split, args.limit)
    if not result["model"]["images"]:
        print(f"tinct evaluate: {args.src}: no readable images", file=sys.stderr)
        return 1
    print(summary(result))
    if args.json:
        data = {k: v for k, v in result.items() if k != "examples"}
        args.json.write_text(json.dumps(data, indent=1))
    if args.report:
        from ..evaluate.report import write_report
        write_report(result, args.report)
    return 0
