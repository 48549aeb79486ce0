"""JupyterLab or Notebook 7 started the way the README starts it, on a copy of the notebooks.

Owns the launch: ``jupyter lab notebooks/00-start-here.ipynb`` (or ``jupyter notebook``) with Jupyter's
DEFAULT address, which is ``localhost`` (the browser then opens ``http://localhost:PORT/lab``), or an
explicit ``--ServerApp.ip`` (``127.0.0.1``). Adds only what a test needs and a learner would not see:
no browser, a free port, a known token, ``expose_app_in_browser`` (window.jupyterapp), the news toast
off, private runtime/settings/workspace directories, and ``--allow-root``. The kit's server extension
is NOT enabled here unless asked: the README's install leaves it to the environment, and so do we.
Every process is marked (``procs.MARKER``) and swept on ``stop``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

import requests

from . import procs
from .hub import free_ports
from .notebook import QUIET_LAB, write_lab_settings

START_TIMEOUT_S = 60
APP_CLASS = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}
# Paths of one notebook in each app. Jupyter serves the directory of the file named on its command line
# (notebooks/), as the README's `jupyter lab notebooks/00-start-here.ipynb` does.
NOTEBOOK_PATH = {"lab": "/lab/tree/{name}.ipynb", "notebook": "/notebooks/{name}.ipynb"}
ONE_ORIGIN_ENV = ("JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_API_URL", "BINDER_LAUNCH_HOST", "BINDER_REPO_URL")


class JupyterServer(procs.Service):
    """``jupyter lab`` / ``jupyter notebook`` on a copy of ``notebooks`` in a directory of its own.

    ``ip=None`` is Jupyter's default (``localhost``), ``url`` then uses ``localhost`` like the address
    Jupyter prints; ``ip="127.0.0.1"`` binds and browses there. ``extension=True`` adds
    ``--ServerApp.jpserver_extensions=cors_lab.jupyter_ext=True``.
    """

    def __init__(self, *, app: str = "lab", root: Path, notebooks: Path, ip: str | None = None,
                 extension: bool = False) -> None:
        if app not in APP_CLASS:
            raise ValueError(f"app must be one of {sorted(APP_CLASS)}")
        super().__init__()
        self.name = f"jupyter {app}"
        self.app, self.root, self.notebooks, self.ip, self.extension = app, root, notebooks, ip, extension
        (self.port,) = free_ports(1)
        self.token = self.secret = secrets.token_hex(16)
        self.url = f"http://{ip or 'localhost'}:{self.port}"
        self.runtime = root / "runtime"
        self.log_path = root / f"jupyter-{app}.log"

    def notebook_url(self, name: str) -> str:
        """The browser's address of notebook ``name`` (e.g. "07-your-browser"), token included."""
        return f"{self.url}{NOTEBOOK_PATH[self.app].format(name=name)}?reset&token={self.token}"

    def start(self) -> JupyterServer:
        shutil.copytree(self.notebooks, self.root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        settings = write_lab_settings(self.root / "settings", QUIET_LAB)
        env = {k: v for k, v in os.environ.items() if k not in ONE_ORIGIN_ENV}
        env.update({"JUPYTER_RUNTIME_DIR": str(self.runtime),
                    "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(self.root / "workspaces")})
        cmd = [sys.executable, "-m", "jupyter", self.app, "notebooks/00-start-here.ipynb", "--no-browser",
               "--allow-root", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--{APP_CLASS[self.app]}.expose_app_in_browser=True"]
        if self.ip:
            cmd.append(f"--ServerApp.ip={self.ip}")
        if self.extension:
            cmd.append("--ServerApp.jpserver_extensions=cors_lab.jupyter_ext=True")
        self._launch(cmd, env=env, cwd=self.root, ready=self._answers, timeout=START_TIMEOUT_S)
        return self

    def _answers(self) -> bool:
        try:
            r = requests.get(f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"}, timeout=2)
            return r.status_code == 200
        except requests.RequestException:
            return False
