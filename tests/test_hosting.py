"""cors_lab.hosting: which Jupyter server runs this kernel, and the name the browser uses for it."""

from __future__ import annotations

import json
import os

import pytest

from cors_lab import hosting
from cors_lab.hosting import JupyterServer, browser_host, find_server, public_base


def _info(folder, pid, url, **extra):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"jpserver-{pid}.json").write_text(json.dumps({"url": url, "token": "SECRET-TOKEN", "pid": pid,
                                                             "base_url": "/", **extra}))


def test_jupyterhub_says_where_its_server_is():
    server = find_server({"JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:8888/user/ada/"})
    assert server == JupyterServer(url="http://127.0.0.1:8888/user/ada/", base_url="/user/ada/",
                                   hostname="127.0.0.1", source="JUPYTERHUB_SERVICE_URL")


def test_the_server_info_file_of_the_parent_process(tmp_path):
    _info(tmp_path, os.getppid(), "http://localhost:8899/")
    _info(tmp_path, 999_999_999, "http://127.0.0.1:1/")  # another server: not ours
    server = find_server({}, runtime_dir=tmp_path)
    assert server.url == "http://localhost:8899/" and server.hostname == "localhost" and server.base_url == "/"
    assert "parent" in server.source and "SECRET-TOKEN" not in repr(server)
    assert browser_host(server) == ("localhost", "the name in Jupyter's own address (http://localhost:8899/)")


def test_no_matching_server_is_no_server(tmp_path):
    _info(tmp_path, 999_999_999, "http://localhost:8888/")
    (tmp_path / f"jpserver-{os.getppid()}.json").write_text("not json")
    assert find_server({}, runtime_dir=tmp_path) is None
    assert find_server({"JUPYTER_RUNTIME_DIR": str(tmp_path / "missing")}) is None
    assert browser_host(None, environ={"JUPYTER_RUNTIME_DIR": str(tmp_path / "missing")}) == (
        "127.0.0.1", "the default: no Jupyter server was found for this kernel")


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/stat"), reason="ancestors are read from /proc")
def test_an_ancestor_counts_when_the_kernel_sits_behind_a_wrapper(tmp_path):
    grandparent = hosting._parent_of(os.getppid())
    if grandparent is None or grandparent <= 1:
        pytest.skip("no grandparent process to stand for the server")
    _info(tmp_path, grandparent, "http://127.0.0.1:8123/")
    server = find_server({}, runtime_dir=tmp_path)
    assert server.url == "http://127.0.0.1:8123/" and "ancestor" in server.source


def test_a_server_on_every_interface_is_not_a_name_the_lab_can_use():
    server = JupyterServer(url="http://127.0.0.1:8888/", base_url="/", hostname="myhost", source="test")
    assert browser_host(server) == ("127.0.0.1", "the default: Jupyter's address (http://127.0.0.1:8888/) is not "
                                                  "a loopback name")


def test_public_base():
    assert public_base({"JUPYTERHUB_PUBLIC_URL": "https://hub.example/user/ada"}) == "https://hub.example/user/ada/"
    assert public_base({"JUPYTERHUB_PUBLIC_URL": ""}) is None and public_base({}) is None
