"""What the e2e tests know about the course notebooks: notebook 07's cells, and what to ask its kernel.

Owns the kernel-side expressions (evaluated in the learner's kernel through jupyter_client, JSON back).
If notebook 07's cells move, change PANEL_CELL here.
"""

PANEL_CELL = 4  # "panel = Panel(lab, probe=probe)" in notebook 07 (code cells: lab, runs, ask, compare, panel)
# What cell 2 printed under Run All before issue 8: "no browser attached", while the page said "ready".
OLD_NO_BROWSER = "no browser attached"


def probe_state(name: str = "probe") -> str:
    """The probe called ``name`` in the kernel, its lab, tickets and results, and every Comparison shown."""
    return f"""{{
  "mode": {name}.mode, "problem": {name}.problem, "status": {name}.status, "errors": {name}.errors,
  "ready": {name}.ready, "lab_host": {name}.lab.host, "lab_host_why": {name}.lab.host_why,
  "site": {name}.lab.site.origin, "failures": {name}.failures,
  "urls": {{k: t.url for k, t in {name}.tickets.items()}},
  "results": {{k: {{"load": o.load, "readback": o.readback, "exception": o.exception, "page": o.page,
                  "url": o.url, "message": o.message, "pixel": o.pixel and list(o.pixel)}}
              for k, o in {name}.results.items()}},
  "comparisons": [{{"agree": c.agree, "browser": c.outcomes.get("browser") and c.outcomes["browser"].load,
                   "notes": c.notes, "text": str(c), "page": c.page, "url": c.url,
                   "models": {{k: o.verdict for k, o in c.outcomes.items() if o is not None}}}}
                  for c in Out.values() if type(c).__name__ == "Comparison"],
}}"""


PROBE_STATE = probe_state()

# The lab panel: what its output area shows and its last Comparison (pixels and requests of each engine).
PANEL_STATE = """{
  "outputs": [o.get("text") or o.get("data", {}).get("text/plain", "") for o in panel.out.outputs],
  "last": panel.last and {
      "agree": panel.last.agree, "text": str(panel.last), "url": panel.last.url, "page": panel.last.page,
      "browser": panel.last.outcomes.get("browser") and repr(panel.last.outcomes["browser"]),
      "pixels": {k: o.pixel and list(o.pixel) for k, o in panel.last.outcomes.items() if o is not None},
      "requests": {k: v and [r and {"origin": r.origin, "cookies": r.cookies, "seen": r.seen} for r in v]
                   for k, v in panel.last.requests.items()}},
}"""

# Every request the lab's servers saw, oldest first.
LOG_STATE = """[{"server": e.server, "client": e.client, "method": e.method, "path": e.path, "origin": e.origin,
  "cookies": e.cookies, "status": e.status} for e in lab.log()]"""

TAINTED_CELL = 6  # notebook 01's code cell that draws the foreign picture on the tainted canvas
