"""A one-origin JupyterHub on loopback, as Binder runs one: what the kit meets "where learners really are".

Owns starting and stopping it: JupyterHub (this Python's), configurable-http-proxy (npm), the
DummyAuthenticator with one allowed user, LocalProcessSpawner running ``jupyterhub-singleuser`` from
the learner's venv (`LearnerVenv`) as the system user ``learner``, in a copy of the notebooks the
learner owns. Every port is free, every socket on 127.0.0.1, every file in one temporary directory
that ``stop`` removes, every process marked (``procs.MARKER``) so ``stop`` can prove none is left.
Must not: run the learner's server as root, let the test runner's PYTHONPATH into it, or leave
anything running. Needs root (to spawn as another user).
See /work/shared/RECIPES.md "A one-origin JupyterHub".
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from . import procs
from .notebook import write_lab_settings
from .venv import BASE_PYTHON, LearnerVenv, clean_env

USER = "learner"
START_TIMEOUT_S = 60
SPAWN_TIMEOUT_S = 90
INSTALL_HINT = ("pip install jupyterhub && npm install -g configurable-http-proxy "
                "(nodejs and npm from apt-get install -y nodejs npm), as root")


def unavailable_reason() -> str | None:
    """Why no hub can run here (with the install command), or None."""
    if os.geteuid() != 0:
        return "the one-origin JupyterHub test spawns a server as another user, which needs root"
    missing = []
    if importlib.util.find_spec("jupyterhub") is None:
        missing.append("jupyterhub (Python)")
    if not shutil.which("configurable-http-proxy"):
        missing.append("configurable-http-proxy (npm)")
    if not _can_make_venvs():
        missing.append(f"{BASE_PYTHON} with venv (apt-get install -y python3-venv)")
    if missing:
        return f"no one-origin JupyterHub: {', '.join(missing)} missing. Install: {INSTALL_HINT}"
    return None



def _can_make_venvs() -> bool:
    """Debian's python3 with ensurepip (python3-venv), which `python3 -m venv` needs."""
    if not Path(BASE_PYTHON).exists():
        return False
    done = subprocess.run([BASE_PYTHON, "-c", "import ensurepip"], capture_output=True, check=False, timeout=30)
    return done.returncode == 0


def hub_version() -> str:
    import jupyterhub

    return jupyterhub.__version__


def ensure_user(name: str = USER) -> pwd.struct_passwd:
    """The system user the spawner runs the learner's server as (created with a home when missing)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True, timeout=60)
        return pwd.getpwnam(name)


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (bound together, so no two are the same)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, user.pw_uid, user.pw_gid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), user.pw_uid, user.pw_gid)


class Hub(procs.Service):
    """JupyterHub + configurable-http-proxy on 127.0.0.1; ``url`` is the only origin the browser may reach.

        with LearnerVenv(root, hub_version=hub_version()) as venv:
            hub = Hub(venv=venv, notebooks=root / "notebooks").start()
            try: ... log in at hub.url + "/hub/login" as hub.user / hub.password ...
            finally: hub.stop()

    ``start_s`` is the time from launch to the hub's API answering; ``leftovers`` what ``stop`` had to
    kill after the hub's own shutdown (should stay empty).
    """

    def __init__(self, *, venv: LearnerVenv, notebooks: Path, user: str = USER,
                 lab_settings: dict[str, dict] | None = None) -> None:
        super().__init__()
        self.name = "jupyterhub"
        self.venv = venv
        self.notebooks = notebooks
        self.user = user
        self.password = self.secret = secrets.token_hex(12)
        self.lab_settings = lab_settings or {}
        self.port, self.hub_port, self.api_port = free_ports(3)
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir: Path | None = None

    # -- paths the learner's server uses -----------------------------------------------------------

    @property
    def work(self) -> Path:
        """The learner's notebook directory (a copy of ``notebooks`` in ``work/notebooks``)."""
        return self.dir / "work"

    @property
    def runtime(self) -> Path:
        """The learner's JUPYTER_RUNTIME_DIR: kernel connection files (root can read them)."""
        return self.dir / "learner" / "runtime"

    def config(self) -> dict:
        learner = self.dir / "learner"
        env = {
            procs.MARKER: self.mark,
            "PATH": f"{self.venv.path / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "JUPYTER_RUNTIME_DIR": str(self.runtime),
            "JUPYTERLAB_SETTINGS_DIR": str(learner / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(learner / "workspaces"),
        }
        return {
            "JupyterHub": {
                "ip": "127.0.0.1", "port": self.port, "hub_ip": "127.0.0.1", "hub_port": self.hub_port,
                "authenticator_class": "dummy", "spawner_class": "localprocess",
                "db_url": f"sqlite:///{self.dir / 'jupyterhub.sqlite'}",
                "cookie_secret_file": str(self.dir / "jupyterhub_cookie_secret"),
                "pid_file": str(self.dir / "jupyterhub.pid"),
                "cleanup_servers": True, "cleanup_proxy": True,
            },
            "ConfigurableHTTPProxy": {
                "api_url": f"http://127.0.0.1:{self.api_port}", "auth_token": secrets.token_hex(16),
                "command": [shutil.which("configurable-http-proxy")], "pid_file": str(self.dir / "proxy.pid"),
            },
            "Authenticator": {"allowed_users": [self.user]},
            "DummyAuthenticator": {"password": self.password},
            "Spawner": {
                "cmd": [self.venv.bin("jupyterhub-singleuser")],
                # window.jupyterapp for the tests; nothing else differs from a Binder learner's server.
                "args": ["--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True"],
                "notebook_dir": str(self.work), "default_url": "/lab", "ip": "127.0.0.1",
                "environment": env, "env_keep": ["LANG", "LC_ALL"],
                "start_timeout": SPAWN_TIMEOUT_S, "http_timeout": SPAWN_TIMEOUT_S,
            },
        }

    def notebook_url(self, name: str, *, app: str = "lab") -> str:
        """The learner's address of notebook ``name`` (a fresh workspace in JupyterLab, so no old tab restores)."""
        base = f"{self.url}/user/{self.user}"
        if app == "notebook":
            return f"{base}/notebooks/notebooks/{name}.ipynb"
        return f"{base}/lab/workspaces/e2e{secrets.token_hex(4)}/tree/notebooks/{name}.ipynb?reset"

    def login(self, page, *, timeout_ms: int = SPAWN_TIMEOUT_S * 1000) -> float:
        """Log in through the hub's form and wait until the spawned server shows JupyterLab; seconds taken."""
        t0 = time.perf_counter()
        page.goto(f"{self.url}/hub/login", timeout=60_000)
        page.fill("#username_input", self.user)
        page.fill("#password_input", self.password)
        page.click("#login_submit")
        page.wait_for_url(re.compile(rf"/user/{re.escape(self.user)}/lab"), timeout=timeout_ms)
        return time.perf_counter() - t0

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self) -> Hub:
        learner = ensure_user(self.user)
        self.dir = Path(tempfile.mkdtemp(prefix="cors-lab-hub-"))
        self.dir.chmod(0o755)  # the learner must reach work/ and learner/
        shutil.copytree(self.notebooks, self.work / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for name in ("runtime", "workspaces"):
            (self.dir / "learner" / name).mkdir(parents=True)
        write_lab_settings(self.dir / "learner" / "settings", self.lab_settings)
        _chown_tree(self.work, learner)
        _chown_tree(self.dir / "learner", learner)
        (self.dir / "learner" / "runtime").chmod(0o700)
        config = self.dir / "jupyterhub_config.json"
        config.write_text(json.dumps(self.config(), indent=1))
        self.log_path = self.dir / "jupyterhub.log"
        self._launch([sys.executable, "-m", "jupyterhub", "-f", str(config)], env=clean_env(), cwd=self.dir,
                     ready=self._answers, timeout=START_TIMEOUT_S)
        return self

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, *, grace: float = 30) -> None:
        """The hub's own shutdown (it stops the proxy and the learner's server), the sweep, then its files go."""
        super().stop(grace=grace)
        if self.dir is not None and self.dir.exists():
            keep = os.environ.get("CORS_LAB_E2E_KEEP")
            if keep:  # for debugging: keep the hub's log
                shutil.copy2(self.log_path, Path(keep) / f"jupyterhub-{self.port}.log")
            shutil.rmtree(self.dir, ignore_errors=True)
