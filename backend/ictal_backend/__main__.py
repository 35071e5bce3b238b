"""`python -m ictal_backend <subcommand>`: dispatches to one module per subcommand.

A subcommand module exposes `add_arguments(parser)` and `main(args) -> int`. It is imported only when
chosen, so `--help` and light subcommands do not pay for torch. To add one, add one line to SUBCOMMANDS.
"""
from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "forward": ("ictal_backend.commands.forward", "run the graph on an input .npy and write the logits"),
    "grad": ("ictal_backend.commands.grad", "autograd's gradient of the training loss for every parameter on one batch"),
    "train": ("ictal_backend.commands.train", "train the graph with the v3 recipe"),
    "serve": ("ictal_backend.api.serve", "serve the run API (docs/api.md)"),
    "cache": ("ictal_backend.data.cli", "build the fast window cache from EDF + .csv_bi recordings (docs/data.md)"),
    "import-checkpoint": ("ictal_backend.commands.import_checkpoint",
                          "turn a checkpoint of the original v3 implementation into IR + weights"),
    "export-checkpoint": ("ictal_backend.commands.export_checkpoint",
                          "write IR + weights as a checkpoint in the original v3 implementation's layout"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m ictal_backend", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name, (_, summary) in SUBCOMMANDS.items():
        sub.add_parser(name, help=summary, add_help=False)
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    name = argv[0]
    if name not in SUBCOMMANDS:
        parser.error(f"unknown subcommand {name!r} (known: {', '.join(SUBCOMMANDS)})")
    module = importlib.import_module(SUBCOMMANDS[name][0])
    cmd_parser = argparse.ArgumentParser(prog=f"python -m ictal_backend {name}", description=SUBCOMMANDS[name][1])
    module.add_arguments(cmd_parser)
    return int(module.main(cmd_parser.parse_args(argv[1:])) or 0)


if __name__ == "__main__":
    sys.exit(main())
