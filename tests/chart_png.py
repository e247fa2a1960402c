"""Reading the few facts tests check in a PNG: signature and size."""

from __future__ import annotations

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk (AssertionError if it is not a PNG)."""
    assert png.startswith(SIGNATURE) and png[12:16] == b"IHDR", "not a PNG"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
