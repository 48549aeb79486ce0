"""Canvas sequences in Chromium and in the model: rules that one image and one operation never show.

Each case is a short script run in a real page (a cross-origin image X, a same-origin image S) and
the same steps on cors_lab.spec.canvas; the DOMException name of the final readback must agree.
Browser tier: skipped with the reason where no Chromium is installed.
"""

import pytest

from cors_lab.errors import DOMException
from cors_lab.servers import Lab
from cors_lab.spec import canvas as m

X = lambda: m.ImageSource(response_tainting="opaque", width=4, height=4)  # noqa: E731
S = lambda: m.ImageSource(response_tainting="basic", width=4, height=4)  # noqa: E731


def read(c):
    try:
        c.to_data_url()
        return "ok"
    except DOMException as err:
        return err.name


def _pattern_assigned_then_replaced():
    c = m.Canvas(4, 4)
    c.fill_style = c.create_pattern(X())
    c.fill_style = "red"
    return read(c)


def _pattern_created_not_assigned():
    c = m.Canvas(4, 4)
    c.create_pattern(X())
    return read(c)


def _pattern_from_clean_canvas_then_source_tainted():
    b, a = m.Canvas(4, 4), m.Canvas(4, 4)
    b.draw_image(S())
    pattern = a.create_pattern(b)
    b.draw_image(X())
    a.fill_style = pattern
    a.fill_rect(0, 0, 4, 4)
    return read(a)


def _width_reset():
    c = m.Canvas(4, 4)
    c.draw_image(X())
    c.set_width(4)
    return read(c)


def _height_reset():
    c = m.Canvas(4, 4)
    c.draw_image(X())
    c.set_height(4)
    return read(c)


def _clear_rect():
    c = m.Canvas(4, 4)
    c.draw_image(X())
    c.clear_rect(0, 0, 4, 4)
    return read(c)


def _ctx_reset():
    c = m.Canvas(4, 4)
    c.draw_image(X())
    c.reset()
    return read(c)


def _bitmaprenderer_tainted():
    c = m.BitmapRendererCanvas(4, 4)
    c.transfer_from_image_bitmap(m.create_image_bitmap(X()))
    return read(c)


def _bitmap_of_tainted_canvas():
    b = m.Canvas(4, 4)
    b.draw_image(X())
    a = m.Canvas(4, 4)
    a.draw_image(m.create_image_bitmap(b))
    return read(a)


def _bitmaprenderer_null_after_tainted():
    c = m.BitmapRendererCanvas(4, 4)
    c.transfer_from_image_bitmap(m.create_image_bitmap(X()))
    c.transfer_from_image_bitmap(None)
    return read(c)


def _bitmaprenderer_width_after_tainted():
    c = m.BitmapRendererCanvas(4, 4)
    c.transfer_from_image_bitmap(m.create_image_bitmap(X()))
    c.set_width(4)
    return read(c)


def _bitmaprenderer_clean_after_tainted():
    c = m.BitmapRendererCanvas(4, 4)
    c.transfer_from_image_bitmap(m.create_image_bitmap(X()))
    c.transfer_from_image_bitmap(m.create_image_bitmap(S()))
    return read(c)



CASES = {
    "pattern-assigned-then-replaced-still-taints": (_pattern_assigned_then_replaced, """
        const c = canvas(); const x = c.getContext('2d'); x.fillStyle = x.createPattern(X, 'repeat'); x.fillStyle = 'red';
        return read(c);"""),
    "pattern-created-not-assigned-stays-clean": (_pattern_created_not_assigned, """
        const c = canvas(); const x = c.getContext('2d'); x.createPattern(X, 'repeat'); return read(c);"""),
    "pattern-captures-clean-source-at-creation": (_pattern_from_clean_canvas_then_source_tainted, """
        const b = canvas(), a = canvas(); b.getContext('2d').drawImage(S, 0, 0);
        const p = a.getContext('2d').createPattern(b, 'repeat'); b.getContext('2d').drawImage(X, 0, 0);
        const ax = a.getContext('2d'); ax.fillStyle = p; ax.fillRect(0, 0, 4, 4); return read(a);"""),
    "width-reset-cleans": (_width_reset, """
        const c = canvas(); c.getContext('2d').drawImage(X, 0, 0); c.width = 4; return read(c);"""),
    "height-reset-cleans": (_height_reset, """
        const c = canvas(); c.getContext('2d').drawImage(X, 0, 0); c.height = 4; return read(c);"""),
    "clearRect-keeps-taint": (_clear_rect, """
        const c = canvas(); const x = c.getContext('2d'); x.drawImage(X, 0, 0); x.clearRect(0, 0, 4, 4); return read(c);"""),
    "ctx-reset-keeps-taint": (_ctx_reset, """
        const c = canvas(); const x = c.getContext('2d'); x.drawImage(X, 0, 0); x.reset(); return read(c);"""),
    "bitmaprenderer-takes-tainted-bitmap": (_bitmaprenderer_tainted, """
        const c = canvas(); c.getContext('bitmaprenderer').transferFromImageBitmap(await createImageBitmap(X));
        return read(c);"""),
    "bitmap-of-tainted-canvas-taints": (_bitmap_of_tainted_canvas, """
        const b = canvas(); b.getContext('2d').drawImage(X, 0, 0); const a = canvas();
        a.getContext('2d').drawImage(await createImageBitmap(b), 0, 0); return read(a);"""),
    "bitmaprenderer-null-after-tainted": (_bitmaprenderer_null_after_tainted, """
        const c = canvas(); const r = c.getContext('bitmaprenderer');
        r.transferFromImageBitmap(await createImageBitmap(X)); r.transferFromImageBitmap(null); return read(c);"""),
    "bitmaprenderer-width-after-tainted": (_bitmaprenderer_width_after_tainted, """
        const c = canvas(); const r = c.getContext('bitmaprenderer');
        r.transferFromImageBitmap(await createImageBitmap(X)); c.width = 4; return read(c);"""),
    "bitmaprenderer-clean-bitmap-after-tainted": (_bitmaprenderer_clean_after_tainted, """
        const c = canvas(); const r = c.getContext('bitmaprenderer');
        r.transferFromImageBitmap(await createImageBitmap(X)); r.transferFromImageBitmap(await createImageBitmap(S));
        return read(c);"""),
}

HARNESS = """async ([xUrl, sUrl, body]) => {
  const load = (u) => new Promise((ok, no) => { const i = new Image(); i.onload = () => ok(i); i.onerror = no; i.src = u; });
  const X = await load(xUrl), S = await load(sUrl);
  const canvas = () => { const c = document.createElement('canvas'); c.width = 4; c.height = 4; return c; };
  const read = (c) => { try { c.toDataURL(); return 'ok'; } catch (e) { return e.name; } };
  return await (new Function('X', 'S', 'canvas', 'read', 'return (async () => {' + body + '})()'))(X, S, canvas, read);
}"""


@pytest.fixture(scope="module")
def page(chromium):
    with Lab() as lab:
        context = chromium.new_context()
        pg = context.new_page()
        pg.goto(lab.site.url("picture.png"))
        yield pg, lab
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", list(CASES))
def test_model_and_chromium_agree_on_canvas_sequence(page, name):
    pg, lab = page
    model_steps, js = CASES[name]
    browser = pg.evaluate(HARNESS, [lab.cdn.url("picture.png"), lab.site.url("picture.png"), js])
    assert model_steps() == browser, f"{name}: model {model_steps()!r}, Chromium {browser!r}"

