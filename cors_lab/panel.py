"""The lab panel: every knob as a control, one button, every engine's verdict side by side.

Owns the ipywidgets form (crossorigin, ACAO as free text, ACAC, Vary, Cache-Control, the guide's
Apache rule, redirects, cookies, operation), turning it into a lab URL (or, behind one origin, the
kit's server extension's URL), logging the kernel browser and your browser in or out alike, and
showing the result: the comparison table with the requests the servers saw
(`cors_lab.comparison.compare`; it fills in your browser's row when its answer arrives), the kernel
canvas and the matching Apache/nginx configuration. A panel whose lab was stopped says so and offers
to rebind to the running lab. It decides nothing: the engines do.
"""

from __future__ import annotations

import html
import traceback

import ipywidgets as w

from . import render
from .assets import ASSET_NAMES
from .browser import Browser
from .comparison import Rerouted, compare
from .errors import CorsLabError, UsageError
from .labcanvas import LabCanvas
from .predict import OPERATIONS
from .serverconf import ConfigRefused, apache_config, nginx_config
from .spec.profiles import DEFAULT_PROFILE

ABSENT = "(absent)"  # a Dropdown cannot show a None value, so the absent attribute has a name
CROSSORIGIN_CHOICES = (
    ("absent (no attribute)", ABSENT),
    ('"anonymous"', "anonymous"),
    ('"use-credentials"', "use-credentials"),
    ('"" (empty)', ""),
    ('"foo" (invalid)', "foo"),
)
REDIRECTS = (
    ("none", ()),
    ("via cdn", ("cdn",)),
    ("via other", ("other",)),
    ("via cdn, then other", ("cdn", "other")),
)


class Panel(w.VBox):
    """A form over the lab: set knobs, press Run, compare the model, the kernel and your browser.

        panel = Panel(lab, probe=cors_lab.LiveProbe(lab))   # probe optional: without it, model and kernel only
        panel

    ``panel.knobs()`` gives the current settings as the keyword arguments of ``LabOrigin.url``;
    ``panel.url()`` the permalink; ``panel.run()`` does what the button does (usable headless).
    With an opaque-mode probe (Binder, JupyterHub) the picture comes from the kit's server extension:
    the served-by, redirect and login controls are off (one origin, no cookies from an opaque page).
    """

    def __init__(self, lab, probe=None) -> None:
        self.lab = lab
        self.probe = probe
        self.browser = self._kernel_browser()
        self.last = None  # the last Comparison
        style = {"description_width": "150px"}
        wide = w.Layout(width="440px")
        self.target = w.Dropdown(options=[("cdn (cross-origin, same site)", "cdn"), ("site (same origin)", "site"),
                                          ("other (cross-site)", "other")], value="cdn",
                                 description="image served by", style=style, layout=wide)
        self.asset = w.Dropdown(options=[n for n in ASSET_NAMES], value="picture.png", description="image",
                                style=style, layout=wide)
        self.crossorigin = w.Dropdown(options=CROSSORIGIN_CHOICES, value=ABSENT, description="crossorigin",
                                      style=style, layout=wide)
        self.acao = w.Textarea(value="", placeholder="e.g. * or {page} (the page's origin); one header line per line",
                               description="Allow-Origin (ACAO)", style=style, layout=w.Layout(width="440px", height="52px"))
        self.acac = w.Text(value="", placeholder="e.g. true (empty = no header)", description="Allow-Credentials",
                           style=style, layout=wide)
        self.vary = w.Text(value="", placeholder="e.g. Origin", description="Vary", style=style, layout=wide)
        self.cache = w.Text(value="", placeholder="e.g. max-age=3600", description="Cache-Control", style=style, layout=wide)
        self.apache = w.Checkbox(value=False, description="the guide's Apache rule (ACAO * only when Origin is sent)",
                                 indent=False, layout=wide)
        self.redirect = w.Dropdown(options=REDIRECTS, value=(), description="redirect", style=style, layout=wide)
        self.status = w.Dropdown(options=[301, 302, 303, 307, 308], value=302, description="redirect status",
                                 style=style, layout=wide)
        self.login = w.Checkbox(value=False, description="logged in at the image's server (cookie)", indent=False,
                                layout=wide)
        self.operation = w.Dropdown(options=OPERATIONS, value="getImageData", description="then", style=style, layout=wide)
        self.all_profiles = w.Checkbox(value=False, description="also the model for every engine (Chromium, Firefox, "
                                       "WebKit, the standards)", indent=False, layout=wide)
        self.button = w.Button(description="Run", button_style="primary", icon="play")
        self.clear_cache = w.Button(description="Clear kernel cache", icon="trash", layout=w.Layout(width="auto"))
        self.rebind_button = w.Button(description="Rebind the panel to the running lab", icon="refresh",
                                      layout=w.Layout(width="auto"))
        self.out = w.Output()
        self.button.on_click(lambda _: self.run())
        self.clear_cache.on_click(lambda _: self._clear_cache())
        self.rebind_button.on_click(lambda _: self._rebind_clicked())
        form = w.VBox([self.target, self.asset, self.crossorigin, self.acao, self.acac, self.vary, self.cache,
                       self.apache, self.redirect, self.status, self.login, self.operation, self.all_profiles,
                       w.HBox([self.button, self.clear_cache])])
        children = [form]
        if probe is not None:
            children.append(probe)
        super().__init__(children + [self.out])
        self._fit_mode()
        lab.watch(self._on_lab)

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        live = "and your browser" if self.probe is not None else "only"
        bundle["text/plain"] = f"<Lab panel: set the knobs and press Run (the model and the kernel {live})>"
        return bundle

    @property
    def opaque(self) -> bool:
        """Behind one origin: the live page is opaque (null) and the pictures are the server extension's."""
        return self.probe is not None and self.probe.mode == "opaque"

    def _kernel_browser(self) -> Browser:
        """The kernel browser the panel keeps (its cookies and HTTP cache carry over from Run to Run): on
        the lab's site page, or behind one origin on the opaque page, fetching through the server's address."""
        profile = self._profile()
        if self.opaque:
            return Browser(page="null", transport=Rerouted(self.probe.kernel_url), engine=profile)
        return Browser(self.lab.site, engine=profile)

    def _profile(self) -> str:
        """The engine profile the kernel browser browses as: your browser's (``probe.profile``), else Chromium's."""
        return self.probe.profile if self.probe is not None else DEFAULT_PROFILE

    def _fit_mode(self) -> None:
        for control in (self.target, self.redirect, self.status, self.login):
            control.disabled = self.opaque
        if self.opaque:
            self.login.description = "logged in (not here: an opaque page sends no cookies)"

    # -- the lab it runs on ----------------------------------------------------------------------------

    def rebind(self, lab, probe=None):
        """Run on ``lab`` from now on (and on ``probe``, or the old probe rebound to ``lab``); returns the panel."""
        if not lab.running:
            raise UsageError("rebind needs a running lab: panel.rebind(cors_lab.start()).")
        if probe is not None and probe is not self.probe:
            children = [c for c in self.children if c is not self.probe and c is not self.out]
            self.probe = probe
            self.children = [*children, probe, self.out]
        elif self.probe is not None and self.probe.mode == "site":
            self.probe.rebind(lab)
        if lab is not self.lab:
            self.lab = lab
            lab.watch(self._on_lab)
        self.browser = self._kernel_browser()
        self._fit_mode()
        self.out.clear_output()
        with self.out:
            print(f"This panel now runs on the lab at {lab.site.origin}: press Run.")
        return self

    def _on_lab(self, event: str) -> None:
        if event == "host" and not self.opaque:  # the same servers under another name: the page follows
            self.browser = self._kernel_browser()
        elif event == "stop":
            self.out.clear_output()
            with self.out:
                self._offer_rebind()

    def _offer_rebind(self) -> None:
        from IPython.display import display

        from .servers import running_lab

        running = running_lab()
        where = f" A lab is running at {running.site.origin}." if running is not None else (
            " Start one with lab = cors_lab.start(), then press the button.")
        text = "The lab this panel was built on is stopped, so Run has nothing to ask." + where
        display({"text/html": render.problem(text), "text/plain": text}, raw=True)
        display(self.rebind_button)

    def _rebind_clicked(self) -> None:
        from .servers import running_lab

        running = running_lab()
        if running is None:
            self.out.clear_output()
            with self.out:
                self._offer_rebind()
            return
        self.rebind(running)

    # -- settings --------------------------------------------------------------------------------------

    def knobs(self) -> dict:
        """The form as keyword arguments of ``LabOrigin.url`` (free text kept exactly, one line per header)."""
        page = "null" if self.opaque else self.lab.site.origin
        knobs: dict = {}
        lines = [line.replace("{page}", page) for line in self.acao.value.splitlines()]
        if lines:
            knobs["acao"] = lines if len(lines) > 1 else lines[0]
        for name, box in (("acac", self.acac), ("vary", self.vary), ("cache", self.cache)):
            if box.value:
                knobs[name] = box.value
        if self.apache.value:
            knobs["apache"] = True
        return knobs

    def url(self, *, nonce: bool = False) -> str:
        """The permalink for the current settings (validated: a bad value raises UsageError with the fix).

        ``nonce`` adds a fresh nonce: a run's own URL, which no image list or cache of an earlier run holds
        (a browser shows an image it loaded before in the same page again without asking the server, so a
        run after "logged in" changed would show the old picture)."""
        knobs = self.knobs()
        if nonce:
            knobs["nonce"] = True
        if self.opaque:
            return self.probe.url(self.asset.value, **knobs)
        target = self.lab[self.target.value]
        if not self.redirect.value:
            return target.url(self.asset.value, **knobs)
        hops = [self.lab[label] for label in self.redirect.value] + [target]
        return self.lab.chain(hops, self.asset.value, status=self.status.value, hop_knobs=knobs or None, **knobs)

    # -- running ---------------------------------------------------------------------------------------

    def _clear_cache(self) -> None:
        self.browser.clear_cache()
        with self.out:
            print("The kernel browser's HTTP cache is empty.")

    def run(self):
        """Run the experiment in every engine and show it; returns the Comparison (None on bad input)."""
        self.out.clear_output()
        with self.out:
            try:
                if not self.opaque and not self.lab.running:
                    self._offer_rebind()
                    return None
                url = self.url()
                run_url = self.url(nonce=True)
                if not self.opaque:
                    self._log_in_or_out()
                    self.lab.clear_log()
                crossorigin = None if self.crossorigin.value == ABSENT else self.crossorigin.value
                if self.browser.profile.name != self._profile():
                    # Your browser reported its engine: the kernel browser browses as that one from now
                    # on (a new kernel browser: its cookies and HTTP cache start empty).
                    print(f"The kernel browser now browses as {self._profile()}, your browser's engine "
                          "(its cookies and HTTP cache start empty).")
                    self.browser = self._kernel_browser()
                result = compare(self.lab, run_url, crossorigin, self.operation.value, self.probe, browser=self.browser,
                                 all_profiles=self.all_profiles.value)
                self.last = result
                self._show(result, url)
                return result
            except CorsLabError as err:  # bad input: say what to fix, lose nothing of the form
                print(f"{type(err).__name__}: {err}")
            except Exception:  # noqa: BLE001 - a widget callback must never fail silently
                traceback.print_exc()
        return None

    def _log_in_or_out(self) -> None:
        """The kernel browser and your browser alike: logged out everywhere, then (when ticked) in at the
        image's server as alice. Your browser's visits run before its experiment (`LiveProbe.visit`)."""
        self.browser.clear_cookies()
        target = self.lab[self.target.value]
        if self.probe is not None:
            for origin in (self.lab.site, self.lab.other):  # one per host name: cookies ignore ports
                self.probe.visit(origin.logout_url())
        if self.login.value:
            self.browser.login(target.login_url("alice"))
            if self.probe is not None:
                self.probe.visit(target.login_url("alice"))

    def _show(self, result, url: str) -> None:
        from IPython.display import HTML, display

        display(HTML(f"<div style='overflow-wrap:anywhere'>permalink: <code>{html.escape(url)}</code></div>"))
        display(result)  # with a live probe it fills in your browser's row, and its requests, when they arrive
        kernel = result.outcomes.get("kernel")
        loaded = result.loaded
        if kernel is not None:
            display(HTML(f"<div><b>why:</b> {html.escape(kernel.why)}</div>"))
        if loaded is not None and loaded.decoded is not None:
            canvas = LabCanvas(loaded.decoded.width, loaded.decoded.height)
            try:
                canvas.draw_image(loaded)
            except CorsLabError as err:  # the lesson itself (a broken image): shown, as a browser would throw it
                display(HTML(render.problem(f"drawImage on the kernel canvas threw {type(err).__name__}: {err}")))
            display(w.HBox([canvas.widget, w.HTML(f"<pre>{html.escape(canvas.status())}</pre>")]))
        knobs = self.knobs()
        config = w.Accordion(children=[w.HTML(f"<pre>{html.escape(_config(apache_config, name=self.asset.value, **knobs))}</pre>"),
                                       w.HTML(f"<pre>{html.escape(_config(nginx_config, name=self.asset.value, **knobs))}</pre>")])
        config.set_title(0, "Apache configuration for these headers")
        config.set_title(1, "nginx configuration for these headers")
        display(config)


def _config(generate, **knobs) -> str:
    """The server's config for these knobs, or why that server cannot do what the lab does."""
    try:
        return generate(**knobs)
    except ConfigRefused as refused:
        return f"Refused: {refused}"
