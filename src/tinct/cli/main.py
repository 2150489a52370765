"""The ``tinct`` command: one module per subcommand, each exposing ``add_parser`` and ``run``."""
from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = ("colorize", "prepare", "train", "evaluate", "serve", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinct", description="Colorize black-and-white photos; train colorizers.")
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
