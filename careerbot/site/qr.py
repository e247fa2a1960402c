"""QR codes as SVG (to print) and PNG (for slides), with segno: pure Python, no image library."""

from __future__ import annotations

import io

import segno

SCALE = 8  # pixels per module in the PNG; the SVG scales to any size


def make(url: str) -> segno.QRCode:
    """A regular QR code (never a micro QR, which phone cameras do not read) holding `url`."""
    return segno.make_qr(url, error="m")


def svg(code: segno.QRCode) -> bytes:
    """The code as a standalone SVG file, black on white, with the 4-module quiet zone."""
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=4, border=4, dark="#000", light="#fff", xmldecl=False)
    return buffer.getvalue()


def png(code: segno.QRCode) -> bytes:
    """The code as a PNG file."""
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=SCALE, border=4, dark="#000", light="#fff")
    return buffer.getvalue()
