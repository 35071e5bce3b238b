"""Errors for bad input files: every parser here raises only these for malformed bytes, each with a stable
`code` and a message naming what is wrong (the same codes as src/data/errors.ts)."""
from __future__ import annotations


class DataFormatError(ValueError):
    format = "data"

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class EdfError(DataFormatError):
    format = "edf"


class NpzError(DataFormatError):
    format = "npz"


class CsvBiError(DataFormatError):
    format = "csv_bi"


class ChannelMappingError(DataFormatError):
    format = "channels"

    def __init__(self, code: str, message: str, missing: tuple[str, ...] = ()):
        super().__init__(code, message)
        self.missing = missing
