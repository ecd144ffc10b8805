"""Several workstations in one run: hosts that are separate HOME directories on this machine.

A platform team's fleet run in miniature: one `ansible-playbook fmapi.coding_agents.setup` against an
inventory of three developer accounts; each ends up with its own login, helper and settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROWSER = os.path.join(ROOT, "tests", "harness", "bin", "fake-browser")
WORKSTATIONS = ("alice-laptop", "bob-laptop", "carol-laptop")


@pytest.fixture(name="fleet", scope="module")
def fleet_fixture(workspace_double_session, tmp_path_factory):
    """Three workstations set up by one playbook run; yields (double, homes, completed run)."""
    double = workspace_double_session
    double.state.reset()
    base = tmp_path_factory.mktemp("fleet")
    trust = base / "trust.pem"
    with open("/etc/ssl/certs/ca-certificates.crt", encoding="utf-8") as system, open(double.ca_file, encoding="utf-8") as ca:
        trust.write_text(system.read() + ca.read())
    homes = {}
    inventory = {"all": {"hosts": {}}}
    for name in WORKSTATIONS:
        home = base / name
        home.mkdir()
        homes[name] = str(home)
        inventory["all"]["hosts"][name] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "fmapi_environment": {
                "HOME": str(home), "PATH": f"{home}/.local/bin:{os.environ['PATH']}", "BROWSER": BROWSER,
                "FMAPI_DOUBLE_CA": double.ca_file, "DATABRICKS_AUTH_STORAGE": "plaintext",
                "SSL_CERT_FILE": str(trust), "REQUESTS_CA_BUNDLE": str(trust),
            },
        }
    inventory_file = base / "fleet.json"
    inventory_file.write_text(json.dumps(inventory))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABRICKS_", "ANTHROPIC_"))}
    env.update(ANSIBLE_FORCE_COLOR="0", NO_COLOR="1", ANSIBLE_LOCALHOST_WARNING="false")
    completed = subprocess.run(
        ["ansible-playbook", "-i", str(inventory_file), "fmapi.coding_agents.setup", "-e", "fmapi_hosts=all",
         "-e", f"host={double.url}", "-e", f"claude_code_release_url={double.url}/mirror/claude-code",
         "-e", f"databricks_cli_release_url={double.url}/mirror/databricks-cli", "-f", "3"],
        env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900, check=False)
    print(completed.stdout[-20000:])
    return double, homes, completed, str(trust)


def test_one_run_sets_up_every_workstation(fleet):
    _double, homes, completed, _trust = fleet
    assert completed.returncode == 0
    for name in WORKSTATIONS:
        assert f"{name}" in completed.stdout and "failed=0" in completed.stdout.split(name)[-1].splitlines()[0]
        settings = json.loads(open(os.path.join(homes[name], ".claude", "settings.json"), encoding="utf-8").read())
        assert settings["apiKeyHelper"].startswith(homes[name])


def test_each_workstation_has_its_own_session(fleet):
    double, homes, _completed, trust = fleet
    tokens = set()
    for name in WORKSTATIONS:
        helper = os.path.join(homes[name], ".local", "share", "fmapi-coding-agents", "fmapi-token-helper")
        result = subprocess.run([helper], env={"HOME": homes[name], "PATH": "/usr/bin:/bin", "SSL_CERT_FILE": trust,
                                               "DATABRICKS_AUTH_STORAGE": "plaintext"},
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        tokens.add(result.stdout.strip())
    assert len(tokens) == len(WORKSTATIONS)
    logins = [entry for entry in double.control.requests(path_prefix="/oidc/v1/token")
              if entry["status"] == 200]
    assert len(logins) >= len(WORKSTATIONS)
