"""What the e2e tests know about the course notebooks: notebook 07's cells, and what to ask its kernel.

Owns the kernel-side expressions (evaluated in the learner's kernel through jupyter_client, JSON back)
and the issue-8 wording the xfail marks quote. If notebook 07's cells move, change PANEL_CELL here.
"""

PANEL_CELL = 3  # "panel = Panel(lab, probe=probe)" in notebook 07
NO_BROWSER = "no browser attached"  # cors_lab.live.NO_BROWSER starts so

# The probe of notebook 07, its tickets and results, and every Comparison the notebook displayed.
PROBE_STATE = """{
  "mode": probe.mode, "problem": probe.problem, "status": probe.status, "errors": probe.errors,
  "failures": probe.failures, "urls": {k: t.url for k, t in probe.tickets.items()},
  "results": {k: {"load": o.load, "readback": o.readback, "exception": o.exception, "page": o.page,
                  "message": o.message, "pixel": o.pixel and list(o.pixel)} for k, o in probe.results.items()},
  "comparisons": [{"agree": c.agree, "browser": c.outcomes.get("browser") and c.outcomes["browser"].load,
                   "notes": c.notes, "text": str(c)}
                  for c in Out.values() if type(c).__name__ == "Comparison"],
}"""

# The lab panel: what its output area shows and its last Comparison (pixels of each engine included).
PANEL_STATE = """{
  "outputs": [o.get("text") or o.get("data", {}).get("text/plain", "") for o in panel.out.outputs],
  "last": panel.last and {
      "agree": panel.last.agree, "text": str(panel.last), "url": panel.last.url,
      "browser": panel.last.outcomes.get("browser") and repr(panel.last.outcomes["browser"]),
      "pixels": {k: o.pixel and list(o.pixel) for k, o in panel.last.outcomes.items() if o is not None}},
}"""

# Every request the lab's servers saw, oldest first.
LOG_STATE = """[{"server": e.server, "client": e.client, "method": e.method, "path": e.path, "origin": e.origin,
  "cookies": e.cookies, "status": e.status} for e in lab.log()]"""

ISSUE8_HUB = ("issue 8: Notebook 07 halts on JupyterHub/Binder: cell 2 queues lab.cdn.url(...) loopback URLs the "
              "learner's browser cannot reach (both experiments show 'error event: not loaded', no warning), and "
              "cell 3's compare(..., probe) raises UsageError: compare() needs a site-mode probe, stopping Run All")
ISSUE8_PANEL = "issue 8: on JupyterHub/Binder the panel cannot run live either (compare() needs a site-mode probe)"
ISSUE8_NBVAL = ("issue 8: the same failure reproduces headless: run notebook 07 under nbval with "
                "JUPYTERHUB_SERVICE_PREFIX set")
ISSUE8_HOST = ("issue 8: The README's launch command puts learners in the broken case: `jupyter lab "
               "notebooks/00-start-here.ipynb` opens http://localhost:PORT/lab, while cors_lab.start() defaults "
               "to 127.0.0.1; notebook 07 then warns on every run")
ISSUE8_FIX = ("issue 8: the fix it prints (lab.stop(); lab = cors_lab.start(host=\"localhost\"); probe = "
              "LiveProbe(lab)) raises NameError: name 'LiveProbe' is not defined")
ISSUE8_STALE = ("issue 8: After the fix, the panel built earlier stays bound to the stopped lab: its Run gives "
                "\"connection refused\" and still says \"all engines agree\"")
ISSUE8_STATUS = ("issue 8: Under Run All, cell 2 prints \"no browser attached\" right under a box saying "
                 "\"ready: your browser (Chrome 156)\"")
ISSUE8_TWICE = ("issue 8: Every live experiment runs twice when the probe is shown twice (cell 1 and inside the "
                "panel): both views run each queued trial (two browser GETs per Run)")
ISSUE8_COLUMN = "issue 8 (smaller): the server-log table overflows Notebook 7's column"
ISSUE8_AGREE = ("issue 8: \"All engines that answered agree\" when they did not: with the panel's \"logged in\" box "
                "ticked, the kernel browser draws alice's picture, the live browser gets the logged-out grey")
