"""Ictal's PyTorch backend: the lab's graph IR as torch modules, the v3 trainer and the run API."""

__version__ = "0.1.0"
