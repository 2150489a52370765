"""The ``tinct`` command: one module per subcommand, each exposing ``add_parser`` and ``run``."""
from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = ("colorize", "prepare", "train", "evaluate", "serve", "export")
# tools whose module holds ``add_arguments(parser)`` and ``run(args, parser)`` beside its own ``python -m`` entry
TOOLS = {"tune": ("tinct.evaluate.tune", "pick the decode temperature, rebalance correction and size of a run"),
         "gallery": ("tinct.evaluate.gallery", "before/after sheets of old photos and greyed colour photos"),
         "plot": ("tinct.train.plot", "training curves of one or several runs, overlaid"),
         "evaluate-video": ("tinct.video.evaluate", "flicker and per-frame accuracy of colorized colour clips")}


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    parser = argparse.ArgumentParser(prog="tinct", description="Colorize black-and-white photos; train colorizers.")
    parser.add_argument("--version", action="version", version=f"tinct {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"tinct.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"tinct.cli.{name}":
                continue
            raise
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    for name, (path, text) in TOOLS.items():
        module = importlib.import_module(path)
        p = sub.add_parser(name, help=text, description=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=lambda a, m=module, p=p: m.run(a, p))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("tinct: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
