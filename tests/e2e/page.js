// What the e2e tests read from a JupyterLab or Notebook 7 page (added with Playwright's add_init_script).
// Owns: the notebook's kernel state, Run All (or one cell) and its end, each cell's outputs and tags,
// the live probes' data-* state, element widths, scrolling. Must not change the notebook: it reads,
// runs cells as the menu does, scrolls, and may collapse JupyterLab's left area. Both apps expose the application as window.jupyterapp when started
// with expose_app_in_browser.
(() => {
  if (window.top !== window) return; // not inside the probe's iframes

  // The notebook in the main area. JupyterLab tracks the current widget by focus; a WebKitGTK window on
  // Xvfb never gets focus, so there the notebook is found among the main area's widgets and activated
  // (the notebook commands, Run All included, act on the current one).
  const panel = () => {
    const app = window.jupyterapp;
    if (!app) return null;
    if (app.shell.currentWidget) return app.shell.currentWidget;
    for (const w of app.shell.widgets("main")) {
      if (w.sessionContext && w.content) {
        app.shell.activateById(w.id);
        return w;
      }
    }
    return null;
  };
  const kernel = () => {
    const w = panel();
    const s = w && w.sessionContext && w.sessionContext.session;
    return s ? s.kernel : null;
  };
  const codeCells = () => (panel() && panel().content ? panel().content.widgets : []).filter((c) => c.model.type === "code");
  let run = null; // {ok, error?} once the last command's promise settled
  function start(command) {
    run = null;
    window.jupyterapp.commands.execute(command).then(
      (ok) => { run = { ok: ok !== false }; },
      (err) => { run = { ok: false, error: String(err) }; }
    );
  }

  function outputsOf(cell) {
    return cell.model.outputs.toJSON().map((o) => ({
      type: o.output_type,
      name: o.name || null,
      ename: o.ename || null,
      evalue: o.evalue || null,
      text: o.output_type === "stream" ? String(o.text) : o.data ? String(o.data["text/plain"] || "") : "",
      widget: !!(o.data && o.data["application/vnd.jupyter.widget-view+json"]),
    }));
  }

  window.corsLabE2E = {
    kernelIdle() {
      const k = kernel();
      return !!k && k.status === "idle";
    },
    kernelId() {
      return kernel().id;
    },
    runAll() {
      start("notebook:run-all-cells");
    },
    // Runs code cell i alone (as selecting it and pressing Shift+Enter would).
    runCell(i) {
      const nb = panel().content;
      nb.activeCellIndex = nb.widgets.indexOf(codeCells()[i]);
      start("notebook:run-cell");
    },
    // The result of the last runAll/runCell ({ok}) once its promise settled, the kernel is idle and
    // no cell waits ("[*]"); null before.
    runDone() {
      if (!run || !this.kernelIdle()) return null;
      const busy = codeCells().some((c) => /\*/.test(c.promptNode ? c.promptNode.textContent : ""));
      return busy ? null : run;
    },
    cells() {
      return codeCells().map((c, i) => ({
        index: i,
        source: c.model.sharedModel.getSource(),
        count: c.model.executionCount,
        tags: c.model.getMetadata("tags") || [],
        outputs: outputsOf(c),
        rendered: c.outputArea ? c.outputArea.node.textContent : "",
      }));
    },
    probes() {
      return [...document.querySelectorAll(".cors-lab-live-probe")].map((el) => {
        const notice = el.querySelector(".cors-lab-live-notice");
        const line = el.querySelector(".cors-lab-live-line");
        return {
          ...el.dataset,
          notice: notice && notice.style.display !== "none" ? notice.textContent : "",
          line: line ? line.textContent : "",
        };
      });
    },
    hideLeftArea() {
      if (window.jupyterapp.commands.hasCommand("application:toggle-left-area") && !window.jupyterapp.shell.leftCollapsed) {
        window.jupyterapp.commands.execute("application:toggle-left-area");
      }
    },
    // True once one probe view has finished every ticket id in `tickets`.
    probeDone(tickets) {
      return this.probes().some((p) => tickets.every((t) => (p.corsLabDone || "").split(" ").includes(t)));
    },
    // For each element matching `selector`: its width, its content's, and the width of the cell output area it sits in.
    widths(selector) {
      return [...document.querySelectorAll(selector)].map((el) => {
        const area = el.closest(".jp-Cell-outputArea, .jp-OutputArea") || el.parentElement;
        // width: the element's box; scroll: its content (wider than the box when something overflows it).
        return { width: Math.ceil(el.getBoundingClientRect().width), scroll: el.scrollWidth,
                 room: Math.floor(area.getBoundingClientRect().width) };
      });
    },
    // How many <canvas> elements code cell i's output shows (ipycanvas draws into one).
    canvasesIn(i) {
      const cell = codeCells()[i];
      return cell && cell.outputArea ? cell.outputArea.node.querySelectorAll("canvas").length : 0;
    },
    scrollTo(selector) {
      const all = document.querySelectorAll(selector);
      if (all.length) all[all.length - 1].scrollIntoView({ block: "start" });
      return all.length;
    },
    scrollToCell(i) {
      const cell = codeCells()[i];
      const nb = panel().content;
      nb.activeCellIndex = nb.widgets.indexOf(cell);
      if (typeof nb.scrollToItem === "function") nb.scrollToItem(nb.activeCellIndex, "start");
      cell.node.scrollIntoView({ block: "start" });
    },
  };
})();
