"""Deterministic gzip, zstd and brotli of a stripped module, each checked by a round trip."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import brotli
import zstandard

from gadgetbuild.errors import FailureError
from gadgetbuild.manifest import Codec


@dataclass(frozen=True, slots=True)
class CodecSpec:
    codec: Codec
    suffix: str
    level: int
    compress: Callable[[bytes, int], bytes]
    decompress: Callable[[bytes], bytes]


def _gzip(data: bytes, level: int) -> bytes:
    # mtime=0 and no file name: the same input gives the same bytes on every run.
    return gzip.compress(data, compresslevel=level, mtime=0)


def _zstd(data: bytes, level: int) -> bytes:
    return zstandard.ZstdCompressor(level=level, write_checksum=True).compress(data)


def _zstd_decompress(data: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(data)


def _brotli(data: bytes, level: int) -> bytes:
    return bytes(brotli.compress(data, quality=level))


def _brotli_decompress(data: bytes) -> bytes:
    return bytes(brotli.decompress(data))


# Levels chosen from `nox -s bench` on the Go 1.24 gadgets (README, "Performance"): past
# these, each codec buys a few tenths of a point of size for several times the time
# (gzip 9: 0.4 point for 4x; zstd 19: nothing over 18 for 20% more; brotli 11: 2.7 points
# for 20x), and compression runs on every rebuilt artifact.
CODECS: tuple[CodecSpec, ...] = (
    CodecSpec("gzip", ".gz", 6, _gzip, gzip.decompress),
    CodecSpec("zstd", ".zst", 18, _zstd, _zstd_decompress),
    CodecSpec("brotli", ".br", 9, _brotli, _brotli_decompress),
)


def compress_checked(spec: CodecSpec, data: bytes, *, level: int | None = None) -> bytes:
    """Compress ``data`` and prove the result decompresses back to the same bytes."""
    packed = spec.compress(data, spec.level if level is None else level)
    if spec.decompress(packed) != data:
        raise FailureError(f"{spec.codec} round trip changed the module's bytes")

    return packed


def compress_all(data: bytes) -> dict[str, bytes]:
    """Every codec of :data:`CODECS`, at once: the three libraries release the GIL while
    they compress, so on two cores this takes about the time of the slowest alone."""
    with ThreadPoolExecutor(max_workers=len(CODECS)) as pool:
        futures = {spec.codec: pool.submit(compress_checked, spec, data) for spec in CODECS}
        return {codec: future.result() for codec, future in futures.items()}
