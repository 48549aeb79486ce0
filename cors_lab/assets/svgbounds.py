"""Bounding an SVG before resvg renders it: what the renderer would allocate, checked first.

Owns the SVG pre-parse: an XML parse with limits (depth, elements, text), then a walk that finds
what resvg would recurse into and allocate (the tree with every ``<use>``, pattern, mask, clip and
marker expanded; each filter region and pattern tile in device pixels; every embedded raster and
SVG), each held to the image's own pixel limit or refused with a DecodeError naming it. Stdlib
only. Must not: render, fetch, or change what a well-behaved SVG draws.

Measured on resvg 0.48.1 (resvg-py 0.5.0), the reasons for each limit:
- a filter region is clipped to 5 x 5 times the canvas (2 canvases on each side), then allocated
  once per primitive: a 4000 x 4000 SVG asked for 1.6 GB per buffer and the process aborted;
- a pattern tile is allocated at its size in device pixels, unclipped: a 297-byte SVG whose tile is
  100000 x 100000 user units asked for 40 GB and aborted, whatever the canvas size;
- nesting 250 ``<g>`` deep (or 124 ``<use>``-of-``<g>`` links, or 256 masks or patterns inside each
  other) overflowed the 8 MB stack: SIGSEGV;
- an embedded raster is decoded at its own size, whatever size it is drawn at.
"""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from ..errors import DecodeError
from ..spec import images as spec_images
from .dimensions import header_size

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

MAX_DEPTH = 96  # elements inside each other, references followed (resvg's stack gave out near 250)
MAX_ELEMENTS = 50_000  # elements after expanding every reference (a million took resvg 17 s)
MAX_PARSED_ELEMENTS = 200_000  # elements in the file itself
MAX_TEXT = 4 * 1024 * 1024  # characters of text and attribute values, entities expanded
MAX_NESTED_SVG = 2  # data: SVG images inside data: SVG images
FILTER_CLAMP = 5  # resvg clips a filter region to this many canvases per axis
_PARSE_LIMITS = (MAX_DEPTH, MAX_PARSED_ELEMENTS, MAX_TEXT)

Affine = tuple[float, float, float, float, float, float]  # (a, b, c, d, e, f): x' = a x + c y + e
IDENTITY: Affine = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
Box = tuple[float, float, float, float]  # x0, y0, x1, y1

_NOT_RENDERED = {"defs", "pattern", "mask", "clipPath", "marker", "symbol", "filter", "linearGradient",
                 "radialGradient", "style", "title", "desc", "metadata", "script"}
_CONTAINERS = {"svg", "g", "a", "switch"}
_REF_PROPERTIES = ("fill", "stroke", "filter", "mask", "clip-path", "marker-start", "marker-mid", "marker-end", "marker")
_GEOMETRY_PROPERTIES = _REF_PROPERTIES + ("transform", "font-size", "stroke-width")
_URL = re.compile(r"url\(\s*['\"]?#([^'\")\s]+)['\"]?\s*\)")
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBERS = re.compile(_NUMBER)
_LENGTH = re.compile(rf"^\s*({_NUMBER})\s*(px|in|cm|mm|pt|pc|em|ex|%)?\s*$")
_UNITS = {None: 1.0, "px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 4 / 3, "pc": 16.0,
          "em": 16.0, "ex": 8.0}  # fmt: skip
_TRANSFORM = re.compile(r"[\s,]*(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^()]*)$")
_URL_SCAN = 2048  # characters of a property value searched for url(#id): real ones are short


def local(tag: object) -> str:
    """An element's name without its namespace ("rect" for ``{http://www.w3.org/2000/svg}rect``)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# --- parsing with limits ------------------------------------------------------------------------


class _BoundedBuilder(ET.TreeBuilder):
    """A TreeBuilder that stops the parse past a depth, an element count or an amount of text."""

    def __init__(self, limits: tuple[int, int, int]) -> None:
        super().__init__()
        self.max_depth, self.max_elements, self.max_text = limits
        self.depth = self.elements = self.text = 0

    def start(self, tag, attrs):
        self.depth += 1
        self.elements += 1
        self.text += sum(len(v) for v in attrs.values())
        if self.depth > self.max_depth:
            raise too_deep(f"its elements are nested more than {self.max_depth} deep")
        if self.elements > self.max_elements:
            raise too_complex(f"it has more than {self.max_elements:,} elements")
        self._check_text()
        return super().start(tag, attrs)

    def end(self, tag):
        self.depth -= 1
        return super().end(tag)

    def data(self, data):
        self.text += len(data)
        self._check_text()
        return super().data(data)

    def _check_text(self) -> None:
        if self.text > self.max_text:
            raise too_complex(f"its text and attributes (entities expanded) pass {self.max_text:,} characters")


def parse(data: bytes, *, limits: tuple[int, int, int] = _PARSE_LIMITS) -> ET.Element:
    """The SVG's XML tree, parsed with limits; ``ET.ParseError`` for XML that is not well-formed."""
    parser = ET.XMLParser(target=_BoundedBuilder(limits))
    parser.feed(data)
    return parser.close()


def too_deep(why: str) -> DecodeError:
    return DecodeError(
        f"This SVG is nested too deeply to render safely: {why}. The lab's renderer would run out of"
        " stack, so the lab refuses it and the <img> fires 'error'.\nFix: flatten the groups (most"
        " editors have 'ungroup'), or check the file was not made to crash renderers.",
        kind="too-large",
    )


def too_complex(why: str) -> DecodeError:
    return DecodeError(
        f"This SVG is too complex to render safely: {why}, so the lab refuses it and the <img> fires"
        " 'error'.\nFix: simplify the drawing, or check the file was not made to exhaust renderers.",
        kind="too-large",
    )


def _too_large(what: str, width: float, height: float, limit: int) -> DecodeError:
    pixels = width * height
    size = f"{width:,.0f} x {height:,.0f} = {pixels:,.0f} pixels" if pixels < 1e30 else "astronomically many pixels"
    return DecodeError(
        f"This SVG's {what} would need a buffer of {size}, more than the lab's limit of {limit:,}"
        " pixels per buffer, so the lab refuses it before rendering and the <img> fires 'error'.\n"
        "Fix: make it smaller, or raise max_pixels if you trust this file.",
        kind="too-large",
    )


# --- lengths, transforms, boxes -------------------------------------------------------------------


def length(value: str | None, reference: float | None = None, default: float | None = None) -> float | None:
    """A length in CSS pixels ("2in" -> 192.0); percentages need ``reference``; else ``default``."""
    if value is None:
        return default
    match = _LENGTH.match(value)
    if not match:
        return default
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return default if reference is None else reference * number / 100
    return number * _UNITS[unit]


def fraction(value: str | None, default: float) -> float:
    """An objectBoundingBox coordinate: "50%" and "0.5" are both one half."""
    if value is None:
        return default
    match = _LENGTH.match(value)
    if not match:
        return default
    number = float(match.group(1))
    return number / 100 if match.group(2) == "%" else number


def multiply(m: Affine, n: Affine) -> Affine:
    """The transform that applies ``n`` first, then ``m``."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + c * b2, b * a2 + d * b2, a * c2 + c * d2, b * c2 + d * d2, a * e2 + c * f2 + e, b * e2 + d * f2 + f)


def parse_transform(text: str | None) -> Affine:
    """An SVG transform list; what cannot be read counts as the identity (as resvg ignores it)."""
    m = IDENTITY
    for part in (text or "").split(")"):
        match = _TRANSFORM.match(part)
        if not match:
            continue
        name, args = match.groups()
        v = [float(x) for x in _NUMBERS.findall(args)]
        if name == "matrix" and len(v) == 6:
            step = tuple(v)
        elif name == "translate" and v:
            step = (1, 0, 0, 1, v[0], v[1] if len(v) > 1 else 0)
        elif name == "scale" and v:
            step = (v[0], 0, 0, v[1] if len(v) > 1 else v[0], 0, 0)
        elif name == "rotate" and v:
            r = math.radians(v[0])
            cx, cy = (v[1], v[2]) if len(v) == 3 else (0, 0)
            step = multiply(multiply((1, 0, 0, 1, cx, cy), (math.cos(r), math.sin(r), -math.sin(r), math.cos(r), 0, 0)),
                            (1, 0, 0, 1, -cx, -cy))
        elif name == "skewX" and v:
            step = (1, 0, math.tan(math.radians(v[0])), 1, 0, 0)
        elif name == "skewY" and v:
            step = (1, math.tan(math.radians(v[0])), 0, 1, 0, 0)
        else:
            continue
        m = multiply(m, step)  # type: ignore[arg-type]
    return m


def device_size(m: Affine, box: Box) -> tuple[float, float]:
    """Width and height, in device pixels, of the bounding box of ``box`` transformed by ``m``."""
    a, b, c, d, _, _ = m
    w, h = box[2] - box[0], box[3] - box[1]
    return abs(a) * w + abs(c) * h, abs(b) * w + abs(d) * h


def _union(boxes: list[Box]) -> Box | None:
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _transform_box(m: Affine, box: Box) -> Box:
    a, b, c, d, e, f = m
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
        xs.append(a * x + c * y + e)
        ys.append(b * x + d * y + f)
    return (min(xs), min(ys), max(xs), max(ys))


def _path_points(d: str) -> Iterator[tuple[float, float]]:
    """Every point a path's data names (control points too): its bounding box holds the path."""
    tokens = re.findall(rf"[MmLlHhVvCcSsQqTtAaZz]|{_NUMBER}", d)
    x = y = sx = sy = 0.0
    i, command = 0, "M"
    sizes = {"M": 2, "L": 2, "T": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "A": 7}
    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            if command in "Zz":
                x, y = sx, sy
                continue
        upper = command.upper()
        n = sizes.get(upper)
        if n is None or i + n > len(tokens) or any(t.isalpha() for t in tokens[i : i + n]):
            return
        v = [float(t) for t in tokens[i : i + n]]
        i += n
        rel = command.islower()
        if upper == "H":
            x = x + v[0] if rel else v[0]
        elif upper == "V":
            y = y + v[0] if rel else v[0]
        elif upper == "A":
            r = max(abs(v[0]), abs(v[1]))
            nx, ny = (x + v[5], y + v[6]) if rel else (v[5], v[6])
            r = max(r, math.hypot(nx - x, ny - y) / 2)
            for px, py in ((x, y), (nx, ny)):
                yield px - 2 * r, py - 2 * r
                yield px + 2 * r, py + 2 * r
            x, y = nx, ny
        else:
            for k in range(0, n, 2):
                px, py = (x + v[k], y + v[k + 1]) if rel else (v[k], v[k + 1])
                yield px, py
            x, y = px, py
        if upper == "M":
            sx, sy = x, y
            command = "l" if rel else "L"
        yield x, y


# --- the document -------------------------------------------------------------------------------


@dataclass
class _Viewport:
    width: float
    height: float


class SvgBounds:
    """One SVG document, walked as resvg would render it, with every buffer checked against ``limit``."""

    def __init__(self, root: ET.Element, *, width: float, height: float, limit: int, nesting: int = 0) -> None:
        self.root = root
        self.width, self.height = width, height
        self.limit = limit
        self.nesting = nesting
        self.ids = {el.get("id"): el for el in root.iter() if el.get("id")}
        self.style = _StyleSheets(root)
        self._boxes: dict[int, Box | None] = {}
        self._depth: dict[int, int] = {}
        self._count: dict[int, int] = {}

    # properties: presentation attribute < <style> rules < style attribute
    def prop(self, el: ET.Element, name: str) -> str | None:
        inline = _declarations(el.get("style") or "").get(name)
        if inline is not None:
            return inline
        sheet = self.style.value(el, name)
        return sheet if sheet is not None else el.get(name)

    def refs(self, el: ET.Element) -> list[ET.Element]:
        """Elements ``el`` makes the renderer draw: its <use> target and url(#...) paint servers and effects."""
        out = []
        href = el.get("href") or el.get(XLINK_HREF)
        if href and href.strip().startswith("#") and local(el.tag) in ("use", "feImage", "pattern", "filter",
                                                                         "linearGradient", "radialGradient"):
            target = self.ids.get(href.strip()[1:])
            if target is not None:
                out.append(target)
        for name in _REF_PROPERTIES:
            value = self.prop(el, name)
            if value and "url(" in value:
                out += [self.ids[i] for i in _URL.findall(value[:_URL_SCAN]) if i in self.ids]
        return out

    # -- depth and size of the expanded tree -----------------------------------------------------

    def check_structure(self) -> None:
        """Refuse trees the renderer would recurse through too deeply, or expand past MAX_ELEMENTS."""
        depth = self._expanded(self.root, 0, set())[0]
        if depth > MAX_DEPTH:
            raise too_deep(f"with every reference followed it is {depth} deep")

    def _expanded(self, el: ET.Element, level: int, active: set[int]) -> tuple[int, int]:
        key = id(el)
        if key in self._depth:
            return self._depth[key], self._count[key]
        if level > MAX_DEPTH:
            raise too_deep(f"with its <use>, pattern, mask, clip-path, marker and filter references followed,"
                           f" elements are nested more than {MAX_DEPTH} deep")
        if key in active:  # a reference cycle: resvg refuses to follow it, so it draws nothing
            return 0, 0
        active.add(key)
        depth, count = 1, 1
        # Content of <defs>, <mask>, <pattern>... is drawn only where something refers to it, so it
        # is counted there (a <mask> reached through mask="url(#m)" counts its own children).
        drawn = [c for c in el if local(c.tag) not in _NOT_RENDERED]
        for child in drawn + self.refs(el):
            d, c = self._expanded(child, level + 1, active)
            depth, count = max(depth, d + 1), count + c
            if count > MAX_ELEMENTS:
                raise too_complex(f"with its <use> and other references expanded it has more than {MAX_ELEMENTS:,} elements")
        active.discard(key)
        self._depth[key], self._count[key] = depth, count
        return depth, count

    # -- buffers ---------------------------------------------------------------------------------

    def check_buffers(self, root_transform: Affine) -> None:
        """Walk the rendered tree: filter regions, pattern tiles and embedded images against the limit."""
        self._seen: set[tuple[int, Affine]] = set()
        self._walk(self.root, root_transform, _Viewport(self.width, self.height))

    def _walk(self, el: ET.Element, m: Affine, vp: _Viewport) -> None:
        key = (id(el), m)
        if key in self._seen:
            return
        self._seen.add(key)
        tag = local(el.tag)
        if el is not self.root:
            m = multiply(m, parse_transform(self.prop(el, "transform")))
        if tag == "svg" and el is not self.root:
            m, vp = self._nested_viewport(el, m, vp)
        self._effects(el, m, vp)
        if tag == "use":
            target = self.refs(el)[:1]
            x, y = length(el.get("x"), vp.width, 0.0), length(el.get("y"), vp.height, 0.0)
            inner = multiply(m, (1, 0, 0, 1, x or 0.0, y or 0.0))
            for t in target:
                if local(t.tag) == "symbol":
                    inner, vp2 = self._symbol(t, el, inner, vp)
                    for child in t:
                        self._walk(child, inner, vp2)
                else:
                    self._walk(t, inner, vp)
            return
        if tag in ("image", "feImage"):
            self._embedded(el, m, vp)
            if tag == "feImage":
                for target in self.refs(el)[:1]:
                    self._walk(target, m, vp)
        if tag in _NOT_RENDERED:
            return
        for child in el:
            self._walk(child, m, vp)

    def _effects(self, el: ET.Element, m: Affine, vp: _Viewport) -> None:
        for name in _REF_PROPERTIES:
            value = self.prop(el, name)
            if not value or "url(" not in value:
                continue
            for ref in (self.ids.get(i) for i in _URL.findall(value[:_URL_SCAN])):
                if ref is None:
                    continue
                kind = local(ref.tag)
                if kind == "filter":
                    self._filter(ref, el, m, vp)
                elif kind == "pattern":
                    self._pattern(ref, el, m, vp)
                elif kind in ("mask", "clipPath", "marker"):
                    scale = 1.0
                    if kind == "marker" and (ref.get("markerUnits") or "strokeWidth") == "strokeWidth":
                        scale = length(self.prop(el, "stroke-width"), vp.width, 1.0) or 1.0
                    for child in ref:
                        self._walk(child, multiply(m, (scale, 0, 0, scale, 0, 0)), vp)

    def _filter(self, flt: ET.Element, el: ET.Element, m: Affine, vp: _Viewport) -> None:
        region = self._region(flt, el, vp, units_attr="filterUnits", defaults=(-0.1, -0.1, 1.2, 1.2))
        cap_w, cap_h = FILTER_CLAMP * self.width, FILTER_CLAMP * self.height
        w, h = (cap_w, cap_h) if region is None else device_size(m, region)
        w, h = min(w, cap_w), min(h, cap_h)
        if w * h > self.limit:
            name = f' id="{flt.get("id")}"' if flt.get("id") else ""
            raise _too_large(f"filter{name} region", w, h, self.limit)
        for primitive in flt:
            if local(primitive.tag) == "feImage":
                self._walk(primitive, m, vp)

    def _pattern(self, pat: ET.Element, el: ET.Element, m: Affine, vp: _Viewport) -> None:
        attrs = self._inherited(pat)
        tile = self._region(attrs, el, vp, units_attr="patternUnits", defaults=(0, 0, 0, 0))
        tm = multiply(m, parse_transform(attrs.get("patternTransform")))
        if tile is None:
            return  # the box it depends on is unknown: the worker's memory limit is the bound
        w, h = device_size(tm, tile)
        if w * h > self.limit:
            raise _too_large("pattern tile", w, h, self.limit)
        if attrs.get("viewBox"):
            tm = multiply(tm, viewbox_transform(attrs.get("viewBox"), attrs.get("preserveAspectRatio"),
                                                tile[2] - tile[0], tile[3] - tile[1]))
        elif attrs.get("patternContentUnits") == "objectBoundingBox":
            box = self.bbox(el, vp, 0)
            if box is not None:
                tm = multiply(tm, (box[2] - box[0], 0, 0, box[3] - box[1], box[0], box[1]))
        source = attrs.get("_content", pat)
        for child in source:  # type: ignore[union-attr]
            self._walk(child, tm, vp)

    def _inherited(self, pat: ET.Element) -> dict:
        """A pattern's attributes and content, following its href chain (SVG's pattern inheritance)."""
        attrs: dict = {}
        seen: set[int] = set()
        node: ET.Element | None = pat
        while node is not None and id(node) not in seen and local(node.tag) == "pattern":
            seen.add(id(node))
            for k, v in node.attrib.items():
                attrs.setdefault(k, v)
            if len(node) and "_content" not in attrs:
                attrs["_content"] = node
            href = node.get("href") or node.get(XLINK_HREF) or ""
            node = self.ids.get(href.strip()[1:]) if href.strip().startswith("#") else None
        return attrs

    def _region(self, source, el: ET.Element, vp: _Viewport, *, units_attr: str,
                defaults: tuple[float, float, float, float]) -> Box | None:
        """The filter region or pattern tile in ``el``'s user space; None when it depends on an unknown box."""
        get = source.get
        if (get(units_attr) or "objectBoundingBox") == "userSpaceOnUse":
            x = length(get("x"), vp.width, defaults[0] * vp.width) or 0.0
            y = length(get("y"), vp.height, defaults[1] * vp.height) or 0.0
            w = length(get("width"), vp.width, defaults[2] * vp.width) or 0.0
            h = length(get("height"), vp.height, defaults[3] * vp.height) or 0.0
            return (x, y, x + abs(w), y + abs(h))
        box = self.bbox(el, vp, 0)
        if box is None:
            return None
        bw, bh = box[2] - box[0], box[3] - box[1]
        fx, fy = fraction(get("x"), defaults[0]), fraction(get("y"), defaults[1])
        fw, fh = abs(fraction(get("width"), defaults[2])), abs(fraction(get("height"), defaults[3]))
        return (box[0] + fx * bw, box[1] + fy * bh, box[0] + (fx + fw) * bw, box[1] + (fy + fh) * bh)

    def bbox(self, el: ET.Element, vp: _Viewport, level: int) -> Box | None:
        """A box holding ``el``'s geometry in its own user space (strokes aside); None if unknown."""
        key = id(el)
        if key not in self._boxes:
            self._boxes[key] = self._bbox(el, vp, level)
        return self._boxes[key]

    def _bbox(self, el: ET.Element, vp: _Viewport, level: int) -> Box | None:
        if level > MAX_DEPTH:
            return None
        tag = local(el.tag)
        L = length
        try:
            if tag == "rect" or tag == "image":
                x, y = L(el.get("x"), vp.width, 0.0) or 0.0, L(el.get("y"), vp.height, 0.0) or 0.0
                w, h = L(el.get("width"), vp.width, 0.0) or 0.0, L(el.get("height"), vp.height, 0.0) or 0.0
                return (x, y, x + abs(w), y + abs(h))
            if tag in ("circle", "ellipse"):
                cx, cy = L(el.get("cx"), vp.width, 0.0) or 0.0, L(el.get("cy"), vp.height, 0.0) or 0.0
                rx = L(el.get("r") if tag == "circle" else el.get("rx"), vp.width, 0.0) or 0.0
                ry = L(el.get("r") if tag == "circle" else el.get("ry"), vp.height, 0.0) or 0.0
                return (cx - abs(rx), cy - abs(ry), cx + abs(rx), cy + abs(ry))
            if tag == "line":
                xs = [L(el.get(k), vp.width, 0.0) or 0.0 for k in ("x1", "x2")]
                ys = [L(el.get(k), vp.height, 0.0) or 0.0 for k in ("y1", "y2")]
                return (min(xs), min(ys), max(xs), max(ys))
            if tag in ("polyline", "polygon"):
                v = [float(n) for n in _NUMBERS.findall(el.get("points") or "")]
                pts = list(zip(v[0::2], v[1::2]))
            elif tag == "path":
                pts = list(_path_points(el.get("d") or ""))
            elif tag == "text":
                return self._text_box(el, vp)
            elif tag in _CONTAINERS or tag == "use":
                boxes = []
                children = list(el) if tag != "use" else self.refs(el)[:1]
                for child in children:
                    if local(child.tag) in _NOT_RENDERED and tag != "use":
                        continue
                    box = self.bbox(child, vp, level + 1)
                    if box is None:
                        return None
                    boxes.append(_transform_box(parse_transform(self.prop(child, "transform")), box))
                union = _union(boxes)
                if union is not None and tag == "use":
                    x, y = L(el.get("x"), vp.width, 0.0) or 0.0, L(el.get("y"), vp.height, 0.0) or 0.0
                    union = (union[0] + x, union[1] + y, union[2] + x, union[3] + y)
                return union or (0.0, 0.0, 0.0, 0.0)
            else:
                return None
        except (ValueError, OverflowError):
            return None
        if not pts:
            return (0.0, 0.0, 0.0, 0.0)
        return (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))

    def _text_box(self, el: ET.Element, vp: _Viewport) -> Box | None:
        # Glyphs are at most about one em wide and 1.5 em tall: a generous box around the text.
        size = length(self.prop(el, "font-size"), 16.0, 16.0) or 16.0
        chars = len("".join(el.itertext())) + 1
        x = min([float(n) for n in _NUMBERS.findall(el.get("x") or "0")] or [0.0])
        y = min([float(n) for n in _NUMBERS.findall(el.get("y") or "0")] or [0.0])
        return (x - size, y - 2 * size, x + 2 * size * chars, y + size)

    def _nested_viewport(self, el: ET.Element, m: Affine, vp: _Viewport) -> tuple[Affine, _Viewport]:
        x, y = length(el.get("x"), vp.width, 0.0) or 0.0, length(el.get("y"), vp.height, 0.0) or 0.0
        w = length(el.get("width"), vp.width, vp.width) or 0.0
        h = length(el.get("height"), vp.height, vp.height) or 0.0
        inner = multiply(m, (1, 0, 0, 1, x, y))
        return multiply(inner, viewbox_transform(el.get("viewBox"), el.get("preserveAspectRatio"), w, h)), (
            _Viewport(*(viewbox_size(el.get("viewBox")) or (w, h))))

    def _symbol(self, sym: ET.Element, use: ET.Element, m: Affine, vp: _Viewport) -> tuple[Affine, _Viewport]:
        w = length(use.get("width") or sym.get("width"), vp.width, vp.width) or 0.0
        h = length(use.get("height") or sym.get("height"), vp.height, vp.height) or 0.0
        return multiply(m, viewbox_transform(sym.get("viewBox"), sym.get("preserveAspectRatio"), w, h)), (
            _Viewport(*(viewbox_size(sym.get("viewBox")) or (w, h))))

    def _embedded(self, el: ET.Element, m: Affine, vp: _Viewport) -> None:
        href = (el.get("href") or el.get(XLINK_HREF) or "").strip()
        if not href.startswith("data:"):
            return
        data = data_url(href)
        if data is None:
            return
        fmt = spec_images.image_type_pattern(data)
        if fmt is None and spec_images.ftyp_brands(data) & spec_images.AVIF_BRANDS:
            fmt = "avif"
        if fmt is not None:
            size = header_size(data, fmt)
            if size is not None and size[0] * size[1] > self.limit:
                raise _too_large(f"embedded {spec_images.FORMAT_NAMES[fmt]} image", size[0], size[1], self.limit)
            return
        if spec_images.looks_like_svg(data):
            if self.nesting >= MAX_NESTED_SVG:
                raise too_deep(f"it holds SVG images inside SVG images more than {MAX_NESTED_SVG} deep")
            # An SVG image is rendered at the size it is drawn at, in device pixels.
            box = self.bbox(el, vp, 0) if local(el.tag) == "image" else None
            w, h = device_size(m, box) if box else (self.width, self.height)
            check_document(data, limit=self.limit, canvas=(max(1, math.ceil(w)), max(1, math.ceil(h))),
                           nesting=self.nesting + 1)


def viewbox_size(text: str | None) -> tuple[float, float] | None:
    parts = [float(x) for x in _NUMBERS.findall(text or "")]
    if len(parts) != 4 or parts[2] <= 0 or parts[3] <= 0:
        return None
    return parts[2], parts[3]


def viewbox_transform(view_box: str | None, aspect: str | None, width: float, height: float) -> Affine:
    """The viewBox -> viewport transform (preserveAspectRatio "none", "meet" and "slice")."""
    parts = [float(x) for x in _NUMBERS.findall(view_box or "")]
    if len(parts) != 4 or parts[2] <= 0 or parts[3] <= 0:
        return IDENTITY
    x, y, w, h = parts
    sx, sy = width / w, height / h
    mode = (aspect or "xMidYMid meet").split()
    if mode[0] != "none":
        s = max(sx, sy) if len(mode) > 1 and mode[1] == "slice" else min(sx, sy)
        sx = sy = s
    return (sx, 0.0, 0.0, sy, -x * sx, -y * sy)


def data_url(href: str) -> bytes | None:
    """The bytes of a ``data:`` URL, or None when it is not one."""
    head, comma, body = href.partition(",")
    if not comma or not head.lower().startswith("data:"):
        return None
    try:
        if head.lower().endswith(";base64"):
            return base64.b64decode(unquote_to_bytes(body), validate=False)
        return unquote_to_bytes(body)
    except (ValueError, TypeError):
        return None


class _StyleSheets:
    """The geometry-changing declarations of the SVG's <style> sheets, matched generously.

    Simple selectors (``rect``, ``.a``, ``#b``, ``rect.a``, ``*``) match exactly; for anything more
    (combinators, attributes, pseudo-classes) only the last compound's type, class or id counts,
    so a rule may match more elements here than in resvg, never fewer: a bound, not a renderer.
    """

    def __init__(self, root: ET.Element) -> None:
        self.rules: list[tuple[tuple[str, str, str], dict[str, str]]] = []
        for el in root.iter():
            if local(el.tag) == "style":
                self._read("".join(el.itertext()))

    def _read(self, css: str) -> None:
        for selectors, body in _css_rules(css):
            decls = {k: v for k, v in _declarations(body).items() if k in _GEOMETRY_PROPERTIES}
            if not decls:
                continue
            for selector in selectors.split(","):
                last = re.split(r"[\s>+~]+", selector.strip())[-1]
                last = re.sub(r"\[.*?\]|::?[\w-]+(\(.*?\))?", "", last)
                tag = re.match(r"^[\w-]*", last).group(0)  # type: ignore[union-attr]
                cls = "".join(re.findall(r"\.([\w-]+)", last)[:1])
                ident = "".join(re.findall(r"#([\w-]+)", last)[:1])
                self.rules.append(((tag if tag != "*" else "", cls, ident), decls))

    def value(self, el: ET.Element, name: str) -> str | None:
        found = None
        if not self.rules:
            return None
        tag, classes, ident = local(el.tag), (el.get("class") or "").split(), el.get("id")
        for (t, c, i), decls in self.rules:
            if name in decls and (not t or t == tag) and (not c or c in classes) and (not i or i == ident):
                found = decls[name]
        return found


def _css_rules(css: str) -> Iterator[tuple[str, str]]:
    """(selectors, declarations) of each rule, comments removed; linear in the sheet's length."""
    text, pos = [], 0
    while True:
        start = css.find("/*", pos)
        if start < 0:
            text.append(css[pos:])
            break
        text.append(css[pos:start])
        end = css.find("*/", start + 2)
        if end < 0:
            break
        pos = end + 2
    css = "".join(text)
    pos = 0
    while True:
        close = css.find("}", pos)
        if close < 0:
            return
        head, brace, body = css[pos:close].rpartition("{")
        if brace:  # the innermost rule: at-rule preludes (@media ... {) are left behind
            yield re.split(r"[{};]", head)[-1], body
        pos = close + 1


def _declarations(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(";"):
        name, colon, value = part.partition(":")
        if colon:
            out[name.strip().lower()] = value.replace("!important", "").strip()
    return out


def svg_size(root: ET.Element) -> tuple[float, float]:
    """The size resvg gives the root <svg>: width/height, else the viewBox's, else 100 x 100."""
    view_box = viewbox_size(root.get("viewBox"))
    width = length(root.get("width"), view_box[0] if view_box else None)
    height = length(root.get("height"), view_box[1] if view_box else None)
    # Deviation: with no width, height or viewBox, browsers size an SVG image 300 x 150 (the
    # default object size); resvg uses 100 x 100, and the lab follows resvg.
    if width is None and height is None:
        return view_box if view_box else (100.0, 100.0)
    if width is None:
        width = height * view_box[0] / view_box[1] if view_box else 100.0
    if height is None:
        height = width * view_box[1] / view_box[0] if view_box else 100.0
    return width, height


def check_tree(root: ET.Element, *, canvas: tuple[int, int], limit: int, nesting: int = 0) -> None:
    """Refuse an <svg> tree the renderer would recurse through too deeply, expand past
    MAX_ELEMENTS, or render with any buffer (filter region, pattern tile, embedded image) over
    ``limit`` pixels. ``canvas`` is the size it is rendered at (already within the limit)."""
    bounds = SvgBounds(root, width=canvas[0], height=canvas[1], limit=limit, nesting=nesting)
    bounds.check_structure()
    transform = viewbox_transform(root.get("viewBox"), root.get("preserveAspectRatio"), canvas[0], canvas[1])
    bounds.check_buffers(transform)


def check_document(data: bytes, *, limit: int, canvas: tuple[int, int], nesting: int = 0) -> None:
    """The same checks for an SVG embedded as a data: URL and drawn at ``canvas`` device pixels
    (the renderer draws nothing for one that does not parse or is no <svg>)."""
    try:
        root = parse(data)
    except ET.ParseError:
        return
    if local(root.tag) != "svg":
        return
    if canvas[0] * canvas[1] > limit:
        raise _too_large("embedded SVG image", canvas[0], canvas[1], limit)
    check_tree(root, canvas=canvas, limit=limit, nesting=nesting)
