"""A minimal PNG decoder (standard library only): enough to read the
8-bit RGB/RGBA, non-interlaced screenshots headless Chromium writes."""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PNGError(Exception):
    pass


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind, line, prev, bpp):
    """Undo one scanline's filter (PNG spec, section 9)."""
    if kind == 0:
        return line
    out = bytearray(line)
    n = len(out)
    if kind == 1:
        for i in range(bpp, n):
            out[i] = (out[i] + out[i - bpp]) & 0xFF
    elif kind == 2:
        for i in range(n):
            out[i] = (out[i] + prev[i]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            left = out[i - bpp] if i >= bpp else 0
            up_left = prev[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + _paeth(left, prev[i], up_left)) & 0xFF
    else:
        raise PNGError("unknown filter type %d" % kind)
    return out


def read(path):
    """(width, height, channels, rows): rows are bytearrays of
    width*channels bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(SIGNATURE):
        raise PNGError("%s is not a PNG file" % path)
    pos, idat, header = len(SIGNATURE), [], None
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
    if header is None:
        raise PNGError("%s has no IHDR chunk" % path)
    width, height, depth, colour, _comp, _filt, interlace = header
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise PNGError("%s: only 8-bit RGB/RGBA non-interlaced PNG is "
                       "supported (depth %d, colour type %d, interlace %d)"
                       % (path, depth, colour, interlace))
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], raw[start + 1:start + 1 + stride],
                         prev, channels)
        rows.append(line)
        prev = line
    return width, height, channels, rows
