from __future__ import annotations

import pytest

from gadgetbuild.compress import CODECS, CodecSpec, compress_all, compress_checked

DATA = b"\0asm\x01\0\0\0" + bytes(range(256)) * 64


@pytest.mark.parametrize("spec", CODECS, ids=lambda s: s.codec)
def test_round_trip_and_determinism(spec: CodecSpec) -> None:
    first = compress_checked(spec, DATA)

    assert spec.decompress(first) == DATA
    assert compress_checked(spec, DATA) == first
    assert len(first) < len(DATA)


def test_compress_all_gives_every_codec_the_same_bytes_as_one_by_one() -> None:
    packed = compress_all(DATA)

    assert packed == {spec.codec: compress_checked(spec, DATA) for spec in CODECS}
