"""Random differential testing: generated scenarios through the model, the kernel browser and an engine.

Owns the scenario generator (every dimension the lab and the model support, from a seed), the
minimizer (delta debugging over a scenario's dimensions: a simplification is kept while the same
disagreement remains), the grouping of disagreements into classes, and the report. It runs
scenarios through `cors_lab.conformance.run`, so any started engine (`cors_lab.engines`: Chromium,
Firefox ESR, WebKitGTK) plugs in, predicted with its own model profile. It decides no rule itself.

    python -m cors_lab conformance --random 2000 --seed 7     # the README's longer run
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from . import conformance
from .errors import UsageError
from .predict import OPERATIONS
from .scenarios import LabScenario
from .spec.fetch import REDIRECT_STATUSES

SEED_ENV = "CORS_LAB_SEED"
ORIGINS = ("site", "cdn", "other")
# The Access-Control-Allow-Origin forms a hop may send ("{page}": the page's origin, "{wrong}":
# another lab origin; cors_lab.scenarios fills them in), with how often each is drawn.
ACAO_FORMS: dict[str, tuple[object, int]] = {
    "absent": (None, 4),
    "star": ("*", 4),
    "exact": ("{page}", 4),
    "null": ("null", 1),
    "wrong": ("{wrong}", 1),
    "trailing-slash": ("{page}/", 1),
    "two-headers": (["{page}", "{page}"], 1),
    "two-values": ("{page}, {wrong}", 1),
    "padded": (" {page} ", 1),
    "padded-star": (" * ", 1),
    "upper-case": ("{PAGE}", 1),
}
ACAC_FORMS: tuple[tuple[object, int], ...] = ((None, 6), (True, 4), ("True", 1), (" true", 1))
CROSSORIGIN_FORMS: tuple[tuple[str | None, int], ...] = (
    (None, 4), ("", 1), ("anonymous", 3), ("use-credentials", 3), ("Anonymous", 1), ("USE-CREDENTIALS", 1), ("foo", 1),
)
# Content types a server may send for a picture: none at all, text and document types, XML, other
# images, and the types Opaque Response Blocking names.
CTYPES = (
    "", "text/plain", "text/html", "application/json", "text/xml", "application/xml", "image/svg+xml",
    "image/jpeg", "image/png", "application/octet-stream", "application/pdf", "application/zip",
    "application/gzip", "text/csv", "application/msword", "text/event-stream", "video/mp4", "text/css",
    "application/javascript", "image/x-unknown",
)
CACHES = ("max-age=3600", "no-store", "no-cache", "max-age=0")
ASSETS = ("picture.png", "picture.jpg", "picture.gif", "picture.webp", "picture.avif", "picture.bmp",
          "picture.ico", "picture.svg", "secret.png")
SAMESITES = ("Lax", "Strict", "None")


def fresh_seed() -> int:
    """$CORS_LAB_SEED when set (to repeat a run), else a new seed from the clock."""
    text = os.environ.get(SEED_ENV)
    if text:
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"${SEED_ENV} must be an integer seed, not {text!r}.") from None
    return int(time.time() * 1000) % 1_000_000_007


def _pick(rng: random.Random, table) -> object:
    values, weights = zip(*table)
    return rng.choices(values, weights=weights)[0]


def _acao(rng: random.Random) -> tuple[tuple[str, object], ...]:
    value = _pick(rng, ACAO_FORMS.values())
    knobs: tuple[tuple[str, object], ...] = () if value is None else (("acao", value),)
    acac = _pick(rng, ACAC_FORMS)
    return knobs + ((("acac", acac),) if acac is not None else ())


def random_scenario(rng: random.Random, *, name: str) -> LabScenario:
    """One scenario drawn over every dimension: page (an origin, or an opaque frame in a top page),
    0-3 redirect hops with their own status and ACAO, crossorigin, the final response's headers
    and body, a login with its SameSite, an earlier load (the cache), the operation."""
    page = _pick(rng, (("site", 4), ("cdn", 2), ("other", 2), ("null", 3)))
    top = rng.choice((None, "site", "cdn", "other")) if page == "null" else None
    via = tuple(rng.choice(ORIGINS) for _ in range(_pick(rng, ((0, 5), (1, 3), (2, 2), (3, 1)))))
    per_hop = tuple((("status", rng.choice(REDIRECT_STATUSES)),) + _acao(rng) for _ in via)
    asset = rng.choice(ASSETS) if rng.random() < 0.4 else "picture.png"
    knobs = list(_acao(rng))
    if rng.random() < 0.08:
        knobs.append(("apache", True))
    if rng.random() < 0.08:
        knobs.append(("vary", rng.choice(("Origin", "Accept", "*"))))
    if rng.random() < 0.1:
        knobs.append(("cache", rng.choice(CACHES)))
    status = _pick(rng, ((None, 20), (404, 1), (500, 1)))
    if status:
        knobs.append(("status", status))
        if rng.random() < 0.3:
            knobs.append(("errorpage", True))
    errorpage = ("errorpage", True) in knobs
    if not errorpage and rng.random() < 0.12:
        knobs.append(("ctype", rng.choice(CTYPES)))
    if rng.random() < 0.05:
        knobs.append(("validators", False))
    elif rng.random() < 0.05:
        knobs.append(("age", rng.choice((0, 60, 86400, 30 * 86400))))
    if rng.random() < 0.08:
        knobs.append(("nosniff", True))
    if rng.random() < 0.08:
        knobs.append(("truncate", int(rng.choice((rng.randrange(0, 64), rng.randrange(0, 700))))))
    login = rng.random() < 0.25
    if login and page == "null" and top is None:
        top = "site"  # a login visit navigates the tab, so the frame's top cannot stay the tab's first about:blank
    before = (_pick(rng, CROSSORIGIN_FORMS),) if rng.random() < 0.1 else ()
    return LabScenario(
        name, target=rng.choice(ORIGINS), crossorigin=_pick(rng, CROSSORIGIN_FORMS), operation=rng.choice(OPERATIONS),
        knobs=tuple(knobs), via=via, per_hop=per_hop, page=page, top=top, before=before, login=login,
        samesite=rng.choice(SAMESITES) if login else "Lax", broken=None, asset=asset, tags=("random",),
        source=f"cors_lab.differential seed {name}",
    )


def random_scenarios(n: int, *, seed: int) -> list[LabScenario]:
    """``n`` scenarios drawn from ``seed``: the same seed always gives the same scenarios."""
    if not isinstance(n, int) or n < 0:
        raise UsageError(f"n must be a number of scenarios (an int >= 0), not {n!r}.")
    rng = random.Random(seed)
    return [random_scenario(rng, name=f"random/{seed}/{i:05d}") for i in range(n)]


def describe(s: LabScenario) -> str:
    """One line a person can read and re-create: every dimension that is not its default."""
    where = f"page={s.page}" + (f" in top={s.top or 'about:blank'}" if s.page == "null" else "")
    hops = [f"{origin}({dict(k).get('status', s.status)}{_knob_text(k, skip=('status',))})"
            for origin, k in zip(s.via, s.per_hop or [s.hop_knobs] * len(s.via))]
    chain = " > ".join(hops + [f"{s.target}/{s.asset}{_knob_text(s.knobs)}"])
    parts = [where, chain, f"crossorigin={s.crossorigin!r}", s.operation]
    if s.login:
        parts.append(f"logged in (SameSite={s.samesite})")
    if s.before:
        parts.append(f"after loads with crossorigin={', '.join(map(repr, s.before))}")
    return "; ".join(parts)


def _knob_text(knobs: Iterable[tuple[str, object]], *, skip: tuple[str, ...] = ()) -> str:
    shown = [f"{k}={v!r}" if not isinstance(v, bool) else k for k, v in knobs if k not in skip]
    return f" [{' '.join(shown)}]" if shown else ""


# --- Minimizing ---------------------------------------------------------------------------------


def simplifications(s: LabScenario) -> Iterator[LabScenario]:
    """Every scenario one step simpler than ``s`` (one dimension dropped or set to its plainest
    value), the biggest steps first: delta debugging with one dimension as the unit."""
    if s.before:
        yield replace(s, before=())
    if s.login:
        yield replace(s, login=False, samesite="Lax")
    if s.samesite != "Lax" and s.login:
        yield replace(s, samesite="Lax")
    for i in range(len(s.via)):
        yield replace(s, via=s.via[:i] + s.via[i + 1:], per_hop=s.per_hop[:i] + s.per_hop[i + 1:] if s.per_hop else ())
    if s.page == "null" and s.top is not None and not s.login:
        yield replace(s, top=None)
    if s.page != "site":
        yield replace(s, page="site", top=None)
    for i in range(len(s.knobs)):
        yield replace(s, knobs=s.knobs[:i] + s.knobs[i + 1:])
    for h, hop in enumerate(s.per_hop):
        for i, (k, v) in enumerate(hop):
            if k == "status" and v == 302:
                continue
            simpler = hop[:i] + ((("status", 302),) if k == "status" else ()) + hop[i + 1:]
            yield replace(s, per_hop=s.per_hop[:h] + (simpler,) + s.per_hop[h + 1:])
    if s.crossorigin not in (None, "anonymous"):
        yield replace(s, crossorigin="anonymous")
    if s.crossorigin is not None:
        yield replace(s, crossorigin=None)
    if s.operation != "getImageData":
        yield replace(s, operation="getImageData")
    if s.asset != "picture.png":
        yield replace(s, asset="picture.png")
    if s.target != "cdn":
        yield replace(s, target="cdn")


def minimize(
    scenario: LabScenario,
    still_fails: Callable[[LabScenario], bool],
    *,
    budget: int = 80,
) -> tuple[LabScenario, int]:
    """The smallest scenario reachable from ``scenario`` by `simplifications` for which
    ``still_fails`` holds (greedy, to a fixed point or ``budget`` tries); and the tries made."""
    current, tries = scenario, 0
    progress = True
    while progress and tries < budget:
        progress = False
        for candidate in simplifications(current):
            if tries >= budget:
                break
            tries += 1
            if still_fails(candidate):
                current, progress = candidate, True
                break
    return current, tries


# --- Grouping -----------------------------------------------------------------------------------


def _abstract(value: object, labels: dict[str, str]) -> object:
    """A logged value with the lab's ports and nonces taken out: "site/" (an origin's root), "site
    URL" (a URL with a path), "site" (an origin)."""
    if not isinstance(value, str):
        return value
    for origin, label in labels.items():
        if value == origin:
            return label
        if value.startswith(origin + "/"):
            return f"{label}/" if value == origin + "/" else f"{label} URL"
    return value


def difference_keys(row: conformance.Row, labels: dict[str, str]) -> frozenset[tuple]:
    """What a row disagrees on, with ports, nonces and request numbers taken out, so scenarios
    that disagree the same way get the same keys."""
    keys: set[tuple] = set()
    if row.error:
        keys.add(("error", row.error.split(":", 1)[0]))
    engine = row.real
    if engine is None:
        pairs = [("model", row.model, row.kernel)]
    else:
        pairs = [("model", row.model, engine), ("kernel", row.kernel, engine)]
    for name, mine, theirs in pairs:
        if mine is None or theirs is None:
            continue
        for f in ("load", "readback", "exception"):
            if getattr(mine, f) != getattr(theirs, f):
                keys.add(("verdict", name, f, getattr(mine, f), getattr(theirs, f)))
    reference = row.real_requests if engine is not None else row.kernel_requests
    requests = [("model", row.model_requests)] + ([("kernel", row.kernel_requests)] if engine is not None else [])
    for name, mine in requests:
        if name == "model" and row.model is None:
            continue
        if len(mine) != len(reference):
            keys.add(("requests", name, "fewer" if len(mine) < len(reference) else "more"))
            continue
        for m, t in zip(mine, reference):
            for f in conformance.REQUEST_FIELDS:
                if m.get(f) != t.get(f):
                    keys.add(("request", name, f, _abstract(m.get(f), labels), _abstract(t.get(f), labels)))
    return frozenset(keys)


def key_text(key: tuple) -> str:
    kind, *rest = key
    if kind == "verdict":
        name, f, mine, theirs = rest
        return f"{f}: {name} {mine!r}, engine {theirs!r}"
    if kind == "request":
        name, f, mine, theirs = rest
        return f"request {f}: {name} {mine!r}, engine {theirs!r}"
    if kind == "requests":
        return f"{rest[0]} made {rest[1]} requests than the engine"
    return f"run error: {rest[0]}"


@dataclass
class Example:
    """One disagreeing scenario, and the smallest scenario minimizing kept the disagreement in."""

    scenario: LabScenario
    key: tuple  # the difference minimizing kept
    minimized: LabScenario | None = None
    minimized_row: conformance.Row | None = None
    tries: int = 0
    reproduced: bool = True


@dataclass
class DisagreementClass:
    """Disagreements with one cause: every difference key whose minimized examples came down to
    the same smallest scenario, that scenario, and the rows showing any of those keys."""

    keys: set[tuple]
    example: Example
    rows: list[conformance.Row] = field(default_factory=list)
    known: str | None = None

    @property
    def title(self) -> str:
        return "; ".join(sorted(key_text(k) for k in self.keys)) or "(no difference left)"


@dataclass
class RandomReport:
    """A random run: its seed, every row, the classes of disagreement with a minimized example each."""

    seed: int
    engine: str
    rows: list[conformance.Row]
    classes: list[DisagreementClass]
    keys: dict[tuple, int]  # every difference key -> how many rows show it
    wall_s: float
    minimize_s: float = 0.0

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def verdicts_agree(self) -> int:
        return sum(not r.error and not r.verdict_differences for r in self.rows)

    @property
    def requests_agree(self) -> int:
        return sum(not r.error and not r.request_differences for r in self.rows)

    @property
    def agree(self) -> int:
        return sum(r.agrees for r in self.rows)

    @property
    def disagreeing(self) -> list[conformance.Row]:
        return [r for r in self.rows if not r.agrees]

    @property
    def unexplained(self) -> list[conformance.Row]:
        """Disagreeing rows no entry of `KNOWN` explains."""
        return [r for r in self.disagreeing if not known_deviation(r)]

    def text(self) -> str:
        pct = (lambda k: f"{100 * k / self.total:.2f}%") if self.total else (lambda k: "-")
        lines = [
            f"random differential run: seed {self.seed}, {self.total} scenarios, "
            + (f"model and kernel browser vs {self.engine}" if self.engine != "kernel browser" else "model vs kernel browser"),
            f"agree: {self.agree}/{self.total} ({pct(self.agree)}); verdicts {self.verdicts_agree} ({pct(self.verdicts_agree)}),"
            f" requests {self.requests_agree} ({pct(self.requests_agree)}); known deviations"
            f" {len(self.disagreeing) - len(self.unexplained)}",
            f"wall time {self.wall_s:.1f} s (minimizing {self.minimize_s:.1f} s); repeat with --seed {self.seed}",
        ]
        if self.keys:
            lines += ["", "differences (scenarios showing each):"]
            lines += [f"  {count:5d}  {key_text(key)}" for key, count in sorted(self.keys.items(), key=lambda kv: -kv[1])]
        for n, c in enumerate(self.classes, 1):
            ex = c.example
            lines += ["", f"class {n} ({len(c.rows)} scenario(s) show its differences): {c.title}"
                      + (f"  [known: {c.known}]" if c.known else "")]
            lines.append(f"  found in {ex.scenario.id}: {describe(ex.scenario)}")
            if ex.minimized is not None:
                lines.append(f"  minimized ({ex.tries} tries): {describe(ex.minimized)}")
                for problem in (ex.minimized_row.problems if ex.minimized_row else []):
                    lines.append(f"    {problem}")
            elif not ex.reproduced:
                lines.append("  did not disagree when run again (flaky)")
        return "\n".join(lines)


# Disagreements that are understood and deliberately left: (name, why with a link, predicate).
# A CI run fails on any disagreement not matched here.
def _truncated(s: LabScenario) -> bool:
    return any(name == "truncate" for name, _ in s.knobs)


KNOWN: tuple[tuple[str, str, Callable[[conformance.Row], bool]], ...] = (
    ("decoding-a-cut-image",
     "not modelled yet: Chromium 156 rejects createImageBitmap (InvalidStateError) and texImage2D (INVALID_VALUE) "
     "of an image that loaded but was cut short, as it cannot decode it whole; the model sees a loaded image "
     "(random seeds 8813960, 20261130)",
     lambda r: r.scenario.operation in ("createImageBitmap", "texImage2D") and _truncated(r.scenario)),
    ("image-cache-across-documents",
     "not modelled yet: Firefox ESR 153's and WebKitGTK 2.50's image caches outlive a document (an opaque page's "
     "new frame shows an image loaded before without a request), and Firefox re-requests a redirect it took "
     "before; the kit models HTML's per-document list only (random seeds 8812001, 8813993, 19654180)",
     lambda r: bool(r.scenario.before) and (
         (r.engine == "firefox" and (bool(r.scenario.via) or r.scenario.page == "null"))
         or (r.engine == "webkit" and r.scenario.page == "null"))),
    ("webkit-undecodable-load-refetched",
     "not modelled yet: WebKitGTK 2.50 asks the server again for an image whose earlier load did not decode (a "
     "video or pdf type, a cut body), where the model reuses the cached response (random seed 20018965)",
     lambda r: r.engine == "webkit" and bool(r.scenario.before) and (_truncated(r.scenario) or any(
         name == "ctype" and str(value).startswith(("video/", "application/pdf", "multipart/x-mixed-replace"))
         for name, value in r.scenario.knobs))),
    ("webkit-cors-load-reused-for-no-cors",
     "not modelled yet: WebKitGTK 2.50 shows an image loaded in CORS mode again for a later load of the same URL "
     "in another mode (random seed 8813108)",
     lambda r: r.engine == "webkit" and bool(r.scenario.before) and not r.verdict_differences),
)


def known_deviation(row: conformance.Row) -> str | None:
    for name, why, matches in KNOWN:
        if matches(row):
            return f"{name}: {why}"
    return None


def lab_labels(lab) -> dict[str, str]:
    return {o.origin: o.label for o in lab.origins}


def count_keys(rows: list[conformance.Row], labels: dict[str, str]) -> dict[tuple, int]:
    counts: dict[tuple, int] = {}
    for row in rows:
        if not row.agrees:
            for key in difference_keys(row, labels):
                counts[key] = counts.get(key, 0) + 1
    return counts


def run_random(
    n: int,
    *,
    seed: int,
    lab,
    harness=None,
    engine: str = "Chromium",
    examples_per_key: int = 2,
    minimize_budget: int = 80,
    progress=None,
) -> RandomReport:
    """``n`` random scenarios through the model, the kernel browser and ``harness`` (None: model vs
    kernel only); for each kind of difference, up to ``examples_per_key`` examples minimized (each
    candidate run again in every engine), and the examples grouped into classes by what they
    minimized to."""
    t0 = time.perf_counter()
    rows = conformance.run(random_scenarios(n, seed=seed), lab=lab, harness=harness, progress=progress)
    labels = lab_labels(lab)
    t1 = time.perf_counter()
    classes = classify(rows, lab=lab, harness=harness, labels=labels, examples_per_key=examples_per_key,
                       budget=minimize_budget, seed=seed)
    return RandomReport(seed, engine if harness is not None else "kernel browser", rows, classes,
                        count_keys(rows, labels), wall_s=time.perf_counter() - t0,
                        minimize_s=time.perf_counter() - t1)


def classify(rows, *, lab, harness, labels, examples_per_key: int = 2, budget: int = 80,
             seed: int = 0) -> list[DisagreementClass]:
    """Group disagreeing rows into classes of cause.

    For every difference key, up to ``examples_per_key`` rows showing it (those with the fewest
    other differences first) are minimized while that key remains; examples that minimize to the
    same scenario are one class. A row belongs to every class one of whose keys it shows.
    """
    bad = [(r, difference_keys(r, labels)) for r in rows if not r.agrees]
    if not bad or examples_per_key <= 0:
        return []
    rng = random.Random(seed)

    def keys_of(s: LabScenario) -> tuple[frozenset, conformance.Row]:
        (row,) = conformance.run([s], lab=lab, harness=harness)
        return difference_keys(row, labels), row

    classes: dict[str, DisagreementClass] = {}
    all_keys = sorted({k for _, keys in bad for k in keys}, key=repr)
    for key in all_keys:
        showing = [(r, keys) for r, keys in bad if key in keys]
        rng.shuffle(showing)
        showing.sort(key=lambda rk: len(rk[1]))
        if any(key in c.keys for c in classes.values()) and len(showing) <= 1:
            continue  # its only row was minimized for another key already
        for row, _ in showing[:examples_per_key]:
            ex = Example(row.scenario, key)
            again, _ = keys_of(row.scenario)
            if key not in again:
                ex.reproduced = False
                classes.setdefault(f"flaky {key!r}", DisagreementClass({key}, ex))
                continue

            def still_fails(candidate: LabScenario, key=key) -> bool:
                try:
                    found, _ = keys_of(candidate)
                except UsageError:  # a simplification the lab refuses (e.g. errorpage without a status)
                    return False
                return key in found

            ex.minimized, ex.tries = minimize(row.scenario, still_fails, budget=budget)
            final_keys, ex.minimized_row = keys_of(ex.minimized)
            shape = describe(ex.minimized)
            c = classes.get(shape)
            if c is None:
                c = classes[shape] = DisagreementClass(set(), ex, known=known_deviation(ex.minimized_row))
            c.keys |= {key} | (final_keys if key in final_keys else set())
    for c in classes.values():
        c.rows = [r for r, keys in bad if keys & c.keys]
    return sorted(classes.values(), key=lambda c: -len(c.rows))


__all__ = [
    "ACAO_FORMS",
    "DisagreementClass",
    "Example",
    "KNOWN",
    "RandomReport",
    "SEED_ENV",
    "classify",
    "count_keys",
    "describe",
    "difference_keys",
    "fresh_seed",
    "minimize",
    "random_scenario",
    "random_scenarios",
    "run_random",
    "simplifications",
]
