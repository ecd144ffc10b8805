"""The collection as users get it: a built tarball that installs, documents itself and runs its playbooks."""

from __future__ import annotations

import glob
import os
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = ("claude_code_info", "claude_onboarding", "claude_plugin", "claude_settings", "databricks_cli_info",
           "databricks_oauth", "databricks_profile", "legacy_pats", "report", "serving_endpoints_info", "setup_config",
           "shell_wrappers", "token_helper", "tool_info")
ROLES = ("databricks_cli", "claude_code")


def run(command, env=None, cwd=None):
    completed = subprocess.run(command, env=env, cwd=cwd, text=True, capture_output=True, timeout=600, check=False)
    assert completed.returncode == 0, f"{command} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


@pytest.fixture(name="installed", scope="module")
def installed_fixture(tmp_path_factory):
    """The collection built with ansible-galaxy and installed from the tarball into an empty collections path."""
    work = tmp_path_factory.mktemp("galaxy")
    run(["ansible-galaxy", "collection", "build", ROOT, "--output-path", str(work)])
    tarballs = glob.glob(str(work / "fmapi-coding_agents-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    collections = work / "collections"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABRICKS_", "ANTHROPIC_"))}
    # Only the installed copy: not this checkout, which the development environment also links.
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    run(["ansible-galaxy", "collection", "install", "--offline", "-p", str(collections), tarballs[0]], env=env)
    assert (collections / "ansible_collections" / "fmapi" / "coding_agents" / "MANIFEST.json").is_file()
    return tarballs[0], collections, env


def test_tarball_leaves_out_development_files(installed):
    tarball, _collections, _env = installed
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    assert not [name for name in names if name.startswith((".ci", ".cache", "tests/output"))]
    assert "roles/claude_code/files/marketplace/.claude-plugin/marketplace.json" in names


def test_every_module_and_role_has_documentation(installed):
    _tarball, _collections, env = installed
    listed = run(["ansible-doc", "-l", "fmapi.coding_agents"], env=env).stdout
    for module in MODULES:
        assert f"fmapi.coding_agents.{module}" in listed
    for role in ROLES:
        shown = run(["ansible-doc", "-t", "role", f"fmapi.coding_agents.{role}"], env=dict(env, ANSIBLE_NOCOLOR="1")).stdout
        assert "ENTRY POINT: *main*" in shown, shown[:300]


@pytest.mark.parametrize("playbook", ["setup", "status", "doctor", "reauth", "list_models", "validate_models",
                                      "uninstall"])
def test_playbooks_are_reachable_by_name(installed, playbook):
    _tarball, _collections, env = installed
    run(["ansible-playbook", f"fmapi.coding_agents.{playbook}", "--syntax-check"], env=env)


def test_status_runs_from_the_installed_collection(installed, tmp_path):
    _tarball, _collections, env = installed
    home = tmp_path / "home"
    home.mkdir()
    result = run(["ansible-playbook", "fmapi.coding_agents.status"], env=dict(env, HOME=str(home)), cwd=str(home))
    assert "No FMAPI configuration found" in result.stdout
