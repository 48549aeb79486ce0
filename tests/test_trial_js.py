"""cors_lab/trial.js: the operation names, and the shape that lets every page load it."""

import json
import re
from pathlib import Path

import cors_lab
from cors_lab.trial import TRIAL_OPERATIONS
from cors_lab.predict import OPERATIONS

TRIAL = Path(cors_lab.__file__).with_name("trial.js")
SOURCE = TRIAL.read_text(encoding="utf-8")

EXPECTED = [*OPERATIONS, "localStorage"]


def operations_in_source():
    match = re.search(r"const OPERATIONS = (\[.*?\]);", SOURCE, re.S)
    assert match, "trial.js must define `const OPERATIONS = [...]`"
    return json.loads(re.sub(r",\s*\]", "]", match.group(1)))


def test_trial_js_lists_exactly_the_operations():
    assert operations_in_source() == EXPECTED


def test_harness_knows_the_same_operations():
    assert list(TRIAL_OPERATIONS) == EXPECTED


def test_every_operation_has_an_implementation():
    for name in EXPECTED:
        key = re.escape(name if name.isidentifier() else f'"{name}"')
        assert re.search(rf"^\s*async {key}\(img, r\)", SOURCE, re.M), f"no RUN entry for {name}"


def test_trial_js_exports_its_globals_and_imports_nothing():
    for name in ("corsLabTrial", "corsLabOperations", "corsLabServe"):
        assert f"globalThis.{name} =" in SOURCE
    assert not re.search(r"^\s*(import|export)\b", SOURCE, re.M)
    # Inlined into a srcdoc <script> for the opaque-origin page.
    assert "</script" not in SOURCE.lower()


def test_crossorigin_is_set_as_an_attribute():
    # The attribute keeps an invalid value such as "foo"; the property would reflect it.
    assert 'img.setAttribute("crossorigin"' in SOURCE
    assert "img.crossOrigin =" not in SOURCE
