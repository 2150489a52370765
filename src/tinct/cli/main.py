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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only`` (a subcommand or tool name), just that one's parser, so a run
    imports its own modules and not those of the others (``tinct colorize`` loads no training or server code)."""
    from .. import __version__
    parser = argparse.ArgumentParser(prog="tinct", description="Colorize black-and-white photos; train colorizers.")
    parser.add_argument("--version", action="version", version=f"tinct {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(f"tinct.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"tinct.cli.{name}":
                continue
            raise
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    for name, (path, text) in TOOLS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(path)
        p = sub.add_parser(name, help=text, description=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=lambda a, m=module, p=p: m.run(a, p))
    return parser


def command_of(argv: list[str]) -> str | None:
    """The subcommand or tool ``argv`` names (its first word, as no top-level option takes a value), or None."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in SUBCOMMANDS or first in TOOLS else None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(only=command_of(argv)).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("tinct: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
