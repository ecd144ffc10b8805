"""Fixtures for the Molecule scenarios: the workspace double on loopback and a molecule runner."""

from __future__ import annotations

import json
import os
import subprocess
import time

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


@pytest.fixture(name="double", scope="module")
def double_fixture(tmp_path_factory):
    """A workspace double of the test module's own, serving the real tools' releases from its mirror as upstream
    lays them out (a module that needs another double defines its own ``double``)."""
    # Imported here: the double's package comes from the harness on PYTHONPATH, like the fixtures above.
    from workspace_double import WorkspaceDouble  # pylint: disable=import-outside-toplevel

    mirror = os.environ.get("FMAPI_MIRROR_DIR")
    if not mirror or not os.path.isdir(mirror):
        pytest.fail("FMAPI_MIRROR_DIR is not set: source ~/.cache/fmapi-coding-agents/env.sh", pytrace=False)
    double = WorkspaceDouble(str(tmp_path_factory.mktemp("double")), mirror_dir=mirror).start()
    try:
        yield double
    finally:
        double.stop()


class Molecule:
    """Runs ``molecule <action> -s <scenario>`` against a given workspace double."""

    def __init__(self, double):
        self.double = double

    def __call__(self, action: str, scenario: str, *ansible_args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.update({
            "FMAPI_DOUBLE_URL": self.double.url,
            "FMAPI_DOUBLE_CA": self.double.ca_file,
            "ANSIBLE_FORCE_COLOR": "0",
            "PY_COLORS": "0",
            "NO_COLOR": "1",
        })
        started = time.monotonic()
        command = ["molecule", action, "-s", scenario] + (["--", *ansible_args] if ansible_args else [])
        completed = subprocess.run(command, cwd=ROOT, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        elapsed = time.monotonic() - started
        # Shown by pytest when the test fails; the timing line also with -s.
        print(f"$ {' '.join(command)}  (exit {completed.returncode}, {elapsed:.0f} s)\n"
              f"{completed.stdout[-20000:]}")
        return completed


@pytest.fixture(name="molecule", scope="module")
def molecule_fixture(workspace_double_session) -> Molecule:
    """Molecule bound to the session's workspace double."""
    return Molecule(workspace_double_session)


def container_playbook(double, container: str, name: str, *extra: str, **extra_vars) -> subprocess.CompletedProcess:
    """Run ``fmapi.coding_agents.<name>`` against a Molecule container as its developer, as a platform team would.

    The laptop trusts the workspace's CA in its system store; databricks-sdk (requests) is pointed there, and
    the tools come from the double's release mirror.
    """
    variables = {
        "fmapi_hosts": "all",
        "fmapi_environment": {"DATABRICKS_AUTH_STORAGE": "plaintext",
                              "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"},
        "databricks_cli_release_url": f"{double.url}/mirror/databricks-cli",
        "claude_code_release_url": f"{double.url}/mirror/claude-code",
        "claude_code_method": "native",
        "claude_code_ca_file": "/etc/ssl/certs/ca-certificates.crt",
    }
    variables.update(extra_vars)
    command = ["ansible-playbook", "-i", f"{container},", "-c", "containers.podman.podman", "-u", "developer",
               f"fmapi.coding_agents.{name}", "-e", json.dumps(variables), *extra]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    started = time.monotonic()
    completed = subprocess.run(command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=900, check=False)
    print(f"$ ansible-playbook fmapi.coding_agents.{name} {' '.join(extra)} on {container}  "
          f"(exit {completed.returncode}, {time.monotonic() - started:.0f} s)\n{completed.stdout[-15000:]}")
    return completed


def container_file(container: str, path: str) -> bytes:
    """A file's bytes inside a container (None when it does not exist)."""
    completed = subprocess.run(["podman", "exec", container, "cat", path], capture_output=True, check=False)
    return completed.stdout if completed.returncode == 0 else None
