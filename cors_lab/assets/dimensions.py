"""What an image file's own header says: its width and height, and whether bytes are missing.

Owns reading the pixel size from PNG, GIF, JPEG, BMP, WebP, ICO/CUR and AVIF headers without
decoding anything, and telling from a file's structure that it ends early. Stdlib only, no I/O;
decoding.py uses both to refuse decompression bombs and to keep truncated images.
"""

from __future__ import annotations

import struct


def _u16le(data: bytes, at: int) -> int:
    return struct.unpack_from("<H", data, at)[0]


def _u32le(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """The pixel size an image's header claims, read without decoding anything; None if unreadable."""
    try:
        if fmt == "png":
            # The IHDR chunk comes first: width and height as 4-byte big-endian numbers.
            if data[12:16] != b"IHDR":
                return None
            width, height = struct.unpack_from(">II", data, 16)
            return width, height
        if fmt == "gif":
            return _gif_size(data)
        if fmt == "jpeg":
            return _jpeg_size(data)
        if fmt == "bmp":
            return _dib_size(data, 14, halve_height=False)
        if fmt == "webp":
            return _webp_size(data)
        if fmt in ("ico", "cur"):
            return _ico_size(data)
        if fmt == "avif":
            return _avif_size(data)
    except (struct.error, IndexError):
        return None
    return None  # pragma: no cover


def _gif_size(data: bytes) -> tuple[int, int]:
    # Logical screen, then the first frame's descriptor (Pillow grows the image to fit it).
    width, height = _u16le(data, 6), _u16le(data, 8)
    flags, pos = data[10], 13
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    while pos < len(data):
        block = data[pos]
        if block == 0x21:  # extension: label, then sub-blocks up to a zero length
            pos += 2
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        elif block == 0x2C:  # image descriptor: left, top, width, height
            if pos + 9 > len(data):
                break  # not all here yet: the logical screen's size (what WebKit goes by)
            left, top, w, h = struct.unpack_from("<HHHH", data, pos + 1)
            return max(width, left + w), max(height, top + h)
        else:
            break
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return None
        length = struct.unpack_from(">H", data, pos + 2)[0]
        # SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack_from(">HH", data, pos + 5)
            return width, height
        pos += 2 + length
    return None


def _dib_size(data: bytes, at: int, *, halve_height: bool) -> tuple[int, int] | None:
    header = _u32le(data, at)
    if header == 12:  # OS/2 BITMAPCOREHEADER
        width, height = _u16le(data, at + 4), _u16le(data, at + 6)
    elif header >= 16:
        width, height = struct.unpack_from("<ii", data, at + 4)
    else:
        return None
    height = abs(height) // 2 if halve_height else abs(height)  # negative = stored top-down
    return abs(width), height


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: 24-bit canvas width - 1 and height - 1
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 ":  # lossy: frame tag, start code 9d 01 2a, 14-bit width and height
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        return _u16le(data, 26) & 0x3FFF, _u16le(data, 28) & 0x3FFF
    if chunk == b"VP8L":  # lossless: signature 0x2f, then 14-bit width - 1 and height - 1
        if data[20] != 0x2F:
            return None
        bits = _u32le(data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _ico_size(data: bytes) -> tuple[int, int] | None:
    count = _u16le(data, 4)
    if count == 0:
        return None
    best = (0, 0)
    for i in range(count):
        entry = 6 + 16 * i
        width, height = data[entry] or 256, data[entry + 1] or 256
        offset = _u32le(data, entry + 12)
        candidates = [(width, height)]
        # The directory's sizes are one byte each; the embedded PNG or DIB says the real size. Its
        # header is read from the data itself: decoders (Pillow among them) read an entry from its
        # offset whatever the directory's size field says, so a size of 0 must not hide it.
        embedded = data[offset : offset + 64]
        if embedded.startswith(b"\x89PNG\r\n\x1a\n"):
            # An embedded PNG not yet through its IHDR: the directory's size is all there is.
            if embedded[12:16] == b"IHDR" and len(embedded) >= 24:
                candidates.append(struct.unpack_from(">II", embedded, 16))
        elif len(embedded) >= 16:
            dib = _dib_size(data, offset, halve_height=True)
            if dib:
                candidates.append(dib)
        for w, h in candidates:
            if w * h > best[0] * best[1]:
                best = (w, h)
    return best


def _iso_boxes(data: bytes, start: int, end: int):
    """(type, payload start, box end) for each ISO-BMFF box in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end)
        pos += size


def _avif_size(data: bytes) -> tuple[int, int] | None:
    # meta (a full box: 4 bytes of version and flags) > iprp > ipco > ispe: width, height.
    best = None
    for kind, start, end in _iso_boxes(data, 0, len(data)):
        if kind != b"meta":
            continue
        for kind2, start2, end2 in _iso_boxes(data, start + 4, end):
            if kind2 != b"iprp":
                continue
            for kind3, start3, end3 in _iso_boxes(data, start2, end2):
                if kind3 != b"ipco":
                    continue
                for kind4, start4, _ in _iso_boxes(data, start3, end3):
                    if kind4 == b"ispe":
                        size = struct.unpack_from(">II", data, start4 + 4)
                        if best is None or size[0] * size[1] > best[0] * best[1]:
                            best = size
    return best


def looks_truncated(data: bytes, fmt: str) -> bool:
    """Whether the file's own structure says bytes are missing at the end."""
    try:
        if fmt == "png":
            pos = 8
            while pos + 8 <= len(data):
                length, kind = struct.unpack_from(">I4s", data, pos)
                if kind == b"IEND":
                    return False
                pos += 12 + length
            return True
        if fmt == "jpeg":
            return not data.rstrip(b"\x00").endswith(b"\xff\xd9")
        if fmt == "gif":
            return not data.rstrip(b"\x00").endswith(b"\x3b")
        if fmt == "webp":
            return len(data) < _u32le(data, 4) + 8
        if fmt == "bmp":
            return len(data) < _u32le(data, 2)
        if fmt in ("ico", "cur"):
            for i in range(_u16le(data, 4)):
                entry = 6 + 16 * i
                if _u32le(data, entry + 12) + _u32le(data, entry + 8) > len(data):
                    return True
            return len(data) < 6 + 16 * _u16le(data, 4)
        if fmt == "avif":
            pos, kinds = 0, set()
            while pos + 8 <= len(data):
                size, kind = struct.unpack_from(">I4s", data, pos)
                kinds.add(kind)
                if size == 1:
                    size = struct.unpack_from(">Q", data, pos + 8)[0]
                elif size == 0:
                    return False
                if size < 8:
                    return False
                pos += size
            # A box that ends past the data, a box header cut short, or no 'mdat' (the pixels) yet.
            return pos != len(data) or b"mdat" not in kinds
    except (struct.error, IndexError):
        return True
    return False
