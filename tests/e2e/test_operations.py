"""The operational playbooks (status, doctor, reauth, list_models, validate_models, uninstall),
run for real on this machine in a throwaway HOME after the real setup, against the workspace
double. What is asserted is what a person reads: the printed report and the exit status.

The setup runs once for the module (it takes about 40 s); tests that break something repair it.
The uninstall tests come last: they remove the setup the others share.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from operations_support import PROFILE, Laptop, workspace_down

CATEGORIES = ["Dependencies", "Configuration", "Profile", "Auth", "Connectivity", "Models"]
CONFIGURED = {"databricks-claude-opus-4-6": "model, opus", "databricks-claude-sonnet-4-6": "sonnet",
              "databricks-claude-haiku-4-5": "haiku"}
# Settings of the developer's own, there before the setup; the uninstall must leave them.
USERS_OWN_SETTINGS = {"theme": "dark", "env": {"MY_PROJECT_FLAG": "on"}}


@pytest.fixture(name="laptop", scope="module")
def laptop_fixture(double, tmp_path_factory) -> Laptop:
    """A laptop set up by the real setup playbook, with settings of the user's own from before."""
    work = tmp_path_factory.mktemp("laptop")
    laptop = Laptop(str(work / "home" / "developer"), double, str(work))
    os.makedirs(os.path.dirname(laptop.settings_path))
    with open(laptop.settings_path, "w", encoding="utf-8") as handle:
        json.dump(USERS_OWN_SETTINGS, handle, indent=2)
    run = laptop.setup()
    assert run.returncode == 0, "the setup failed"
    return laptop


@pytest.fixture(name="healthy_laptop")
def healthy_laptop_fixture(laptop, double) -> Laptop:
    """The set-up laptop; whatever the test does to the workspace is undone afterwards."""
    endpoints = double.control.scenario()["endpoints"]
    yield laptop
    double.control.clear_faults()
    double.control.update_scenario(endpoints=endpoints)


@pytest.fixture(name="expired_laptop")
def expired_laptop_fixture(healthy_laptop) -> Laptop:
    """The set-up laptop after its Databricks session has ended; logged in again afterwards."""
    healthy_laptop.end_session()
    yield healthy_laptop
    healthy_laptop.login()


@pytest.fixture(name="bare_laptop", scope="module")
def bare_laptop_fixture(double, tmp_path_factory) -> Laptop:
    """A laptop nobody has set up."""
    work = tmp_path_factory.mktemp("bare")
    return Laptop(str(work / "home" / "developer"), double, str(work))


def login_command(laptop: Laptop) -> str:
    return "databricks auth login --host %s --profile %s" % (laptop.url, PROFILE)


def report_text(run) -> str:
    return "\n".join(run.report_lines())


def current_token(laptop: Laptop) -> str:
    completed = subprocess.run([laptop.helper_path], env=laptop.env(browser=False), capture_output=True, text=True,
                               timeout=60, check=True)
    return completed.stdout.strip()


# -------------------------------------------------------------------------------------- status

def test_status_shows_the_setup_and_an_active_session(healthy_laptop):
    run = healthy_laptop.play("status")

    assert run.returncode == 0
    text = report_text(run)
    for label, value in (("Workspace", healthy_laptop.url), ("Profile", PROFILE),
                         ("Model", "databricks-claude-opus-4-6"), ("Opus", "databricks-claude-opus-4-6"),
                         ("Sonnet", "databricks-claude-sonnet-4-6"), ("Haiku", "databricks-claude-haiku-4-5"),
                         ("Token refresh", "every 30 min")):
        assert any(line.split() == label.split() + value.split() for line in text.splitlines()), (label, text)
    session = run.row("Auth", "OAuth session")
    assert session.status == "PASS"
    assert "access token valid until" in session.value
    assert run.row("Claude Code", "Settings").value == healthy_laptop.settings_path
    assert run.row("Claude Code", "Token helper").value == healthy_laptop.helper_path
    assert run.row("Configuration", "apiKeyHelper").status == "PASS"
    assert run.row("Configuration", "Plugin").status == "PASS"
    assert run.row("Profile", "Profile").status == "PASS"


def test_status_reports_an_ended_session_with_the_fix_and_still_exits_0(expired_laptop):
    run = expired_laptop.play("status")

    assert run.returncode == 0
    session = run.row("Auth", "OAuth session")
    assert session.status == "FAIL"
    assert session.hints == [login_command(expired_laptop), "or: ansible-playbook fmapi.coding_agents.reauth"]


def test_status_reads_the_project_settings_of_the_directory_it_runs_in(healthy_laptop, tmp_path):
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    settings = healthy_laptop.read_settings()
    settings["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] = "databricks-claude-sonnet-4-5"
    (project / ".claude" / "settings.json").write_text(json.dumps(settings), encoding="utf-8")

    run = healthy_laptop.play("status", "settings_location=cwd", cwd=str(project))

    assert run.returncode == 0
    assert any(line.split() == ["Sonnet", "databricks-claude-sonnet-4-5"] for line in run.report_lines())
    assert run.row("Claude Code", "Settings").value == str(project / ".claude" / "settings.json")


def test_status_without_a_setup_says_how_to_set_up_and_exits_0(bare_laptop):
    run = bare_laptop.play("status")

    assert run.returncode == 0
    text = report_text(run)
    assert "No FMAPI configuration found (Claude Code: %s, Codex CLI: " % bare_laptop.settings_path in text
    assert "run: ansible-playbook fmapi.coding_agents.setup -e host=" in text


# -------------------------------------------------------------------------------------- doctor

def test_doctor_passes_every_check_on_a_healthy_laptop_without_showing_the_token(healthy_laptop):
    run = healthy_laptop.play("doctor")

    assert run.returncode == 0
    assert list(dict.fromkeys(row.section for row in run.rows())) == CATEGORIES
    assert run.statuses() == {"PASS"}, "\n".join(str(row) for row in run.rows() if row.status != "PASS")
    assert [row.label for row in run.rows() if row.section == "Models"] == ["model", "opus", "sonnet", "haiku"]
    assert "not shown" in run.row("Auth", "Token helper").value
    assert current_token(healthy_laptop) not in run.output


def test_doctor_fails_auth_on_an_ended_session_and_skips_what_needs_it(expired_laptop):
    run = expired_laptop.play("doctor")

    assert run.returncode != 0
    session = run.row("Auth", "OAuth session")
    assert session.status == "FAIL"
    assert session.hints[0] == login_command(expired_laptop)
    assert run.row("Auth", "Token helper").status == "SKIP"
    assert run.row("Connectivity", "Workspace").status == "SKIP"
    assert run.statuses("Models") == {"SKIP"}
    assert run.statuses("Dependencies") == {"PASS"}
    assert run.statuses("Profile") == {"PASS"}
    assert "1 check(s) with status FAIL" in run.output


def test_doctor_warns_about_a_model_that_is_not_ready_without_failing(healthy_laptop, double):
    double.control.set_endpoint_state("databricks-claude-haiku-4-5", ready="NOT_READY")

    run = healthy_laptop.play("doctor")

    assert run.returncode == 0
    haiku = run.row("Models", "haiku")
    assert haiku.status == "WARN"
    assert "not ready" in haiku.value
    assert "ansible-playbook fmapi.coding_agents.setup -e haiku=<endpoint>" in haiku.hints[-1]
    assert run.statuses() == {"PASS", "WARN"}


def test_doctor_fails_a_configured_model_the_workspace_does_not_have(healthy_laptop):
    settings = healthy_laptop.read_settings()
    broken = json.loads(json.dumps(settings))
    broken["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] = "databricks-claude-does-not-exist"
    with open(healthy_laptop.settings_path, "w", encoding="utf-8") as handle:
        json.dump(broken, handle, indent=2)
    try:
        run = healthy_laptop.play("doctor")
    finally:
        with open(healthy_laptop.settings_path, "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=2)

    assert run.returncode != 0
    sonnet = run.row("Models", "sonnet")
    assert sonnet.status == "FAIL"
    assert "databricks-claude-does-not-exist" in sonnet.value
    assert any("setup -e sonnet=<endpoint>" in hint for hint in sonnet.hints)
    assert run.row("Connectivity", "Workspace").status == "PASS"
    assert [row.label for row in run.rows() if row.status == "FAIL"] == ["sonnet"]


def test_doctor_fails_connectivity_with_a_network_hint_when_the_workspace_is_unreachable(healthy_laptop, double):
    with workspace_down(double):
        run = healthy_laptop.play("doctor")

    assert run.returncode != 0
    workspace = run.row("Connectivity", "Workspace")
    assert workspace.status == "FAIL"
    assert "refused" in workspace.value
    assert healthy_laptop.url in workspace.hints[0] and "VPN" in workspace.hints[0]
    assert run.statuses("Models") == {"SKIP"}
    # The CLI still holds a valid access token: the session itself is fine.
    assert run.row("Auth", "OAuth session").status == "PASS"


def test_doctor_warns_about_leftovers_of_older_setups_and_loose_permissions(healthy_laptop):
    settings = healthy_laptop.read_settings()
    pat_cache = os.path.join(os.path.dirname(healthy_laptop.helper_path), ".fmapi-pat-cache")
    with open(healthy_laptop.settings_path, "w", encoding="utf-8") as handle:
        json.dump(dict(settings, _fmapi_meta={"version": "0.9"}), handle, indent=2)
    os.chmod(healthy_laptop.settings_path, 0o644)
    with open(pat_cache, "w", encoding="utf-8") as handle:
        handle.write("cached\n")
    try:
        run = healthy_laptop.play("doctor")
    finally:
        os.unlink(pat_cache)
        with open(healthy_laptop.settings_path, "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=2)
        os.chmod(healthy_laptop.settings_path, 0o600)

    assert run.returncode == 0
    permissions = run.row("Configuration", "Settings permissions")
    assert permissions.status == "WARN" and "0644" in permissions.value
    assert permissions.hints == ["chmod 600 %s" % healthy_laptop.settings_path]
    leftovers = [row for row in run.rows() if row.label == "Older setups"]
    assert [row.status for row in leftovers] == ["WARN", "WARN"]
    assert any("_fmapi_meta" in row.value for row in leftovers)
    assert any(pat_cache in row.value for row in leftovers)
    assert run.statuses() == {"PASS", "WARN"}


def test_doctor_without_a_setup_fails_configuration_and_skips_the_rest(bare_laptop):
    run = bare_laptop.play("doctor")

    assert run.returncode != 0
    settings = run.row("Configuration", "Settings file")
    assert settings.status == "FAIL" and "No FMAPI configuration found" in settings.value
    assert settings.hints == ["ansible-playbook fmapi.coding_agents.setup -e host=https://<your-workspace>"]
    for category in ("Profile", "Auth", "Connectivity", "Models"):
        assert run.statuses(category) == {"SKIP"}, category


# -------------------------------------------------------------------------------------- reauth

def test_reauth_without_a_browser_prints_the_login_command_and_fails(expired_laptop, double):
    double.control.clear_requests()

    run = expired_laptop.play("reauth")

    assert run.returncode != 0
    session = run.row("Auth", "OAuth session")
    assert session.status == "FAIL"
    assert session.value == "not logged in: no browser can open here"
    assert session.hints[0].startswith(login_command(expired_laptop))
    assert "Not logged in. Run this in a terminal on this machine where a browser can open" in run.output
    assert double.control.requests(path_prefix="/oidc/v1/authorize") == []


def test_reauth_logs_in_again_through_the_browser(expired_laptop, double):
    double.control.clear_requests()

    run = expired_laptop.play("reauth", browser=True)

    assert run.returncode == 0
    session = run.row("Auth", "OAuth session")
    assert session.status == "PASS"
    assert session.value.startswith("logged in to %s as profile %s" % (expired_laptop.url, PROFILE))
    assert len(double.control.requests(path_prefix="/oidc/v1/authorize")) == 1
    assert expired_laptop.play("status").row("Auth", "OAuth session").status == "PASS"


@pytest.mark.parametrize("playbook", ["reauth", "list_models", "validate_models"])
def test_playbooks_that_need_a_setup_say_so_on_a_bare_laptop(bare_laptop, playbook):
    run = bare_laptop.play(playbook)

    assert run.returncode != 0
    assert "No FMAPI configuration found (Claude Code: %s," % bare_laptop.settings_path in run.output
    assert "ansible-playbook fmapi.coding_agents.setup -e host=https://<your-workspace>" in run.output


# -------------------------------------------------------------------------------------- models

def test_list_models_lists_the_claude_endpoints_and_marks_the_configured_ones(healthy_laptop):
    run = healthy_laptop.play("list_models")

    assert run.returncode == 0
    table = run.table()
    names = [cells[0] for _marked, cells in table]
    assert names == ["databricks-claude-haiku-4-5", "databricks-claude-opus-4-5", "databricks-claude-opus-4-6",
                     "databricks-claude-sonnet-4-5", "databricks-claude-sonnet-4-6"]
    assert {cells[0] for marked, cells in table if marked} == set(CONFIGURED)
    for marked, cells in table:
        assert cells[1:4] == ["READY", "FOUNDATION_MODEL_API", "llm/v1/chat"]
        assert " ".join(cells[4:]) == CONFIGURED.get(cells[0], "-")
    assert "-e all_models=true lists every endpoint" in report_text(run)


def test_list_models_with_all_models_lists_every_endpoint(healthy_laptop, double):
    double.control.set_endpoint_state("databricks-gpt-5-2", ready="NOT_READY")

    run = healthy_laptop.play("list_models", "all_models=true")

    assert run.returncode == 0
    rows = {cells[0]: cells for _marked, cells in run.table()}
    assert len(rows) == 11
    assert rows["databricks-gpt-5-2"][1] == "NOT_READY"
    assert rows["databricks-gte-large-en"][3] == "llm/v1/embeddings"


def test_list_models_with_an_ended_session_fails_with_the_fix(expired_laptop):
    run = expired_laptop.play("list_models")

    assert run.returncode != 0
    assert "the login session of profile %s has ended" % PROFILE in run.output
    assert "Fix: %s or: ansible-playbook fmapi.coding_agents.reauth" % login_command(expired_laptop) in run.output
    assert "ENDPOINT" not in run.output


@pytest.mark.parametrize("change, returncode, statuses", [
    pytest.param(None, 0, {"model": "PASS", "opus": "PASS", "sonnet": "PASS", "haiku": "PASS"}, id="all-ready"),
    pytest.param({"ready": "databricks-claude-opus-4-6"}, 0,
                 {"model": "WARN", "opus": "WARN", "sonnet": "PASS", "haiku": "PASS"}, id="not-ready-warns"),
    pytest.param({"remove": "databricks-claude-sonnet-4-6"}, 2,
                 {"model": "PASS", "opus": "PASS", "sonnet": "FAIL", "haiku": "PASS"}, id="missing-fails"),
])
def test_validate_models_checks_each_configured_model(healthy_laptop, double, change, returncode, statuses):
    if change and "ready" in change:
        double.control.set_endpoint_state(change["ready"], ready="NOT_READY")
    if change and "remove" in change:
        double.control.update_scenario(endpoints=[endpoint for endpoint in double.control.scenario()["endpoints"]
                                                  if endpoint["name"] != change["remove"]])

    run = healthy_laptop.play("validate_models")

    assert run.returncode == returncode
    assert {row.label: row.status for row in run.rows()} == statuses
    if returncode:
        sonnet = run.row("Models", "sonnet")
        assert "does not exist" in sonnet.value
        assert any("databricks-claude-sonnet-4-5" in hint for hint in sonnet.hints)
        assert "ansible-playbook fmapi.coding_agents.list_models shows the endpoints there are" in run.output


# ----------------------------------------------------------------------------------- uninstall
# Last: they remove the setup the tests above share.

def test_uninstall_on_a_bare_laptop_has_nothing_to_remove(bare_laptop):
    run = bare_laptop.play("uninstall")

    assert run.returncode == 0
    assert "No FMAPI setup was found on this machine." in report_text(run)


def test_uninstall_without_confirmation_and_without_a_terminal_removes_nothing(healthy_laptop):
    with open(healthy_laptop.settings_path, "rb") as handle:
        settings_before = handle.read()

    run = healthy_laptop.play("uninstall")

    assert run.returncode != 0
    assert "Nothing was removed: there is no terminal to ask on" in run.output
    assert "ansible-playbook fmapi.coding_agents.uninstall -e confirm=yes" in run.output
    with open(healthy_laptop.settings_path, "rb") as handle:
        assert handle.read() == settings_before
    assert os.path.exists(healthy_laptop.helper_path)
    assert os.path.isdir(os.path.join(healthy_laptop.home, ".claude", "fmapi-coding-agents"))


def test_uninstall_answered_no_in_a_terminal_removes_nothing(healthy_laptop):
    with open(healthy_laptop.settings_path, "rb") as handle:
        settings_before = handle.read()

    run = healthy_laptop.play_in_terminal("uninstall", "n")

    assert run.returncode == 0
    assert "  - Settings: FMAPI keys in %s" % healthy_laptop.settings_path in run.output
    assert "  - Token helper: %s" % healthy_laptop.helper_path in run.output
    assert "You did not answer yes." in run.output
    with open(healthy_laptop.settings_path, "rb") as handle:
        assert handle.read() == settings_before
    assert os.path.exists(healthy_laptop.helper_path)


def test_uninstall_with_confirm_removes_the_setup_keeps_the_users_settings_and_can_repeat(healthy_laptop):
    run = healthy_laptop.play("uninstall", "confirm=yes")

    assert run.returncode == 0
    removed = {row.label: row.value for row in run.rows() if row.status == "REMOVED"}
    assert removed == {
        "Settings": "FMAPI keys in %s" % healthy_laptop.settings_path,
        "Token helper": healthy_laptop.helper_path,
        "Plugin registration": "fmapi-coding-agents in the user settings",
        "Plugin files": os.path.join(healthy_laptop.home, ".claude", "fmapi-coding-agents", "marketplace"),
    }
    assert not os.path.exists(os.path.join(healthy_laptop.home, ".claude", "fmapi-coding-agents"))
    assert healthy_laptop.read_settings() == USERS_OWN_SETTINGS
    assert not os.path.exists(healthy_laptop.helper_path)
    with open(os.path.join(healthy_laptop.home, ".databrickscfg"), encoding="utf-8") as handle:
        assert "[%s]" % PROFILE in handle.read()

    again = healthy_laptop.play("uninstall", "confirm=true")

    assert again.returncode == 0
    assert "No FMAPI setup was found on this machine." in report_text(again)
    assert healthy_laptop.read_settings() == USERS_OWN_SETTINGS
    assert "No FMAPI configuration found" in report_text(healthy_laptop.play("status"))
