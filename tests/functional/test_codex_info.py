"""codex_info run by Ansible on a developer's laptop, with the real Codex CLI (``codex login status``, ``codex doctor
--json``) against the workspace double: a working setup passes; a missing binary, a configuration Codex refuses, a
route the workspace does not serve and a model it does not serve each fail with their fix."""

from __future__ import annotations

import os

import pytest
from functional_support import check_row
from workspace_double.pytest_plugin import codex_cli  # noqa: F401 pylint: disable=unused-import

MODEL = "databricks-gpt-5-5"
SETUP_CODEX = "ansible-playbook fmapi.coding_agents.setup -e agents=codex"


def config_path(home: str) -> str:
    return os.path.join(home, ".codex", "config.toml")


@pytest.fixture(name="helper")
def helper_fixture(run_module, workspace_double, databricks_cli) -> str:
    """The token helper of this collection (not run here: the doctor only probes the route)."""
    return run_module("token_helper", {"profile": "fmapi-dev", "host": workspace_double.url,
                                       "databricks_cli": databricks_cli})["path"]


@pytest.fixture(name="codex_laptop")
def codex_laptop_fixture(run_module, laptop_home, workspace_double, codex_cli):  # noqa: F811 pylint: disable=W0621
    """``run_module`` with Codex on PATH, trusting the double's CA, its folder in the developer's home."""
    run_module.env.update({"PATH": os.path.dirname(codex_cli) + os.pathsep + os.environ["PATH"],
                           "CODEX_HOME": os.path.join(laptop_home, ".codex"),
                           "CODEX_CA_CERTIFICATE": workspace_double.ca_file})
    return run_module


def configure(run, double, helper, **args) -> dict:
    return run("codex_config", dict({"host": double.url, "auth_command": helper}, **args))


def test_a_working_setup_passes_every_check(codex_laptop, laptop_home, workspace_double, helper, codex_cli):  # noqa
    configure(codex_laptop, workspace_double, helper)

    result = codex_laptop("codex_info", {"run_doctor": True, "available_models": [MODEL, "databricks-gpt-5-2"]})

    assert result["changed"] is False
    assert result["installed"] is True and result["path"] == codex_cli
    assert result["version"] == os.environ.get("FMAPI_CODEX_VERSION", result["version"]) and result["version_ok"]
    assert (result["host"], result["endpoint_style"]) == (workspace_double.url, "serving-endpoints")
    assert result["model"] == MODEL
    assert result["config_path"] == config_path(laptop_home) and result["profile"] == "fmapi-dev"
    assert result["doctor"]["ran"] is True and result["doctor"]["overall_status"] in ("ok", "warning")
    statuses = dict((row["label"], row["status"]) for row in result["checks"])
    assert statuses == {"Codex CLI": "PASS", "Codex config": "PASS", "Codex provider": "PASS",
                        "Codex auth command": "PASS", "Codex loads config": "PASS",
                        "Codex provider reachable": "PASS", "Codex model": "PASS"}, result["checks"]
    assert "route exists" in check_row(result, "Codex provider reachable")["value"]
    probes = workspace_double.control.requests(path_prefix="/serving-endpoints/codex/v1/models")
    assert probes, "codex doctor probed the provider's route on the double"


def test_a_config_codex_refuses_is_a_failure_in_codexs_own_words(codex_laptop, laptop_home, workspace_double, helper):
    configure(codex_laptop, workspace_double, helper)
    with open(config_path(laptop_home), encoding="utf-8") as handle:
        text = handle.read()
    with open(config_path(laptop_home), "w", encoding="utf-8") as handle:
        handle.write(text.replace('wire_api = "responses"', 'wire_api = "responses"\nenv_key = "DATABRICKS_TOKEN"'))

    result = codex_laptop("codex_info", {"run_doctor": True})

    load = check_row(result, "Codex loads config")
    assert load["status"] == "FAIL"
    assert "provider auth cannot be combined with env_key" in load["value"]
    assert load["fix"].startswith(SETUP_CODEX)
    assert check_row(result, "Codex provider leftovers")["status"] == "FAIL"
    assert check_row(result, "Codex provider reachable")["status"] == "SKIP"
    # The fix named works: the setup's module removes it, and Codex loads the file again.
    configure(codex_laptop, workspace_double, helper)
    assert check_row(codex_laptop("codex_info", {}), "Codex loads config")["status"] == "PASS"


@pytest.mark.workspace_double(ai_gateway=False)
def test_a_route_the_workspace_does_not_serve_fails_naming_the_other_style(codex_laptop, workspace_double, helper):
    configure(codex_laptop, workspace_double, helper, endpoint_style="ai-gateway")

    result = codex_laptop("codex_info", {"run_doctor": True})

    reachable = check_row(result, "Codex provider reachable")
    assert reachable["status"] == "FAIL" and "404" in reachable["value"]
    assert "endpoint_style=serving-endpoints" in reachable["fix"]


def test_a_missing_codex_fails_with_the_install_fix(codex_laptop, laptop_home, workspace_double, helper):
    configure(codex_laptop, workspace_double, helper)

    result = codex_laptop("codex_info", {"codex": os.path.join(laptop_home, ".local", "bin", "codex")})

    row = check_row(result, "Codex CLI")
    assert row["status"] == "FAIL" and "codex was not found" in row["value"]
    assert row["fix"] == SETUP_CODEX + "  (installs Codex CLI)"
    assert result["installed"] is True and result["path"] is None


def test_a_model_the_workspace_does_not_serve_fails(codex_laptop, workspace_double, helper):
    configure(codex_laptop, workspace_double, helper, model="databricks-gpt-4-retired")

    result = codex_laptop("codex_info", {"available_models": [MODEL]})

    row = check_row(result, "Codex model")
    assert row["status"] == "FAIL" and "databricks-gpt-4-retired is not a serving endpoint" in row["value"]
    assert "codex_model=" in row["fix"]
