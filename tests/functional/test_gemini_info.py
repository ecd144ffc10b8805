"""gemini_info run by Ansible on localhost against a real setup: the token helper written by token_helper, the
launcher written by gemini_launcher, the settings written by gemini_settings, the real Databricks CLI logged in to
the workspace double, and the real Gemini CLI."""

from __future__ import annotations

import json
import os

import pytest
from functional_support import authorizations, cached_tokens, check_row, cli_login, end_session
# The real Gemini CLI ($FMAPI_GEMINI); conftest.py does not import this fixture (yet).
from workspace_double.pytest_plugin import gemini_cli  # noqa: F401 pylint: disable=unused-import

PROFILE = "fmapi-dev"
GEMINI_VERSION = os.environ.get("FMAPI_GEMINI_VERSION", "0.61.0")
MODEL = "databricks-gemini-2-5-flash"


@pytest.fixture(name="setup")
def setup_fixture(laptop, laptop_home, workspace_double, databricks_cli, gemini_cli) -> dict:  # noqa: F811
    """The token helper, the Gemini settings and the launcher, as the setup writes them."""
    helper = laptop("token_helper", {"profile": PROFILE, "host": workspace_double.url,
                                     "databricks_cli": databricks_cli})
    laptop("gemini_settings", {})
    launcher = laptop("gemini_launcher", {"gemini": gemini_cli, "token_helper": helper["path"],
                                          "host": workspace_double.url, "endpoint_style": "ai-gateway",
                                          "model": MODEL})
    bin_dir = os.path.dirname(launcher["path"])
    return {"helper": helper["path"], "launcher": launcher["path"], "search_path": bin_dir + ":/usr/bin:/bin"}


def test_a_working_setup_passes_every_check_and_shows_no_token(laptop, laptop_home, workspace_double, databricks_cli,
                                                               fake_browser, gemini_cli, setup):  # noqa: F811
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)

    result = laptop("gemini_info", {"run_launcher": True, "search_path": setup["search_path"]}, verbose=True)

    assert result["installed"] is True
    assert (result["host"], result["endpoint_style"], result["model"]) == (workspace_double.url, "ai-gateway", MODEL)
    assert result["launcher"]["path"] == os.path.join(laptop_home, ".local", "bin", "gemini")
    assert result["launcher"]["gemini"] == gemini_cli and result["launcher"]["token_helper"] == setup["helper"]
    assert result["gemini"]["version"] == GEMINI_VERSION and result["gemini"]["path"] == gemini_cli
    assert result["launcher_run"]["rc"] == 0 and result["launcher_run"]["version"] == GEMINI_VERSION
    assert {row["label"]: row["status"] for row in result["checks"]} == {
        "Gemini CLI": "PASS", "Gemini launcher": "PASS", "gemini on PATH": "PASS", "Gemini settings": "PASS",
        "Gemini system settings": "SKIP", "Gemini model": "PASS", "Gemini launcher run": "PASS"}
    assert check_row(result, "Gemini settings")["value"].endswith("(set by the setup)")
    tokens = cached_tokens(laptop_home)
    assert tokens, "the launcher's helper asked the CLI for a token"
    for token in tokens:
        assert token not in result["_output"] and token not in json.dumps(result)
    assert not os.path.exists(os.path.join(laptop_home, ".gemini", "projects.json")), \
        "Gemini CLI ran with a throwaway home, not the user's"


def test_the_real_gemini_ahead_on_path_is_a_warning_with_the_fix(laptop, gemini_cli, setup):  # noqa: F811
    real_dir = os.path.dirname(gemini_cli)

    result = laptop("gemini_info", {"search_path": real_dir + ":" + setup["search_path"]})

    row = check_row(result, "gemini on PATH")
    assert row["status"] == "WARN"
    assert row["value"] == "gemini starts %s, not the launcher %s: it gets no Databricks token" % (
        gemini_cli, setup["launcher"])
    assert row["fix"].endswith('export PATH="%s:$PATH"' % os.path.dirname(setup["launcher"]))


def test_an_ended_session_fails_the_launcher_run_without_a_browser(laptop, laptop_home, workspace_double,
                                                                   databricks_cli, fake_browser, setup):
    end_session(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    workspace_double.control.clear_requests()

    result = laptop("gemini_info", {"run_launcher": True, "search_path": setup["search_path"]})

    row = check_row(result, "Gemini launcher run")
    assert row["status"] == "FAIL" and result["launcher_run"]["rc"] not in (0, None)
    assert "databricks auth login --host %s --profile %s" % (workspace_double.url, PROFILE) in row["value"]
    assert "so Gemini CLI was not started" in row["value"]
    assert "ansible-playbook fmapi.coding_agents.reauth" in row["fix"]
    assert authorizations(workspace_double) == []


def test_a_user_who_switched_back_to_google_login_gets_a_fail_with_the_fix(laptop, laptop_home, setup):
    path = os.path.join(laptop_home, ".gemini", "settings.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"security": {"auth": {"selectedType": "oauth-personal"}}}, handle)

    result = laptop("gemini_info", {"search_path": setup["search_path"], "find_gemini": False})

    row = check_row(result, "Gemini settings")
    assert row["status"] == "FAIL" and "is 'oauth-personal', not gemini-api-key" in row["value"]
    assert row["fix"].startswith("ansible-playbook fmapi.coding_agents.setup -e agents=gemini")
