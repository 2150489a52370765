"""``tinct export --onnx FILE [--model NAME|PATH] [--opset N]``."""
from __future__ import annotations

import sys
from pathlib import Path

from .args import require


def add_parser(sub):
    p = sub.add_parser("export", help="export a model to ONNX (one self-contained .onnx file)")
    p.add_argument("--onnx", required=True, type=Path, metavar="FILE", help="ONNX file to write")
    p.add_argument("--model", default=None,
                   help="'default' (the recommended shipped model), 'v1', 'v3', a .safetensors model file or a run folder")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    p.add_argument("--quiet", action="store_true")
    return p


def run(args) -> int:
    why = require("tinct export", "onnx", "onnx")   # fail early, before loading anything
    if why:
        print(why, file=sys.stderr)
        return 2
    from ..export.onnx import DEFAULT_OPSET, export_onnx
    from ..model import load_model_file
    from ..pipeline.colorizer import resolve_model_path
    opset = args.opset or DEFAULT_OPSET
    try:
        path = resolve_model_path(args.model)
        loaded = load_model_file(path)
    except (FileNotFoundError, ValueError) as e:
        print(f"tinct export: {e}", file=sys.stderr)
        return 2
    if args.onnx.parent and not args.onnx.parent.exists():
        print(f"tinct export: {args.onnx.parent}: no such folder", file=sys.stderr)
        return 2
    try:
        export_onnx(loaded, args.onnx, opset)
    except Exception as e:  # exporter / checker failures: one line, not a traceback
        print(f"tinct export: ONNX export failed (opset {opset}): {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
              file=sys.stderr)
        return 1
    if not args.quiet:
        q = len(loaded.centres)
        io = "l (N,1,H,W)" + (", hints (N,3,H,W)" if loaded.model_config.hints else "")
        print(f"wrote {args.onnx} ({args.onnx.stat().st_size / 1e6:.1f} MB, opset {opset}, checked): "
              f"{io} -> logits (N,{q},H/4,W/4); N, H, W dynamic (H, W multiples of 32); "
              f"bins, weights and decode defaults in metadata_props tinct.*")
    return 0
