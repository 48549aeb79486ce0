"""JupyterLab or Notebook 7 started the way the README starts it, on a copy of the notebooks.

Owns the launch: ``jupyter lab notebooks/00-start-here.ipynb`` (or ``jupyter notebook``) with Jupyter's
DEFAULT address, which is ``localhost`` (the browser then opens ``http://localhost:PORT/lab``), or an
explicit ``--ServerApp.ip`` (``127.0.0.1``). Adds only what a test needs and a learner would not see:
no browser, a free port, a known token, ``expose_app_in_browser`` (window.jupyterapp), the news toast
off, private runtime/settings/workspace/config directories, and ``--allow-root``. The kit's server
extension is NOT enabled unless asked (``extension=True``): then the kit's own command does it, into
the server's private config directory, as ``python -m cors_lab enable-extension`` would into an
environment. ``base_url`` serves under a prefix, as a JupyterHub single-user server does.
Every process is marked (``procs.MARKER``) and swept on ``stop``. ``JupyterPool`` keeps one started server
per (app, address, extension) for tests that only open notebooks in it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import requests

from . import procs
from .hub import free_ports
from .notebook import QUIET_LAB, ROOT, write_lab_settings

START_TIMEOUT_S = 60
APP_CLASS = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}
# Paths of one notebook in each app. Jupyter serves the directory of the file named on its command line
# (notebooks/), as the README's `jupyter lab notebooks/00-start-here.ipynb` does.
NOTEBOOK_PATH = {"lab": "lab/workspaces/e2e{ws}/tree/{name}.ipynb", "notebook": "notebooks/{name}.ipynb"}
ONE_ORIGIN_ENV = ("JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_SERVICE_URL", "JUPYTERHUB_API_URL",
                  "JUPYTERHUB_PUBLIC_URL", "BINDER_LAUNCH_HOST", "BINDER_REPO_URL")


class JupyterServer(procs.Service):
    """``jupyter lab`` / ``jupyter notebook`` on a copy of ``notebooks`` in a directory of its own.

    ``ip=None`` is Jupyter's default (``localhost``), ``url`` then uses ``localhost`` like the address
    Jupyter prints; ``ip="127.0.0.1"`` binds and browses there. ``open`` is the notebook named on the
    command line (its folder is the server's root). ``url`` ends without a slash; ``base`` is ``url``
    plus the base URL, ending with one.
    """

    def __init__(self, *, app: str = "lab", root: Path, notebooks: Path, ip: str | None = None,
                 extension: bool = False, base_url: str = "/", open: str = "00-start-here") -> None:
        if app not in APP_CLASS:
            raise ValueError(f"app must be one of {sorted(APP_CLASS)}")
        super().__init__()
        self.name = f"jupyter {app}"
        self.app, self.root, self.notebooks, self.ip, self.extension = app, root, notebooks, ip, extension
        self.base_url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
        self.open_name = open
        (self.port,) = free_ports(1)
        self.token = self.secret = secrets.token_hex(16)
        self.url = f"http://{ip or 'localhost'}:{self.port}"
        self.base = self.url + self.base_url
        self.runtime = root / "runtime"
        self.log_path = root / f"jupyter-{app}.log"

    def notebook_url(self, name: str, *, host: str | None = None) -> str:
        """The browser's address of notebook ``name`` (e.g. "07-your-browser"), token included; ``host``
        browses under another name than the server's own (e.g. 127.0.0.1 for a server at localhost)."""
        base = self.base if host is None else self.base.replace(f"//{self.ip or 'localhost'}:", f"//{host}:", 1)
        path = NOTEBOOK_PATH[self.app].format(name=name, ws=secrets.token_hex(4))
        return f"{base}{path}?reset&token={self.token}"

    def start(self) -> JupyterServer:
        shutil.copytree(self.notebooks, self.root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        settings = write_lab_settings(self.root / "settings", QUIET_LAB)
        config = self.root / "config"
        env = {k: v for k, v in os.environ.items() if k not in ONE_ORIGIN_ENV}
        env.update({"JUPYTER_RUNTIME_DIR": str(self.runtime), "JUPYTER_CONFIG_DIR": str(config),
                    "JUPYTERLAB_SETTINGS_DIR": str(settings),
                    "JUPYTERLAB_WORKSPACES_DIR": str(self.root / "workspaces")})
        if self.extension:  # the kit's own command, into this server's private config directory
            done = subprocess.run([sys.executable, "-m", "cors_lab", "enable-extension", "--config-dir", str(config)],
                                  env=env, capture_output=True, text=True, timeout=120, check=False)
            if done.returncode:
                raise RuntimeError(f"enable-extension failed: {done.stdout}{done.stderr}")
        cmd = [sys.executable, "-m", "jupyter", self.app, f"notebooks/{self.open_name}.ipynb", "--no-browser",
               "--allow-root", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--ServerApp.base_url={self.base_url}",
               f"--IdentityProvider.token={self.token}", f"--{APP_CLASS[self.app]}.expose_app_in_browser=True"]
        if self.ip:
            cmd.append(f"--ServerApp.ip={self.ip}")
        self._launch(cmd, env=env, cwd=self.root, ready=self._answers, timeout=START_TIMEOUT_S)
        return self

    def _answers(self) -> bool:
        try:
            r = requests.get(f"{self.base}api/status", headers={"Authorization": f"token {self.token}"}, timeout=2)
            return r.status_code == 200
        except requests.RequestException:
            return False

    def add_notebook(self, name: str, cells: list[str]) -> str:
        """Write ``name``.ipynb, holding ``cells`` as code cells, into the served folder; returns ``name``.
        A notebook of its own is a kernel of its own: tests sharing a server never share a kernel."""
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        nbformat.write(nb, self.root / "notebooks" / f"{name}.ipynb")
        return name

    def copy_notebook(self, name: str, as_name: str) -> str:
        """A copy of served notebook ``name`` as ``as_name`` (a fresh kernel for the same cells); returns ``as_name``."""
        shutil.copy2(self.root / "notebooks" / f"{name}.ipynb", self.root / "notebooks" / f"{as_name}.ipynb")
        return as_name

    def shutdown_kernels(self) -> None:
        """End every kernel the server runs (its REST API, as the Running panel's "Shut Down All" does),
        all at once: each DELETE waits for its kernel's own shutdown."""
        api = f"{self.base}api/kernels"
        auth = {"Authorization": f"token {self.token}"}
        kernels = requests.get(api, headers=auth, timeout=10).json()
        with ThreadPoolExecutor(max(1, len(kernels))) as pool:
            for reply in pool.map(lambda k: requests.delete(f"{api}/{k['id']}", headers=auth, timeout=30), kernels):
                if reply.status_code != 404:  # 404: that kernel had ended already
                    reply.raise_for_status()


class JupyterPool:
    """``pool(app, ip=None, extension=False)``: a started `JupyterServer` on a copy of the course notebooks, one
    per (app, ip, extension), started on first use and kept until `stop`.

    Tests that only open notebooks share a server instead of each starting one (a start costs 5-8 s of
    the machine's 2 cores); each opens a notebook of its own (`add_notebook`, `copy_notebook`), so each
    still gets a fresh kernel, page and browser context. ``shutdown_kernels`` ends the kernels between modules.
    """

    def __init__(self, tmp_path_factory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.servers: dict[tuple, JupyterServer] = {}

    def __call__(self, app: str = "lab", ip: str | None = None, *, extension: bool = False) -> JupyterServer:
        key = (app, ip, extension)
        if key not in self.servers:
            name = f"{app}-{ip or 'localhost'}" + ("-ext" if extension else "")
            server = JupyterServer(app=app, root=self.tmp_path_factory.mktemp(name), notebooks=ROOT / "notebooks",
                                   ip=ip, extension=extension)
            self.servers[key] = server.start()  # a failed start stopped itself and raised
        return self.servers[key]

    def shutdown_kernels(self) -> None:
        for server in self.servers.values():
            server.shutdown_kernels()

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
