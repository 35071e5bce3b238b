"""Subcommands of `python -m ictal_backend`; each module has add_arguments(parser) and main(args) -> int."""
