"""Fixtures for the Molecule scenarios: the workspace double on loopback and a molecule runner."""

from __future__ import annotations

import os
import subprocess

import pytest

# The fixtures are imported rather than listed in pytest_plugins: pytest refuses pytest_plugins
# in a conftest below the rootdir when a parent directory is collected (pytest tests).
# pylint: disable=unused-import
from workspace_double.pytest_plugin import (  # noqa: F401
    claude_cli,
    databricks_cli,
    fake_browser,
    workspace_double,
    workspace_double_session,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Molecule:
    """Runs ``molecule <action> -s <scenario>`` against a given workspace double."""

    def __init__(self, double):
        self.double = double

    def __call__(self, action: str, scenario: str, timeout: int = 1500) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.update({
            "FMAPI_DOUBLE_URL": self.double.url,
            "FMAPI_DOUBLE_CA": self.double.ca_file,
            "ANSIBLE_FORCE_COLOR": "0",
            "PY_COLORS": "0",
            "NO_COLOR": "1",
        })
        completed = subprocess.run(["molecule", action, "-s", scenario], cwd=ROOT, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        # Shown by pytest when the test fails.
        print(f"$ molecule {action} -s {scenario}  (exit {completed.returncode})\n{completed.stdout[-20000:]}")
        return completed


@pytest.fixture(name="molecule", scope="module")
def molecule_fixture(workspace_double_session) -> Molecule:
    """Molecule bound to the session's workspace double."""
    return Molecule(workspace_double_session)
