"""End-to-end tests on the paths learners take: JupyterLab and Notebook 7 launched the README's way (at
localhost, Jupyter's default, and at 127.0.0.1), a one-origin JupyterHub (the Binder set-up), and nbval
with Binder's environment variables.

Run (as root, from the checkout; ``.ci/run`` installs what they need on a fresh machine)::

    CORS_LAB_SHOTS=/tmp/shots python -m pytest tests/e2e -rxX    # screenshots and e2e-measures.json there
    python -m pytest tests/e2e -m hub                            # only the JupyterHub tests

Helpers: ``hub`` (the hub), ``venv`` (the hub user's cached venv), ``jupyter`` (``jupyter lab`` /
``jupyter notebook`` as the README starts them, and the pool of them the session shares), ``notebook`` + ``page.js`` (driving a notebook page in
Chromium, asking its kernel), ``procs`` (marked processes, sweeps, peak memory), ``course`` (what the
tests know about notebook 07 and what to ask its kernel).
``CORS_LAB_E2E_CACHE`` moves the venv cache (default /var/tmp/cors-lab-e2e); ``CORS_LAB_E2E_KEEP=DIR``
keeps each hub's log there.
"""
