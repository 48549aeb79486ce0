"""cors_lab.jupyter_ext without a server: knobs, URLs, how it is enabled (and on Binder).

The handler itself answers in a real Jupyter server in tests/e2e/test_live_probe.py
(test_extension_serves_pictures_without_a_token, test_opaque_probe_and_compare_with_the_extension).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import cors_lab
from cors_lab import jupyter_ext
from cors_lab.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Path(cors_lab.__file__).parent / "jupyter-config" / "jupyter_server_config.d" / "cors_lab.json"


def test_extension_points_name_this_module():
    assert jupyter_ext._jupyter_server_extension_points() == [{"module": "cors_lab.jupyter_ext"}]
    assert callable(jupyter_ext._load_jupyter_server_extension)


def test_shipped_config_enables_it():
    assert json.loads(CONFIG.read_text()) == {"ServerApp": {"jpserver_extensions": {"cors_lab.jupyter_ext": True}}}
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"etc/jupyter/jupyter_server_config.d" = ["cors_lab/jupyter-config/jupyter_server_config.d/cors_lab.json"]' in pyproject


def test_handler_is_unauthenticated_get_and_head_only():
    pytest.importorskip("jupyter_server")
    handler = jupyter_ext.handler_class()
    for method in ("get", "head"):
        assert getattr(getattr(handler, method), "__allow_unauthenticated", False) is True
    assert handler.post is handler.__mro__[1].post  # nothing but reading pictures


@pytest.mark.parametrize("base, expected", [
    ("/", "/cors-lab/img/picture.png?acao=*"),
    ("", "/cors-lab/img/picture.png?acao=*"),
    ("/user/ada/", "/user/ada/cors-lab/img/picture.png?acao=*"),
    ("/user/ada", "/user/ada/cors-lab/img/picture.png?acao=*"),
])
def test_asset_path(base, expected):
    assert jupyter_ext.asset_path(base, "picture.png", acao="*") == expected


@pytest.mark.parametrize("query, match", [
    ("to=http://127.0.0.1:1/img/picture.png", "cannot redirect"),
    ("delay=1", "hold one of Jupyter's own server threads"),
    ("user=alice", "no logins"),
    ("status=302", "needs to="),
    ("acao=a%0Db", "control|CR|LF|not allowed|invalid"),
    ("bogus=1", "Unknown knob"),
])
def test_knobs_not_served_here_are_refused(query, match):
    with pytest.raises(UsageError, match=match):
        jupyter_ext.check_knobs(query)


def test_knobs_served_here():
    knobs = jupyter_ext.check_knobs("acao=*&acao=null&vary=Origin&cache=max-age%3D60&apache=1&status=404&nosniff=1")
    assert knobs.acao == ("*", "null") and knobs.vary == ("Origin",) and knobs.status == 404 and knobs.apache


def test_binder_pulls_in_everything_and_enables_the_extension():
    requirements = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    lines = [line for line in requirements if line and not line.startswith("#")]
    assert lines[0] == "-r ../requirements.txt" and any(line.startswith("jupyter-server-proxy") for line in lines)
    assert "-e ." in (ROOT / "requirements.txt").read_text().splitlines()
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK)
    text = post_build.read_text()
    # The kit's own command (an editable install copies no config file, and `jupyter server extension
    # enable` refuses a module no config file names yet).
    assert text.startswith("#!/bin/bash") and "\npython -m cors_lab enable-extension\n" in text


def test_enable_writes_the_shipped_config_file(tmp_path):
    path = jupyter_ext.enable(tmp_path)
    assert path == tmp_path / "jupyter_server_config.d" / "cors_lab.json"
    assert path.read_bytes() == CONFIG.read_bytes()


def test_enable_extension_command(tmp_path, capsys):
    from cors_lab.__main__ import main

    assert main(["enable-extension", "--config-dir", str(tmp_path)]) == 0
    assert (tmp_path / "jupyter_server_config.d" / "cors_lab.json").exists()
    assert f"wrote {tmp_path}" in capsys.readouterr().out


@pytest.mark.parametrize("query", ["acao=a%0BX-Injected:%20yes", "vary=%01", "ctype=text/html%7F"])
def test_control_characters_are_refused_like_the_lab_servers(query):
    with pytest.raises(UsageError, match="control character"):
        jupyter_ext.check_knobs(query)


@pytest.mark.parametrize("content_type, image", [
    ("image/png", True), ("Image/SVG+XML; charset=utf-8", True), ("text/html", False), ("", False), (None, False),
    ("text/plain; x=image/png", False),
])
def test_is_image_type(content_type, image):
    assert jupyter_ext.is_image_type(content_type) is image
