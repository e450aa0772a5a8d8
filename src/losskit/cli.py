"""The ``losskit`` command line: ``list``, ``explain``, ``compare``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def _cmd_list(args: argparse.Namespace) -> int:
    from . import registry

    for spec in registry.specs():
        print(f"{spec.name:36s} {spec.family:15s} takes {spec.takes:9s} {spec.summary}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="losskit", description="Losses for PyTorch, derived from likelihoods.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="list the registered losses")
    p_list.set_defaults(func=_cmd_list)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
