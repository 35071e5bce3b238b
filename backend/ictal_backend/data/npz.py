"""NumPy `.npz` archives, and the reference's `*_windows.npz` (`windows` (n, 19, L) float32, `labels` (n, L)
float32, L = 15360) on top. Every failure of a damaged archive is an NpzError naming what is wrong; a window is
read without loading the whole array (seek inside the member: direct for stored archives, streaming inflation
for deflated ones). The same format rules as src/data/npz.ts and src/data/windows-npz.ts."""
from __future__ import annotations

import io
import os
import struct
import tokenize
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from .errors import NpzError
from .montage import MONTAGE_CHANNELS

# What zipfile, zlib and numpy's format module (which tokenizes and literal-evals the .npy header) raise on
# damaged bytes.
_DAMAGE = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, struct.error, NotImplementedError, KeyError,
           OverflowError, SyntaxError, tokenize.TokenError)
_MAX_DEFLATE_RATIO = 1100
_SUPPORTED_KINDS = "fiub"


@dataclass(frozen=True)
class ArrayHeader:
    dtype: np.dtype
    shape: tuple[int, ...]
    data_offset: int  # inside the member's uncompressed bytes

    @property
    def data_bytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


class NpzArchive:
    """An .npz opened from a path or bytes; use as a context manager."""

    def __init__(self, source: str | os.PathLike | bytes):
        self.where = "npz" if isinstance(source, (bytes, bytearray)) else os.fspath(source)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
            infos = self._zip.infolist()
        except _DAMAGE as e:
            raise NpzError("bad-zip", f"{self.where}: not a readable zip archive ({type(e).__name__}: {e})") from None
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                continue
            if info.flag_bits & 1:
                raise NpzError("unsupported", f"{self.where}: member {info.filename!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise NpzError("unsupported", f"{self.where}: member {info.filename!r} uses compression method {info.compress_type}; only stored (0) and deflate (8) are supported")
            if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > max(1024, info.compress_size * _MAX_DEFLATE_RATIO):
                raise NpzError("bad-zip", f"{self.where}: member {info.filename!r} claims {info.file_size} bytes from {info.compress_size} compressed: impossible for deflate")
            self._members[info.filename[:-4]] = info
        self._headers: dict[str, ArrayHeader] = {}

    def __enter__(self) -> "NpzArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def names(self) -> list[str]:
        return list(self._members)

    def _info(self, name: str) -> zipfile.ZipInfo:
        if name not in self._members:
            raise NpzError("missing-array", f"{self.where}: no array {name!r} (it holds {', '.join(map(repr, self._members)) or 'none'})")
        return self._members[name]

    def header(self, name: str) -> ArrayHeader:
        if name not in self._headers:
            info = self._info(name)
            where = f"{self.where} member {info.filename!r}"
            try:
                with self._zip.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version in ((2, 0), (3, 0)):
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise NpzError("bad-version", f"{where}: .npy format version {version} is not supported")
                    offset = f.tell()
            except NpzError:
                raise
            except _DAMAGE as e:
                raise NpzError("bad-header", f"{where}: damaged .npy header ({type(e).__name__}: {e})") from None
            if dtype.kind not in _SUPPORTED_KINDS or dtype.hasobject or dtype.itemsize > 8:
                raise NpzError("unsupported", f"{where}: dtype {dtype} is not supported (numbers and booleans only)")
            if fortran and sum(d > 1 for d in shape) > 1:
                raise NpzError("unsupported", f"{where}: Fortran-ordered arrays are not supported (shape {shape})")
            header = ArrayHeader(dtype, tuple(int(d) for d in shape), offset)
            if header.data_offset + header.data_bytes != info.file_size:
                raise NpzError("size-mismatch", f"{where}: shape {header.shape} of {dtype} needs {header.data_offset + header.data_bytes} bytes, the member holds {info.file_size}")
            self._headers[name] = header
        return self._headers[name]

    def read_array(self, name: str) -> np.ndarray:
        """The whole array, CRC-checked."""
        h = self.header(name)
        info = self._info(name)
        try:
            with self._zip.open(info) as f:
                f.seek(h.data_offset)
                data = f.read(h.data_bytes)
                f.read()  # to the end, where zipfile checks the CRC-32
        except _DAMAGE as e:
            raise NpzError("bad-data", f"{self.where} member {info.filename!r}: damaged data ({type(e).__name__}: {e})") from None
        if len(data) != h.data_bytes:
            raise NpzError("truncated", f"{self.where} member {info.filename!r}: {len(data)} data bytes, {h.data_bytes} needed")
        return np.frombuffer(data, dtype=h.dtype).reshape(h.shape).copy()

    def read_rows(self, name: str, first: int, count: int) -> np.ndarray:
        """Rows [first, first + count) along axis 0, reading only those bytes (not CRC-checked)."""
        h = self.header(name)
        info = self._info(name)
        if not h.shape:
            raise NpzError("bad-request", f"array {name!r} is a scalar: it has no rows")
        rows = h.shape[0]
        if first < 0 or count < 0 or first + count > rows:
            raise NpzError("bad-request", f"rows [{first}, {first + count}) of {name!r} are outside its {rows} rows")
        row_bytes = h.data_bytes // rows if rows else 0
        try:
            with self._zip.open(info) as f:
                f.seek(h.data_offset + first * row_bytes)
                data = f.read(count * row_bytes)
        except _DAMAGE as e:
            raise NpzError("bad-data", f"{self.where} member {info.filename!r}: damaged data ({type(e).__name__}: {e})") from None
        if len(data) != count * row_bytes:
            raise NpzError("truncated", f"{self.where} member {info.filename!r}: {len(data)} bytes where {count * row_bytes} were needed")
        return np.frombuffer(data, dtype=h.dtype).reshape((count, *h.shape[1:])).copy()


class WindowsNpz(NpzArchive):
    """A reference `*_windows.npz`: checks both arrays on open; `window(k)` reads one window."""

    def __init__(self, source: str | os.PathLike | bytes):
        super().__init__(source)
        for name in ("windows", "labels"):
            if name not in self.names:
                self.close()
                raise NpzError("missing-array", f"{self.where}: not a windows npz: no {name!r} array (it holds {', '.join(self.names) or 'none'})")
        try:
            w, lab = self.header("windows"), self.header("labels")
            if w.dtype != np.float32 or lab.dtype != np.float32:
                raise NpzError("bad-windows", f"{self.where}: windows and labels must be float32, got {w.dtype} and {lab.dtype}")
            if len(w.shape) != 3 or w.shape[1] != len(MONTAGE_CHANNELS):
                raise NpzError("bad-windows", f"{self.where}: windows has shape {w.shape}, expected (n, {len(MONTAGE_CHANNELS)}, L)")
            if lab.shape != (w.shape[0], w.shape[2]):
                raise NpzError("bad-windows", f"{self.where}: labels has shape {lab.shape}, expected {(w.shape[0], w.shape[2])} to match windows {w.shape}")
        except NpzError:
            self.close()
            raise
        self.count, self.length = w.shape[0], w.shape[2]

    def window(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """((19, L) float32 signal, (L,) float32 labels) of window k."""
        if not 0 <= k < self.count:
            raise NpzError("bad-request", f"window {k} does not exist: {self.where} holds {self.count}")
        return self.read_rows("windows", k, 1)[0], self.read_rows("labels", k, 1)[0]

    def read_all(self) -> tuple[np.ndarray, np.ndarray]:
        return self.read_array("windows"), self.read_array("labels")


def write_windows_npz(path: str | os.PathLike, windows: np.ndarray, labels: np.ndarray, compress: bool = True) -> None:
    """Writes the reference layout with NumPy itself (np.savez_compressed, or np.savez when not compressing)."""
    windows, labels = np.asarray(windows), np.asarray(labels)
    if windows.ndim != 3 or windows.shape[1] != len(MONTAGE_CHANNELS):
        raise NpzError("bad-windows", f"windows has shape {windows.shape}, expected (n, {len(MONTAGE_CHANNELS)}, L)")
    if labels.shape != (windows.shape[0], windows.shape[2]):
        raise NpzError("bad-windows", f"labels has shape {labels.shape}, expected {(windows.shape[0], windows.shape[2])}")
    save = np.savez_compressed if compress else np.savez
    save(path, windows=windows.astype(np.float32, copy=False), labels=labels.astype(np.float32, copy=False))
