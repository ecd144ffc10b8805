# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The doctor's judgement of gathered findings, the status dashboard and their helpers."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fmapi.coding_agents.plugins.filter.doctor import (
    CATEGORIES,
    FilterModule,
    doctor_sections,
    helper_interpreter,
    helper_output_summary,
    login_row,
    mask_secrets,
    session_problem,
    status_sections,
)

HOST = "https://dbc-1234.cloud.databricks.com"
PROFILE = "fmapi-claudecode-profile"
HOME = "/home/dev"
SETTINGS = HOME + "/.claude/settings.json"
HELPER = HOME + "/.claude/fmapi-token-helper"
CLI = HOME + "/.local/bin/databricks"
LOGIN = "databricks auth login --host %s --profile %s" % (HOST, PROFILE)
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.c2lnbmF0dXJl"

INSTALL = {
    "changed": False, "installed": True, "settings_path": SETTINGS, "settings_exists": True,
    "settings_valid": True, "settings_error": None, "host": HOST, "gateway": "serving-endpoints",
    "base_url": HOST + "/serving-endpoints/anthropic", "profile": PROFILE, "databricks_cli": CLI,
    "model": "databricks-claude-opus-4-6", "opus": "databricks-claude-opus-4-6",
    "sonnet": "databricks-claude-sonnet-4-6", "haiku": "databricks-claude-haiku-4-5", "ttl_minutes": 30,
    "deny_web_search": True, "api_key_helper": HELPER, "helper_path": HELPER, "helper_exists": True,
    "helper_metadata": {"databricks_cli": CLI, "host": HOST, "profile": PROFILE, "ttl_minutes": 30, "version": 1},
    "legacy": [],
}
VALIDATION = [
    {"role": role, "endpoint": endpoint, "status": "PASS", "hint": "",
     "message": "Endpoint '%s' exists and is READY." % endpoint}
    for role, endpoint in (("model", "databricks-claude-opus-4-6"), ("opus", "databricks-claude-opus-4-6"),
                           ("sonnet", "databricks-claude-sonnet-4-6"), ("haiku", "databricks-claude-haiku-4-5"))
]


def healthy() -> dict:
    """Findings of a laptop where everything works, as the doctor role registers them."""
    return copy.deepcopy({
        "settings_path": SETTINGS,
        "install": INSTALL,
        "settings_stat": {"stat": {"exists": True, "mode": "0600", "path": SETTINGS}},
        "helper_stat": {"stat": {"exists": True, "executable": True, "path": HELPER}},
        "claude": {"found": True, "on_path": True, "path": HOME + "/.local/bin/claude", "version": "2.1.329",
                   "version_ok": True, "version_output": "2.1.329 (Claude Code)"},
        "databricks": {"found": True, "on_path": True, "path": CLI, "version": "1.12.1", "version_ok": True},
        "min_cli_version": "0.296.0",
        "helper_interpreter": "/usr/bin/python3",
        "interpreter": {"found": True, "path": "/usr/bin/python3", "version": "3.11.2", "version_ok": True},
        "sdk": {"rc": 0, "stdout": "0.156.0\n", "stderr": ""},
        "sdk_python": HOME + "/.local/share/fmapi-coding-agents/venv/bin/python",
        "profile": {"changed": False, "created": False, "previous_host": None, "removed_keys": [],
                    "profile": PROFILE, "host": HOST},
        "session": {"session": "active", "profile": PROFILE, "host": HOST, "expires_at": "2026-01-31T12:00:00Z",
                    "login_required": False, "login_command": None, "databricks_cli": CLI,
                    "msg": "Profile %s has an active session." % PROFILE},
        "helper_run": {"ran": True, "timed_out": False, "rc": 0, "token_chars": 443, "lines": 1,
                       "has_spaces": False, "error": ""},
        "workspace": {"host": HOST, "count": 11, "endpoints": [{"name": "x"}] * 11, "validation": VALIDATION,
                      "validation_failed": False, "failed_when_result": False},
    })


def rows_of(sections):
    return [(section["title"], row) for section in sections for row in section["rows"]]


def row(sections, category, label):
    found = [r for title, r in rows_of(sections) if title == category and r["label"] == label]
    assert len(found) == 1, (category, label, sections)
    return found[0]


def statuses(sections, category=None):
    return {r["status"] for title, r in rows_of(sections) if category is None or title == category}


# ----------------------------------------------------------------------------------- doctor

def test_a_healthy_laptop_passes_every_check_in_the_six_categories():
    sections = doctor_sections(healthy())

    assert [section["title"] for section in sections] == list(CATEGORIES)
    assert statuses(sections) == {"PASS"}
    assert [r["label"] for r in sections[-1]["rows"]] == ["model", "opus", "sonnet", "haiku"]
    assert row(sections, "Auth", "Token helper")["value"] == "prints a token (443 characters, not shown)"
    assert "11 serving endpoints" in row(sections, "Connectivity", "Workspace")["value"]


def test_nothing_installed_fails_configuration_with_the_setup_command_and_skips_the_rest():
    findings = healthy()
    findings["install"] = dict(INSTALL, installed=False, settings_exists=False, host=None, profile=None,
                               helper_exists=False, helper_metadata={}, api_key_helper=None, helper_path=None)
    for key in ("profile", "session", "workspace"):
        findings[key] = {"skipped": True, "changed": False}
    findings["helper_run"] = {"ran": False}

    sections = doctor_sections(findings)

    settings = row(sections, "Configuration", "Settings file")
    assert settings["status"] == "FAIL"
    assert settings["value"] == "No FMAPI configuration found: %s does not exist" % SETTINGS
    assert settings["hint"] == "ansible-playbook fmapi.coding_agents.setup -e host=https://<your-workspace>"
    for category in ("Profile", "Auth", "Connectivity", "Models"):
        assert statuses(sections, category) == {"SKIP"}, category
    assert row(sections, "Dependencies", "Helper's Python")["status"] == "SKIP"


def test_an_ended_session_fails_auth_with_the_login_command_and_skips_what_needs_it():
    findings = healthy()
    findings["session"].update(session="expired", expires_at=None, login_required=True, login_command=LOGIN)
    findings["helper_run"] = {"ran": False}
    findings["workspace"] = {"skipped": True}

    sections = doctor_sections(findings)

    session = row(sections, "Auth", "OAuth session")
    assert session["status"] == "FAIL"
    assert session["hint"] == LOGIN + "\nor: ansible-playbook fmapi.coding_agents.reauth"
    assert row(sections, "Auth", "Token helper") == {
        "status": "SKIP", "label": "Token helper", "value": "needs an active session"}
    assert row(sections, "Connectivity", "Workspace")["value"] == "needs an active session (see Auth)"
    assert row(sections, "Models", "sonnet")["value"] == (
        "databricks-claude-sonnet-4-6: needs a working connection (see Connectivity)")
    assert statuses(sections, "Models") == {"SKIP"}


def test_a_session_error_fails_with_the_clis_message_and_never_a_token():
    findings = healthy()
    findings["session"].update(session="error", msg="Profile x: certificate signed by unknown authority " + JWT)
    findings["workspace"] = {"skipped": True}

    session = row(doctor_sections(findings), "Auth", "OAuth session")

    assert session["status"] == "FAIL"
    assert "unknown authority" in session["value"] and JWT not in session["value"]


@pytest.mark.parametrize("profile_check, status, words", [
    ({"changed": True, "created": True, "previous_host": None, "removed_keys": []}, "FAIL",
     ["is not in ~/.databrickscfg"]),
    ({"changed": True, "created": False, "previous_host": "https://old.cloud.databricks.com", "removed_keys": []},
     "FAIL", ["is for https://old.cloud.databricks.com, not " + HOST]),
    ({"changed": True, "created": False, "previous_host": None, "removed_keys": []}, "FAIL",
     ["does not have auth_type = databricks-cli"]),
    ({"msg": "~/.databrickscfg line 3 is neither key = value nor [section]", "failed_when_result": False}, "FAIL",
     ["line 3"]),
], ids=["missing", "other-host", "auth-type", "unreadable"])
def test_profile_problems_fail_with_what_is_wrong(profile_check, status, words):
    findings = healthy()
    findings["profile"] = profile_check

    profile = row(doctor_sections(findings), "Profile", "Profile")

    assert profile["status"] == status
    for word in words:
        assert word in profile["value"]
    assert "ansible-playbook fmapi.coding_agents.setup" in profile["hint"]


def test_a_missing_profile_names_the_login_command_and_the_session_check_is_skipped():
    findings = healthy()
    findings["profile"] = {"changed": True, "created": True, "previous_host": None, "removed_keys": []}
    findings["session"].update(session="no_profile", host=None)
    findings["workspace"] = {"skipped": True}
    findings["helper_run"] = {"ran": False}

    sections = doctor_sections(findings)

    assert LOGIN in row(sections, "Profile", "Profile")["hint"]
    assert row(sections, "Auth", "OAuth session")["status"] == "SKIP"
    assert [r["status"] for _title, r in rows_of(sections) if r["status"] == "FAIL"] == ["FAIL"]


def test_stray_credentials_in_the_profile_warn_but_the_profile_passes():
    findings = healthy()
    findings["profile"] = {"changed": True, "created": False, "previous_host": None, "removed_keys": ["token"]}

    sections = doctor_sections(findings)

    assert row(sections, "Profile", "Profile")["status"] == "PASS"
    credentials = row(sections, "Profile", "Profile credentials")
    assert credentials["status"] == "WARN" and "token" in credentials["value"]


def test_a_too_old_databricks_cli_fails_with_the_upgrade_switch():
    findings = healthy()
    findings["databricks"].update(version="0.212.0", version_ok=False)

    cli = row(doctor_sections(findings), "Dependencies", "Databricks CLI")

    assert cli["status"] == "FAIL"
    assert "0.212.0" in cli["value"] and "older than 0.296.0" in cli["value"]
    assert cli["hint"] == "ansible-playbook fmapi.coding_agents.setup -e dependencies_databricks_cli_upgrade=true"


def test_the_cli_the_helper_runs_being_gone_is_named():
    findings = healthy()
    findings["databricks"] = {"found": False, "on_path": False, "version": "", "version_ok": False}

    cli = row(doctor_sections(findings), "Dependencies", "Databricks CLI")

    assert cli == {"status": "FAIL", "label": "Databricks CLI",
                   "value": "the token helper runs %s, which does not exist" % CLI,
                   "hint": "ansible-playbook fmapi.coding_agents.setup  (installs the CLI and writes the helper again)"}


def test_claude_code_off_path_warns_with_the_directory_to_add():
    findings = healthy()
    findings["claude"]["on_path"] = False

    claude = row(doctor_sections(findings), "Dependencies", "Claude Code")

    assert claude["status"] == "WARN"
    assert 'export PATH="%s/.local/bin:$PATH"' % HOME in claude["hint"]


def test_claude_code_missing_fails():
    findings = healthy()
    findings["claude"] = {"found": False, "on_path": False, "version": "", "version_ok": False}

    assert row(doctor_sections(findings), "Dependencies", "Claude Code")["status"] == "FAIL"


def test_the_helpers_python_gone_fails_and_an_old_one_too():
    findings = healthy()
    findings["interpreter"] = {"found": False, "on_path": False, "version": "", "version_ok": False}
    gone = row(doctor_sections(findings), "Dependencies", "Helper's Python")
    findings["interpreter"] = {"found": True, "path": "/usr/bin/python3", "version": "3.6.8", "version_ok": False}
    old = row(doctor_sections(findings), "Dependencies", "Helper's Python")

    assert gone["status"] == "FAIL" and "/usr/bin/python3, which does not exist" in gone["value"]
    assert old["status"] == "FAIL" and "3.6.8" in old["value"] and "3.8 or newer" in old["value"]


def test_without_databricks_sdk_the_workspace_checks_are_skipped_with_the_reason():
    findings = healthy()
    findings["sdk"] = {"rc": 1, "stdout": "", "stderr": "Traceback...\nModuleNotFoundError: No module named 'databricks'"}
    findings["workspace"] = {"skipped": True}

    sections = doctor_sections(findings)

    sdk = row(sections, "Dependencies", "databricks-sdk")
    assert sdk["status"] == "WARN" and "No module named 'databricks'" in sdk["value"]
    assert row(sections, "Connectivity", "Workspace")["value"] == "needs databricks-sdk (see Dependencies)"
    assert statuses(sections, "Models") == {"SKIP"}


@pytest.mark.parametrize("run, words", [
    ({"ran": True, "timed_out": True, "timeout": 60, "rc": None, "token_chars": 0, "lines": 0},
     "printed no token within 60 seconds"),
    ({"ran": True, "timed_out": False, "rc": 1, "token_chars": 0, "lines": 0,
      "error": "fmapi-token-helper: the Databricks login session has ended"}, "failed (exit status 1)"),
    ({"ran": True, "timed_out": False, "rc": 0, "token_chars": 0, "lines": 0, "error": ""}, "printed nothing"),
    ({"ran": True, "timed_out": False, "rc": 0, "token_chars": 900, "lines": 3, "has_spaces": True, "error": ""},
     "printed more than a token (3 lines)"),
], ids=["timeout", "exit-status", "empty", "several-lines"])
def test_a_token_helper_that_does_not_print_one_token_fails(run, words):
    findings = healthy()
    findings["helper_run"] = run

    helper = row(doctor_sections(findings), "Auth", "Token helper")

    assert helper["status"] == "FAIL"
    assert words in helper["value"]


def test_an_unreachable_workspace_fails_connectivity_with_a_network_hint_and_skips_models():
    findings = healthy()
    # The role registers with failed_when: false: a failed module has no endpoints and failed=False.
    findings["workspace"] = {
        "failed": False, "failed_when_result": False, "host": HOST,
        "msg": "Connection to %s was refused: nothing accepts connections at that address and port." % HOST}

    sections = doctor_sections(findings)

    workspace = row(sections, "Connectivity", "Workspace")
    assert workspace["status"] == "FAIL"
    assert "refused" in workspace["value"]
    assert HOST in workspace["hint"] and "VPN" in workspace["hint"]
    assert statuses(sections, "Models") == {"SKIP"}


def test_a_token_the_workspace_rejects_points_at_a_new_login():
    findings = healthy()
    findings["workspace"] = {"host": HOST, "msg": "%s rejected the token of profile '%s' (HTTP 401). Run `%s` and "
                                                  "try again." % (HOST, PROFILE, LOGIN)}

    workspace = row(doctor_sections(findings), "Connectivity", "Workspace")

    assert workspace["status"] == "FAIL"
    assert workspace["hint"].endswith("or: ansible-playbook fmapi.coding_agents.reauth")


def test_model_findings_are_reported_per_role_with_a_switch_hint():
    findings = healthy()
    findings["workspace"]["validation"][2] = {
        "role": "sonnet", "endpoint": "databricks-claude-sonnet-9", "status": "FAIL",
        "message": "Endpoint 'databricks-claude-sonnet-9' does not exist.",
        "hint": "Pick one of: databricks-claude-sonnet-4-6."}
    findings["workspace"]["validation"][3].update(status="WARN", message="exists but is not ready")

    sections = doctor_sections(findings)

    sonnet = row(sections, "Models", "sonnet")
    assert sonnet["status"] == "FAIL"
    assert sonnet["hint"] == ("Pick one of: databricks-claude-sonnet-4-6.\n"
                              "To switch: ansible-playbook fmapi.coding_agents.setup -e sonnet=<endpoint>")
    assert row(sections, "Models", "haiku")["status"] == "WARN"


def test_an_unreadable_settings_file_fails_with_the_parse_error():
    findings = healthy()
    findings["install"].update(settings_valid=False, installed=False,
                               settings_error="%s is not valid JSON: Expecting ',' delimiter at line 3" % SETTINGS)

    sections = doctor_sections(findings)

    settings = row(sections, "Configuration", "Settings file")
    assert settings["status"] == "FAIL" and "line 3" in settings["value"]
    assert statuses(sections, "Profile") == {"SKIP"}


def test_missing_fmapi_keys_are_listed():
    findings = healthy()
    findings["install"].update(haiku=None, ttl_minutes=None)

    keys = row(doctor_sections(findings), "Configuration", "FMAPI settings")

    assert keys["status"] == "FAIL"
    assert keys["value"] == ("missing or invalid: env.ANTHROPIC_DEFAULT_HAIKU_MODEL, "
                             "env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS")


def test_a_base_url_that_is_not_databricks_fails():
    findings = healthy()
    findings["install"].update(base_url="https://api.anthropic.com", gateway=None)

    keys = row(doctor_sections(findings), "Configuration", "FMAPI settings")

    assert keys["status"] == "FAIL" and "https://api.anthropic.com" in keys["value"]


def test_api_key_helper_problems():
    findings = healthy()
    findings["install"]["helper_exists"] = False
    findings["helper_stat"] = {"stat": {"exists": False}}
    missing = row(doctor_sections(findings), "Configuration", "apiKeyHelper")

    findings = healthy()
    findings["helper_stat"]["stat"]["executable"] = False
    not_executable = row(doctor_sections(findings), "Configuration", "apiKeyHelper")

    findings = healthy()
    findings["install"]["helper_metadata"] = {"profile": PROFILE, "host": HOST}
    foreign = row(doctor_sections(findings), "Configuration", "apiKeyHelper")

    assert missing["status"] == "FAIL" and "which does not exist" in missing["value"]
    assert not_executable["status"] == "FAIL" and not_executable["hint"].startswith("chmod 700 " + HELPER)
    assert foreign["status"] == "WARN" and "not the token helper of this collection" in foreign["value"]


def test_settings_readable_by_others_warn_with_the_chmod():
    findings = healthy()
    findings["settings_stat"]["stat"]["mode"] = "0644"

    mode = row(doctor_sections(findings), "Configuration", "Settings permissions")

    assert mode == {"status": "WARN", "label": "Settings permissions",
                    "value": "%s has mode 0644; others can read it" % SETTINGS, "hint": "chmod 600 " + SETTINGS}


def test_leftovers_of_older_setups_warn_one_by_one():
    findings = healthy()
    findings["install"]["legacy"] = [
        {"name": "anthropic_auth_token", "path": SETTINGS, "description": "env.ANTHROPIC_AUTH_TOKEN is present"},
        {"name": "pat_cache", "path": HOME + "/.claude/.fmapi-pat-cache", "description": "A PAT cache"},
    ]

    sections = doctor_sections(findings)

    leftovers = [r for _title, r in rows_of(sections) if r["label"] == "Older setups"]
    assert [r["status"] for r in leftovers] == ["WARN", "WARN"]
    assert "revoke the token" in leftovers[1]["hint"]
    assert "revoke" not in leftovers[0]["hint"]


def test_doctor_sections_refuses_what_is_not_a_dict():
    with pytest.raises(AnsibleFilterError):
        doctor_sections(["not", "findings"])


# ---------------------------------------------------------------------- the helper's output

def test_helper_output_summary_keeps_the_shape_and_never_the_token():
    summary = helper_output_summary({"rc": 0, "stdout": JWT + "\n", "stderr": "", "changed": False}, 60)

    assert summary == {"ran": True, "timed_out": False, "timeout": 60, "rc": 0, "token_chars": len(JWT), "lines": 1,
                       "has_spaces": False, "error": ""}
    assert JWT not in repr(summary)


def test_helper_output_summary_masks_tokens_in_error_output():
    summary = helper_output_summary({"rc": 1, "stdout": "", "stderr": "line one\nbad token " + JWT + "\n"})

    assert summary["error"] == "line one bad token <hidden>"


@pytest.mark.parametrize("result, expected", [
    ({"skipped": True, "changed": False}, {"ran": False}),
    ({}, {"ran": False}),
    (None, {"ran": False}),
])
def test_helper_output_summary_of_a_run_that_did_not_happen(result, expected):
    assert helper_output_summary(result) == expected


def test_helper_output_summary_of_a_timeout():
    summary = helper_output_summary({"timed_out": True}, 60)

    assert summary["timed_out"] is True and summary["timeout"] == 60 and summary["token_chars"] == 0


@pytest.mark.parametrize("script, interpreter", [
    ("#!/usr/bin/python3\n# fmapi-coding-agents-helper: {}\n", "/usr/bin/python3"),
    ("#!/bin/sh\n# fmapi-coding-agents-helper: {}\n#\n''':'\nexec '/Users/dev/My Tools/python3' \"$0\" \"$@\"\n'''\n",
     "/Users/dev/My Tools/python3"),
    ("#!/usr/bin/env python3\n", None),
    ("#!/bin/bash\nFMAPI_PROFILE=\"x\"\n", "/bin/bash"),
    ("no shebang\n", None),
    ("", None),
])
def test_helper_interpreter_reads_the_shebang_or_the_exec_line(script, interpreter):
    assert helper_interpreter(script) == interpreter


def test_mask_secrets_hides_every_token_shape():
    text = "jwt %s pat dapi%s refresh doau%s end" % (JWT, "0123456789abcdef0123", "AbCdEf0123456789")

    assert mask_secrets(text) == "jwt <hidden> pat <hidden> refresh <hidden> end"


# ---------------------------------------------------------------------------------- session

def test_session_problem_is_empty_for_an_active_session():
    assert session_problem({"session": "active", "profile": PROFILE}) == ""


@pytest.mark.parametrize("session, words", [
    ({"session": "expired", "login_command": LOGIN}, [LOGIN, "ansible-playbook fmapi.coding_agents.reauth"]),
    ({"session": "no_profile"}, ["is not in ~/.databrickscfg", "ansible-playbook fmapi.coding_agents.setup", LOGIN]),
    ({"session": "no_cli"}, ["Databricks CLI was not found"]),
    ({"session": "error", "msg": "TLS error with " + JWT}, ["could not be checked: TLS error with <hidden>"]),
])
def test_session_problem_says_what_to_run(session, words):
    problem = session_problem(dict(session, profile=PROFILE, host=HOST))

    for word in words:
        assert word in problem
    assert JWT not in problem


def test_login_row_after_a_login_and_when_none_was_needed():
    logged_in = login_row({"session": "active", "changed": True, "expires_at": "2026-01-31T12:00:00Z"}, PROFILE, HOST)
    already = login_row({"session": "active", "changed": False}, PROFILE, HOST)

    assert logged_in == {"status": "ACTIVE", "label": "OAuth session",
                         "value": "logged in to %s as profile %s; access token valid until 2026-01-31T12:00:00Z"
                         % (HOST, PROFILE)}
    assert already["status"] == "ACTIVE" and "no login was needed" in already["value"]


def test_login_row_without_a_browser_gives_the_command():
    result = {"session": "expired", "changed": False, "login_required": True, "login_command": LOGIN,
              "msg": "Profile %s: The Databricks login session has ended (A new access token could not be\n"
                     "retrieved). No browser can open here: BROWSER=none asks the CLI to print the login URL. "
                     "Log in with: %s" % (PROFILE, LOGIN)}

    login = login_row(result, PROFILE, HOST)

    assert login["status"] == "EXPIRED"
    assert login["value"] == ("not logged in: no browser can open here (BROWSER=none asks the CLI to print the "
                              "login URL)")
    assert login["hint"].startswith(LOGIN + "   (in a terminal")


def test_login_row_of_a_failed_login():
    login = login_row({"session": "error", "msg": "connection refused"}, PROFILE, HOST)

    assert login["status"] == "ERROR" and login["value"] == "connection refused"


# ---------------------------------------------------------------------------------- status

def test_status_of_an_active_setup():
    facts = {"install": INSTALL, "session": healthy()["session"], "settings_path": SETTINGS,
             "helper_stat": {"stat": {"exists": True}}, "plugin_stat": {"stat": {"exists": True}},
             "plugin_dir": HOME + "/.claude/fmapi-coding-agents/marketplace"}

    sections = status_sections(facts)

    assert [section["title"] for section in sections] == ["Configuration", "Auth", "Files"]
    configuration = {r["label"]: r["value"] for r in sections[0]["rows"]}
    assert configuration == {"Workspace": HOST, "Profile": PROFILE, "Model": "databricks-claude-opus-4-6",
                             "Opus": "databricks-claude-opus-4-6", "Sonnet": "databricks-claude-sonnet-4-6",
                             "Haiku": "databricks-claude-haiku-4-5", "Token refresh": "every 30 min"}
    assert sections[1]["rows"][0]["status"] == "ACTIVE"
    assert [(r["status"], r["label"]) for r in sections[2]["rows"]] == [
        ("OK", "Settings"), ("OK", "Token helper"), ("OK", "Plugin")]


def test_status_of_an_expired_session_gives_both_fixes():
    session = dict(healthy()["session"], session="expired", expires_at=None, login_command=LOGIN)
    facts = {"install": INSTALL, "session": session, "settings_path": SETTINGS,
             "helper_stat": {"stat": {"exists": False}}, "plugin_stat": {"stat": {"exists": False}}}

    sections = status_sections(facts)

    auth = sections[1]["rows"][0]
    assert auth["status"] == "EXPIRED"
    assert auth["hint"] == LOGIN + "\nor: ansible-playbook fmapi.coding_agents.reauth"
    assert sections[2]["rows"][1]["status"] == "MISSING"
    assert sections[2]["rows"][2]["status"] == "INFO"


def test_status_without_a_setup_says_how_to_make_one():
    sections = status_sections({"install": dict(INSTALL, installed=False), "session": {"skipped": True},
                                "settings_path": SETTINGS})

    assert sections == [{"title": "Configuration", "rows": [],
                         "empty": "No FMAPI configuration found in %s; run: ansible-playbook "
                                  "fmapi.coding_agents.setup -e host=https://<your-workspace>" % SETTINGS}]


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"doctor_sections", "status_sections", "session_problem", "login_row",
                                             "helper_interpreter", "helper_output_summary"}
