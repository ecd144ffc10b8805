# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the codex_info module: the module run in-process on a home directory in a temp directory.

Codex is a small script that answers ``--version``, ``login status`` and ``doctor --json`` the way Codex 0.171.0
does (the real one runs in tests/functional/test_codex_info.py). The configuration is written by codex_config.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import render_helper_metadata
from ansible_collections.fmapi.coding_agents.plugins.modules import codex_config, codex_info
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main, search_only_path

HOST = "https://example.cloud.databricks.com"
SETUP_CODEX = "ansible-playbook fmapi.coding_agents.setup -e agents=codex"
# `codex doctor --json` of Codex 0.171.0 (abridged), with the reachability check as given.
REACHABLE = {"id": "network.provider_reachability", "category": "reachability", "status": "ok",
             "summary": "active provider endpoints are reachable over HTTP",
             "details": {"databricks API route probe": HOST + "/serving-endpoints/<redacted> route exists (HTTP 401)",
                         "reachability mode": "provider auth"}, "remediation": None, "durationMs": 50}
NOT_FOUND = {"id": "network.provider_reachability", "category": "reachability", "status": "fail",
             "summary": "one or more required provider endpoints are unreachable over HTTP",
             "details": {"databricks API route probe": HOST + "/ai-gateway/<redacted> returned HTTP 404 (required)",
                         "reachability mode": "provider auth"},
             "issues": [{"severity": "fail", "cause": "provider base URL route returned 404 - verify the configured "
                         "API prefix", "remedy": "Set base_url to the provider API root"}],
             "remediation": "Check proxy, VPN, firewall, DNS, and custom CA configuration.", "durationMs": 50}


def doctor_report(reachability, config_status="ok"):
    return {"schemaVersion": 1, "overallStatus": "ok" if reachability["status"] == "ok" else "fail",
            "codexVersion": "0.171.0",
            "checks": {"config.load": {"id": "config.load", "category": "config", "status": config_status,
                                       "summary": "config loaded", "details": {}, "remediation": None},
                       "network.provider_reachability": reachability,
                       "auth.credentials": {"id": "auth.credentials", "status": "ok",
                                            "summary": "OpenAI auth is not required for the active model provider"}}}


class FakeCodex:
    """An executable ``codex`` in ``directory`` answering like Codex 0.171.0."""

    def __init__(self, directory, version="0.171.0"):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = str(directory / "codex")
        self.state = directory / "codex-state"
        self.state.mkdir()
        self.log = directory / "codex-calls.log"
        (self.state / "version").write_text("codex-cli %s\n" % version)
        (self.state / "login").write_text("Not logged in\n")
        (self.state / "doctor").write_text(json.dumps(doctor_report(REACHABLE)))
        (self.state / "sleep").write_text("0")
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.write('#!/bin/sh\nS=%s\necho "$* CODEX_HOME=$CODEX_HOME TOKEN=$DATABRICKS_TOKEN" >> %s\n'
                         '/bin/sleep "$(/bin/cat $S/sleep)"\n'
                         'case "$1" in\n'
                         '  --version) /bin/cat $S/version ;;\n'
                         '  login) /bin/cat $S/login >&2; exit 1 ;;\n'
                         '  doctor) /bin/cat $S/doctor; exit 1 ;;\n'
                         'esac\n' % (self.state, self.log))
        os.chmod(self.path, 0o755)

    def refuse_config(self, message):
        (self.state / "login").write_text("Error loading configuration: %s\n" % message)

    def doctor(self, report):
        (self.state / "doctor").write_text(report if isinstance(report, str) else json.dumps(report))

    def hang(self, seconds):
        (self.state / "sleep").write_text(str(seconds))

    def calls(self):
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    managed_root(home).mkdir(mode=0o755)
    managed_root(home).chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    search_only_path(monkeypatch)
    return home


@pytest.fixture(name="helper")
def helper_fixture(home):
    """A token helper of this collection (only its metadata line matters here)."""
    path = home / ".local" / "share" / "fmapi-coding-agents" / "fmapi-token-helper"
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n%s\necho token\n" % render_helper_metadata(profile="fmapi-dev", host=HOST))
    path.chmod(0o700)
    return str(path)


@pytest.fixture(name="codex")
def codex_fixture(tmp_path, monkeypatch):
    fake = FakeCodex(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    return fake


def configure(capsys, home, helper, **args):
    args = dict({"path": str(home / ".codex" / "config.toml"), "host": HOST, "auth_command": helper}, **args)
    run_main(codex_config.main, capsys, args)
    return home / ".codex" / "config.toml"


def managed_root(home):
    """The folder that stands for / when codex_info looks for the managed configuration (beside the home)."""
    return home.parent / "managed-root"


def info(capsys, **args):
    args.setdefault("managed_root", str(managed_root(Path(os.environ["HOME"]))))
    return run_main(codex_info.main, capsys, args)


def row(result, label):
    rows = [item for item in result["checks"] if item["label"] == label]
    assert len(rows) == 1, result["checks"]
    return rows[0]


def test_a_healthy_setup_passes_and_reports_what_is_configured(capsys, home, helper, codex):
    configure(capsys, home, helper, endpoint_style="ai-gateway")
    result = info(capsys, run_doctor=True, available_models=["databricks-gpt-5-5"])
    assert result["installed"] is True and result["provider_selected"] is True
    assert (result["path"], result["version"], result["version_ok"]) == (codex.path, "0.171.0", True)
    assert (result["host"], result["endpoint_style"], result["model"]) == (HOST, "ai-gateway", "databricks-gpt-5-5")
    assert result["auth_command"] == helper and result["auth_command_ok"] and result["helper_is_ours"]
    assert result["profile"] == "fmapi-dev"
    assert result["config_load"] == {"ran": True, "ok": True, "error": None}
    assert result["doctor"]["overall_status"] == "ok"
    statuses = dict((item["label"], item["status"]) for item in result["checks"])
    assert statuses == {"Codex CLI": "PASS", "Codex config": "PASS", "Codex provider": "PASS",
                        "Codex auth command": "PASS", "Codex loads config": "PASS",
                        "Codex provider reachable": "PASS", "Codex model": "PASS"}
    assert {"label": "Model", "value": "databricks-gpt-5-5"} in result["summary"]
    assert result["removable"][0]["value"].startswith("the Databricks provider in ")


def test_codex_runs_with_the_config_folder_as_its_home_and_without_databricks_variables(
        capsys, home, helper, codex, monkeypatch):
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-from-the-environment")
    path = configure(capsys, home, helper)
    info(capsys, run_doctor=True)
    calls = codex.calls()
    assert [call.split()[0] for call in calls] == ["--version", "login", "doctor"]
    assert all("CODEX_HOME=%s " % path.parent in call and "TOKEN= " in call + " " for call in calls), calls


def test_a_missing_codex_is_a_failure_with_the_fix(capsys, home, helper):
    configure(capsys, home, helper)
    result = info(capsys)
    check = row(result, "Codex CLI")
    assert check["status"] == "FAIL" and "codex was not found" in check["value"]
    assert check["fix"].startswith(SETUP_CODEX)
    assert row(result, "Codex loads config")["status"] == "SKIP"
    assert result["path"] is None and result["version"] is None


def test_an_old_codex_is_a_failure(capsys, home, helper, tmp_path, monkeypatch):
    old = FakeCodex(tmp_path / "old", version="0.120.0")
    monkeypatch.setenv("PATH", str(tmp_path / "old"))
    configure(capsys, home, helper)
    result = info(capsys)
    check = row(result, "Codex CLI")
    assert check["status"] == "FAIL" and "older than 0.134.0" in check["value"] and old.path in check["value"]
    assert result["version_ok"] is False


def test_a_config_codex_refuses_is_a_failure_with_codexs_own_words(capsys, home, helper, codex):
    path = configure(capsys, home, helper)
    path.write_text(path.read_text().replace('wire_api = "responses"', 'wire_api = "responses"\nenv_key = "K"'))
    codex.refuse_config("%s:5:2: model_providers.databricks: provider auth cannot be combined with env_key" % path)
    codex.doctor(doctor_report(REACHABLE, config_status="fail"))
    result = info(capsys, run_doctor=True)
    load = row(result, "Codex loads config")
    assert load["status"] == "FAIL" and "provider auth cannot be combined with env_key" in load["value"]
    assert load["fix"].startswith(SETUP_CODEX)
    assert row(result, "Codex provider leftovers")["status"] == "FAIL"
    assert result["conflicting_keys"] == ["env_key"]
    # Codex then probes OpenAI, which says nothing about the workspace.
    assert row(result, "Codex provider reachable")["status"] == "SKIP"


def test_invalid_toml_is_a_failure_naming_the_place(capsys, home, codex):
    path = home / ".codex" / "config.toml"
    path.parent.mkdir()
    path.write_text('model = "x"\n[model_providers.databricks\n')
    codex.refuse_config("%s:2:28: unclosed table, expected `]`" % path)
    result = info(capsys)
    assert result["config_valid"] is False and "line 2, column" in result["config_error"]
    config = row(result, "Codex config")
    assert config["status"] == "FAIL" and "codex_repair_config=true" in config["fix"]
    assert "unclosed table" in row(result, "Codex loads config")["value"]


def test_no_configuration_is_a_failure_that_names_the_setup(capsys, home, codex):
    result = info(capsys)
    config = row(result, "Codex config")
    assert config["status"] == "FAIL" and "does not exist" in config["value"]
    assert config["fix"] == SETUP_CODEX + " -e host=https://<your-workspace>"
    assert result["installed"] is False and result["summary"] == [] and result["removable"] == []


def test_another_provider_selected_is_a_failure(capsys, home, helper, codex):
    path = configure(capsys, home, helper)
    path.write_text(path.read_text().replace('model_provider = "databricks"', 'model_provider = "openai"'))
    result = info(capsys, run_doctor=True)
    config = row(result, "Codex config")
    assert config["status"] == "FAIL" and 'model_provider = "openai"' in config["value"]
    assert row(result, "Codex provider reachable")["status"] == "SKIP"


def test_a_model_the_workspace_does_not_serve_is_a_failure(capsys, home, helper, codex):
    configure(capsys, home, helper, model="databricks-gpt-9")
    result = info(capsys, available_models=["databricks-gpt-5-5", "databricks-gpt-5-2"])
    model = row(result, "Codex model")
    assert model["status"] == "FAIL" and "databricks-gpt-9 is not a serving endpoint" in model["value"]
    assert "codex_model=" in model["fix"]


@pytest.mark.parametrize("change, status, words", [
    (os.unlink, "FAIL", "does not exist"),
    (lambda helper: os.chmod(helper, 0o600), "FAIL", "not executable"),
    (lambda helper: open(helper, "w").write("#!/bin/sh\necho mine\n"), "WARN", "not the token helper"),
])
def test_a_broken_auth_command_is_reported(capsys, home, helper, codex, change, status, words):
    configure(capsys, home, helper)
    change(helper)
    check = row(info(capsys), "Codex auth command")
    assert check["status"] == status and words in check["value"]


def test_legacy_profile_settings_fail_with_the_move_to_make(capsys, home, helper, codex):
    path = configure(capsys, home, helper)
    path.write_text('profile = "fmapi"\n' + path.read_text() + '\n[profiles.fmapi]\nmodel = "x"\n')
    codex.refuse_config('legacy `profile = "fmapi"` config is no longer supported; use `--profile fmapi` with '
                        '`fmapi.config.toml` instead')
    result = info(capsys)
    rows = [item for item in result["checks"] if item["label"] == "Codex legacy profile"]
    assert [item["status"] for item in rows] == ["FAIL", "WARN"]
    assert str(path.parent / "fmapi.config.toml") in rows[0]["fix"]
    assert row(result, "Codex loads config")["fix"].startswith("Delete the top-level profile line")


def test_a_route_the_workspace_does_not_serve_names_the_other_endpoint_style(capsys, home, helper, codex):
    configure(capsys, home, helper, endpoint_style="ai-gateway")
    codex.doctor(doctor_report(NOT_FOUND))
    check = row(info(capsys, run_doctor=True), "Codex provider reachable")
    assert check["status"] == "FAIL" and "404" in check["value"]
    assert "endpoint_style=serving-endpoints" in check["fix"]


def test_a_doctor_without_a_report_is_a_warning(capsys, home, helper, codex):
    configure(capsys, home, helper)
    codex.doctor("thread 'main' panicked")
    check = row(info(capsys, run_doctor=True), "Codex provider reachable")
    assert check["status"] == "WARN" and "printed no report" in check["value"]


def test_a_hanging_codex_is_bounded(capsys, home, helper, codex):
    configure(capsys, home, helper)
    codex.hang(30)
    started = time.monotonic()
    result = info(capsys, doctor_timeout=2)
    assert time.monotonic() - started < 25
    assert row(result, "Codex CLI")["status"] == "FAIL"
    assert "no answer within 2 s" in result["codex"]["output"]


def test_without_looking_for_codex_only_the_files_are_read(capsys, home, helper, codex):
    configure(capsys, home, helper)
    result = info(capsys, find_codex=False)
    assert codex.calls() == []
    assert row(result, "Codex CLI")["status"] == "SKIP" and row(result, "Codex config")["status"] == "PASS"


def test_secrets_in_the_config_never_reach_the_result(capsys, home, helper, codex):
    path = configure(capsys, home, helper)
    path.write_text(path.read_text() + '\n[mcp_servers.x]\ncommand = "x"\nenv = { API_KEY = "sk-verysecret" }\n')
    result = info(capsys)
    assert "sk-verysecret" not in result["_stdout"]


# ------------------------------------------------------------------------------------ managed configuration

MANAGED_LABELS = ("Codex managed config", "Codex overridden setting")
MANAGED_PROVIDER = ('[model_providers.databricks]\nname = "Databricks"\nbase_url = "%s/ai-gateway/codex/v1"\n'
                    'wire_api = "responses"\n\n[model_providers.databricks.auth]\ncommand = "%s"\n'
                    % (HOST, _managed.SYSTEM_TOKEN_HELPER))


def write_managed(home, text, mode=0o644):
    """Codex's managed_config.toml under the scratch root, in 0755 folders."""
    root = managed_root(home)
    path = Path(_managed.codex_config(None, str(root)))
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = path.parent
    while folder != root:
        folder.chmod(0o755)
        folder = folder.parent
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return str(path)


def managed_rows(result):
    return [item for item in result["checks"] if item["label"] in MANAGED_LABELS]


def test_without_a_managed_config_the_report_is_unchanged(capsys, home, helper, codex):
    configure(capsys, home, helper)
    result = info(capsys)
    assert managed_rows(result) == []
    assert result["managed"]["exists"] is False and result["managed"]["overridden"] == []
    assert "Managed config" not in [entry["label"] for entry in result["summary"]]


def test_a_managed_config_with_our_provider_passes(capsys, home, codex):
    path = write_managed(home, 'model = "databricks-gpt-5-5"\nmodel_provider = "databricks"\n\n' + MANAGED_PROVIDER)

    result = info(capsys)

    managed = result["managed"]
    assert (managed["path"], managed["provider_present"], managed["configured"]) == (path, True, True)
    assert (managed["model"], managed["model_provider"]) == ("databricks-gpt-5-5", "databricks")
    assert managed["auth_command"] == _managed.SYSTEM_TOKEN_HELPER
    assert managed["values"] == {"model": "databricks-gpt-5-5", "model_provider": "databricks",
                                 "model_providers.databricks.base_url": HOST + "/ai-gateway/codex/v1",
                                 "model_providers.databricks.auth.command": _managed.SYSTEM_TOKEN_HELPER}
    assert row(result, "Codex managed config") == {
        "category": "Configuration", "status": "PASS", "label": "Codex managed config", "fix": "",
        "value": "%s: the Databricks provider (model databricks-gpt-5-5), over the user's config" % path}
    assert {"label": "Managed config", "value": path} in result["summary"]


def test_a_managed_config_without_our_provider_is_information(capsys, home, codex):
    path = write_managed(home, 'approval_policy = "on-request"\n')
    check = row(info(capsys), "Codex managed config")
    assert check["status"] == "INFO" and check["value"] == "%s (no Databricks provider: not this collection's)" % path


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_managed_config_others_can_write_is_a_warning_with_the_chmod(capsys, home, codex, where):
    path = write_managed(home, MANAGED_PROVIDER)
    writable = path if where == "file" else os.path.dirname(path)
    os.chmod(writable, 0o666 if where == "file" else 0o777)
    check = row(info(capsys), "Codex managed config")
    assert check["status"] == "WARN" and check["value"].startswith("%s: %s can be written" % (path, writable))
    assert check["fix"] == "sudo chmod go-w %s" % writable


def test_each_user_key_the_managed_config_sets_otherwise_is_a_warning(capsys, home, helper, codex):
    config = configure(capsys, home, helper, model="databricks-gpt-5-5")
    path = write_managed(home, 'model = "databricks-gpt-5-4"\n\n' + MANAGED_PROVIDER)

    result = info(capsys)

    overridden = [item for item in result["checks"] if item["label"] == "Codex overridden setting"]
    assert [item["value"] for item in overridden] == [
        'model in %s is ignored: managed settings (%s) set it to "databricks-gpt-5-4"' % (config, path),
        'model_providers.databricks.auth.command in %s is ignored: managed settings (%s) set it to "%s"'
        % (config, path, _managed.SYSTEM_TOKEN_HELPER),
        'model_providers.databricks.base_url in %s is ignored: managed settings (%s) set it to "%s/ai-gateway/codex/v1"'
        % (config, path, HOST)]
    assert {item["status"] for item in overridden} == {"WARN"}
    assert overridden[0]["fix"] == "Remove it from %s, or ask whoever manages %s" % (config, path)
    assert [item["key"] for item in result["managed"]["overridden"]] == [
        "model", "model_providers.databricks.auth.command", "model_providers.databricks.base_url"]


def test_keys_the_user_does_not_set_or_sets_alike_are_no_warning(capsys, home, helper, codex):
    configure(capsys, home, helper, model="databricks-gpt-5-5")
    write_managed(home, 'model = "databricks-gpt-5-5"\nmodel_provider = "databricks"\napproval_policy = "never"\n')
    result = info(capsys)
    assert [item["status"] for item in managed_rows(result)] == ["INFO"]


def test_a_managed_provider_that_is_not_ours_silently_replaces_the_setup(capsys, home, helper, codex):
    config = configure(capsys, home, helper)
    path = write_managed(home, 'model_provider = "openai"\n')

    result = info(capsys)

    warnings = [item for item in managed_rows(result) if item["status"] == "WARN"]
    assert warnings[0] == {
        "category": "Configuration", "status": "WARN", "label": "Codex managed config",
        "value": '%s sets model_provider = "openai", not this collection\'s Databricks provider: Codex does not use the '
                 'FMAPI setup in %s' % (path, config),
        "fix": "Ask whoever manages %s to remove model_provider from it" % path}
    assert warnings[1]["label"] == "Codex overridden setting" and warnings[1]["value"].startswith("model_provider in ")
    assert len(warnings) == 2
    assert result["managed"]["configured"] is False


def test_a_managed_provider_without_a_user_setup_replaces_nothing(capsys, home, codex):
    write_managed(home, 'model_provider = "openai"\n')
    assert [item["status"] for item in managed_rows(info(capsys))] == ["INFO"]


def test_an_invalid_managed_config_is_a_warning_even_beside_a_broken_user_config(capsys, home, codex):
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text("model = \n")
    path = write_managed(home, "model_provider = [\n")
    check = row(info(capsys), "Codex managed config")
    assert check["status"] == "WARN" and check["value"].startswith("%s is not valid TOML" % path)


def test_secrets_in_the_managed_config_never_reach_the_result(capsys, home, helper, codex):
    config = configure(capsys, home, helper)
    config.write_text(config.read_text() + '\n[model_providers.databricks.http_headers]\n'
                      'Authorization = "Bearer sk-user-secret"\n')
    write_managed(home, MANAGED_PROVIDER + '\n[model_providers.databricks.http_headers]\n'
                  'Authorization = "Bearer sk-managed-secret"\n')
    result = info(capsys)
    assert [item["key"] for item in result["managed"]["overridden"]][-1] == \
        "model_providers.databricks.http_headers.Authorization"
    assert "sk-managed-secret" not in result["_stdout"] and "sk-user-secret" not in result["_stdout"]
