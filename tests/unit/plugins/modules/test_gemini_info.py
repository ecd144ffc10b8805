# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the gemini_info module: a laptop's Gemini CLI setup made of scripts in a temp directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _gemini as gm
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed
from ansible_collections.fmapi.coding_agents.plugins.modules import gemini_info
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.module_utils.test_gemini import write_script
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main, search_only_path

HOST = "https://my-workspace.cloud.databricks.com"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.info-token"
MODEL = "databricks-gemini-2-5-pro"


def write_json(path, data, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    os.chmod(path, mode)


class Laptop:  # pylint: disable=too-few-public-methods
    """The files of an FMAPI Gemini CLI install."""

    def __init__(self, tmp_path):
        self.home = tmp_path / "home"
        self.bin = self.home / ".local" / "bin"
        self.launcher = self.bin / "gemini"
        self.real_dir = tmp_path / "npm" / "node_modules" / ".bin"
        self.gemini = write_script(self.real_dir / "gemini", '#!/bin/sh\n[ "$1" = --version ] && echo 0.61.0\n'
                                                             'touch "${GEMINI_CLI_HOME:-$HOME}/ran"\n')
        self.helper = write_script(self.home / ".claude" / "fmapi-token-helper",
                                   '#!/bin/sh\n# fmapi-coding-agents-helper: {"version": 1}\necho %s\n' % TOKEN, 0o700)
        self.settings = self.home / ".gemini" / "settings.json"
        # The folder that stands for / (the system settings are under it, in folders only their owner can write).
        self.root = tmp_path / "managed-root"
        self.root.mkdir(mode=0o755)
        self.root.chmod(0o755)
        self.system = Path(_managed.gemini_settings(None, str(self.root)))

    def install(self, gemini=None, helper=None):
        write_script(self.launcher, gm.render_launcher(gemini or self.gemini, helper or self.helper, HOST, "ai-gateway",
                                                       MODEL, "x-databricks-use-coding-agent-mode: true"))
        write_json(self.settings, {"security": {"auth": {"selectedType": "gemini-api-key"}}})
        write_json(self.settings.parent / ".settings.json.fmapi-state.json",
                   {"version": 1, "selected_type": {"had": True, "previous": "oauth-personal"}})


@pytest.fixture(name="laptop")
def laptop_fixture(tmp_path, monkeypatch):
    laptop = Laptop(tmp_path)
    laptop.home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(laptop.home))
    monkeypatch.delenv("GEMINI_CLI_HOME", raising=False)
    monkeypatch.setenv("PATH", "%s:%s:%s" % (laptop.bin, laptop.real_dir, os.environ["PATH"]))
    search_only_path(monkeypatch)
    return laptop


@pytest.fixture(name="info")
def info_fixture(capsys, laptop):
    def info(**args):
        module_args = {"managed_root": str(laptop.root)}
        module_args.update(args)
        return run_main(gemini_info.main, capsys, module_args)
    return info


def row(result, label):
    rows = [item for item in result["checks"] if item["label"] == label]
    assert len(rows) == 1, result["checks"]
    return rows[0]


def test_a_complete_install_passes_and_reports_its_values(info, laptop):
    laptop.install()

    result = info(run_launcher=True)

    assert result["changed"] is False and result["installed"] is True
    assert (result["host"], result["endpoint_style"], result["model"]) == (HOST, "ai-gateway", MODEL)
    assert result["gemini"]["path"] == laptop.gemini and result["gemini"]["version"] == "0.61.0"
    assert result["launcher"]["is_ours"] is True and result["launcher"]["token_helper"] == laptop.helper
    assert result["command"]["is_launcher"] is True
    assert result["settings"]["set_by_setup"] is True and result["settings"]["previous_selected_type"] == "oauth-personal"
    assert result["launcher_run"]["rc"] == 0 and result["launcher_run"]["version"] == "0.61.0"
    statuses = {item["label"]: item["status"] for item in result["checks"]}
    assert statuses == {"Gemini CLI": "PASS", "Gemini launcher": "PASS", "gemini on PATH": "PASS",
                        "Gemini settings": "PASS", "Gemini system settings": "SKIP", "Gemini model": "PASS",
                        "Gemini launcher run": "PASS"}
    assert TOKEN not in result["_stdout"]
    assert {"label": "Gemini settings", "value": "security.auth.selectedType in %s (back to 'oauth-personal')"
            % laptop.settings} in result["removable"]
    assert not (laptop.home / "ran").exists(), "Gemini CLI ran with a throwaway home"


def test_nothing_installed_fails_with_the_setup_command(info, laptop):
    result = info()
    assert result["installed"] is False and result["summary"] == [] and result["removable"] == []
    assert row(result, "Gemini launcher")["status"] == "FAIL"
    assert "agents=gemini" in row(result, "Gemini launcher")["fix"]
    assert row(result, "Gemini settings")["status"] == "FAIL"
    assert row(result, "gemini on PATH")["status"] == "SKIP"
    assert row(result, "Gemini launcher run")["status"] == "SKIP"
    assert result["gemini"]["path"] == laptop.gemini and row(result, "Gemini CLI")["status"] == "PASS"


def test_a_real_gemini_first_on_path_bypasses_the_launcher(info, laptop):
    laptop.install()
    check = row(info(search_path="%s:%s" % (laptop.real_dir, laptop.bin)), "gemini on PATH")
    assert check["status"] == "WARN"
    assert "gemini starts %s, not the launcher" % laptop.gemini in check["value"]
    assert 'export PATH="%s:$PATH"' % laptop.bin in check["fix"]
    assert row(info(search_path="/usr/bin:/bin"), "gemini on PATH")["value"].startswith("gemini is not on PATH")


def test_a_launcher_whose_gemini_is_gone_fails(info, laptop, tmp_path):
    laptop.install(gemini=str(tmp_path / "gone" / "gemini"))
    result = info(run_launcher=True)
    assert row(result, "Gemini launcher")["status"] == "FAIL"
    assert "does not exist any more" in row(result, "Gemini launcher")["value"]
    assert row(result, "Gemini CLI")["status"] == "FAIL"


def test_a_launcher_that_would_start_itself_fails_and_is_not_run(info, laptop):
    laptop.install()
    laptop.install(gemini=str(laptop.launcher))
    result = info(run_launcher=True)
    assert result["launcher"]["loops"] is True
    assert "a launcher too" in row(result, "Gemini launcher")["value"]
    assert result["launcher_run"] == {"ran": False}


def test_a_failing_helper_is_reported_with_its_message(info, laptop):
    helper = write_script(laptop.home / ".claude" / "fmapi-token-helper",
                          "#!/bin/sh\necho 'fmapi-token-helper: run databricks auth login --profile p' >&2\nexit 1\n")
    laptop.install(helper=helper)
    check = row(info(run_launcher=True), "Gemini launcher run")
    assert check["status"] == "FAIL"
    assert "run databricks auth login --profile p" in check["value"]
    assert "ansible-playbook fmapi.coding_agents.reauth" in check["fix"]


def test_an_old_gemini_fails(info, laptop):
    laptop.install()
    write_script(laptop.real_dir / "gemini", "#!/bin/sh\necho 0.39.0\n")
    check = row(info(), "Gemini CLI")
    assert check["status"] == "FAIL" and "older than 0.40.0" in check["value"]


@pytest.mark.parametrize("settings, expected", [
    ({"security": {"auth": {"selectedType": "oauth-personal"}}}, "is 'oauth-personal', not gemini-api-key"),
    ({"ui": {}}, "is not set, not gemini-api-key"),
])
def test_a_wrong_auth_type_in_the_user_settings_fails(info, laptop, settings, expected):
    laptop.install()
    write_json(laptop.settings, settings)
    check = row(info(), "Gemini settings")
    assert check["status"] == "FAIL" and expected in check["value"]


def test_an_enforced_type_in_the_user_settings_that_refuses_ours_fails(info, laptop):
    laptop.install()
    write_json(laptop.settings, {"security": {"auth": {"selectedType": "gemini-api-key",
                                                       "enforcedType": "oauth-personal"}}})
    check = row(info(), "Gemini settings")
    assert check["status"] == "FAIL" and "enforcedType" in check["value"]
    assert check["fix"] == "Remove security.auth.enforcedType from %s" % laptop.settings


def test_invalid_settings_fail_with_the_position(info, laptop):
    laptop.install()
    laptop.settings.write_text('{\n  "security": {\n}')
    check = row(info(), "Gemini settings")
    assert check["status"] == "FAIL" and "line 3, column 2" in check["value"]


def test_commented_settings_are_read_as_gemini_cli_reads_them(info, laptop):
    laptop.install()
    laptop.settings.write_text('{\n  // ours\n  "security": {"auth": {"selectedType": "gemini-api-key"}}\n}')
    result = info()
    assert result["settings"]["comments"] is True and row(result, "Gemini settings")["status"] == "PASS"


def test_system_and_project_settings_that_override_fail(info, laptop, tmp_path):
    laptop.install()
    write_json(laptop.system, {"security": {"auth": {"enforcedType": "oauth-personal"}}})
    project = tmp_path / "project"
    write_json(project / ".gemini" / "settings.json", {"security": {"auth": {"selectedType": "vertex-ai"}}})

    result = info(project_dir=str(project))

    system = row(result, "Gemini system settings")
    assert system["status"] == "FAIL" and "security.auth.enforcedType = 'oauth-personal'" in system["value"]
    assert "ask whoever manages this machine" in system["fix"]
    assert row(result, "Gemini project settings")["status"] == "FAIL"
    write_json(laptop.system, {"security": {"auth": {"enforcedType": "gemini-api-key"}}})
    assert row(info(), "Gemini system settings")["status"] == "PASS"


def test_a_model_name_in_the_settings_is_shown_as_unused(info, laptop):
    laptop.install()
    write_json(laptop.settings, {"security": {"auth": {"selectedType": "gemini-api-key"}},
                                 "model": {"name": "databricks-gemini-2-5-flash"}})
    check = row(info(), "Gemini model")
    assert check["status"] == "INFO" and "model.name databricks-gemini-2-5-flash in the settings is not used" in \
        check["value"]
    assert check["fix"] == "For one session: gemini -m databricks-gemini-2-5-flash"


def test_readable_settings_get_a_permissions_warning(info, laptop):
    laptop.install()
    os.chmod(laptop.settings, 0o644)
    assert row(info(), "Gemini settings permissions")["status"] == "WARN"


def test_another_file_at_the_launcher_path_is_not_ours_and_never_run(info, laptop, tmp_path):
    marker = tmp_path / "ran"
    write_script(laptop.launcher, "#!/bin/sh\ntouch %s\n" % marker)
    result = info(run_launcher=True, find_gemini=False)
    assert row(result, "Gemini launcher")["value"].endswith("is not the launcher of this collection")
    assert result["launcher_run"] == {"ran": False} and not marker.exists()


def test_find_gemini_false_skips_the_version(info, laptop):
    laptop.install()
    result = info(find_gemini=False)
    assert result["gemini"]["found"] is False and row(result, "Gemini CLI")["status"] == "SKIP"


def test_without_a_launcher_the_prefix_gemini_is_checked_first(info, laptop, tmp_path):
    in_prefix = write_script(tmp_path / "prefix" / "bin" / "gemini", "#!/bin/sh\necho 0.60.1\n")
    result = info(prefix=str(tmp_path / "prefix"))
    assert result["gemini"]["path"] == in_prefix and result["gemini"]["version"] == "0.60.1"
    assert info(prefix=str(tmp_path / "empty"))["gemini"]["path"] == laptop.gemini


# ------------------------------------------------------------------------------------ managed settings

MANAGED_LABELS = ("Gemini managed settings", "Gemini overridden setting")
ENFORCED = {"security": {"auth": {"selectedType": "gemini-api-key", "enforcedType": "gemini-api-key"}}}


def managed_rows(result):
    return [item for item in result["checks"] if item["label"] in MANAGED_LABELS]


def rows_of(result, label):
    return [item for item in result["checks"] if item["label"] == label]


def write_system(laptop, data, mode=0o644):
    """The system settings under the scratch root, in 0755 folders."""
    write_json(laptop.system, data, mode)
    folder = laptop.system.parent
    while folder != laptop.root:
        folder.chmod(0o755)
        folder = folder.parent
    return str(laptop.system)


def test_without_system_settings_the_report_is_unchanged(info, laptop):
    laptop.install()
    result = info()
    assert managed_rows(result) == []
    assert result["managed"]["exists"] is False and result["managed"]["skipped"] is False
    assert "Managed settings" not in [entry["label"] for entry in result["summary"]]


def test_our_system_settings_pass_and_are_in_the_status(info, laptop):
    laptop.install()
    path = write_system(laptop, dict(ENFORCED, model={"name": MODEL}))

    result = info()

    managed = result["managed"]
    assert (managed["path"], managed["ours"], managed["skipped"], managed["insecure_folders"]) == (path, True, False, [])
    assert (managed["selected_type"], managed["enforced_type"], managed["model_name"]) == (
        "gemini-api-key", "gemini-api-key", MODEL)
    assert managed["values"] == {"security.auth.selectedType": "gemini-api-key",
                                 "security.auth.enforcedType": "gemini-api-key", "model.name": MODEL}
    assert row(result, "Gemini managed settings") == {
        "category": "Configuration", "status": "PASS", "label": "Gemini managed settings", "fix": "",
        "value": "%s pins security.auth.enforcedType = gemini-api-key and model.name = %s, over the user's settings"
                 % (path, MODEL)}
    assert row(result, "Gemini system settings")["status"] == "PASS"
    assert {"label": "Managed settings", "value": path} in result["summary"]


@pytest.mark.parametrize("where", ["file", "folder"])
def test_system_settings_others_can_write_are_skipped_by_gemini(info, laptop, where):
    laptop.install()
    path = write_system(laptop, {"security": {"auth": {"selectedType": "oauth-personal", "enforcedType": "oauth-personal"}}})
    writable = path if where == "file" else os.path.dirname(path)
    os.chmod(writable, 0o666 if where == "file" else 0o777)

    result = info()

    check = row(result, "Gemini managed settings")
    assert check["status"] == "WARN"
    assert check["value"] == ("Gemini CLI skips %s: %s can be written by others than the owner, so nothing in it is "
                              "enforced" % (path, writable))
    assert check["fix"] == "sudo chmod go-w %s" % writable
    # Skipped, its auth type overrides nothing.
    assert row(result, "Gemini system settings")["status"] == "SKIP"
    assert result["managed"]["skipped"] is True and result["managed"]["overridden"] == []


def test_a_given_system_settings_path_is_judged_up_to_the_top(info, laptop, tmp_path):
    laptop.install()
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    write_json(shared / "settings.json", ENFORCED, 0o644)
    check = row(info(system_settings_path=str(shared / "settings.json")), "Gemini managed settings")
    assert check["status"] == "WARN" and str(shared) in check["value"].split(": ", 1)[1]


def test_each_user_key_the_system_settings_set_otherwise_is_a_warning(info, laptop):
    laptop.install()
    write_json(laptop.settings, {"security": {"auth": {"selectedType": "gemini-api-key"}},
                                 "model": {"name": "databricks-gemini-2-5-flash"}})
    path = write_system(laptop, dict(ENFORCED, model={"name": MODEL}))

    result = info()

    assert [(item["status"], item["value"], item["fix"]) for item in rows_of(result, "Gemini overridden setting")] == [(
        "WARN", 'model.name in %s is ignored: managed settings (%s) set it to "%s"' % (laptop.settings, path, MODEL),
        "Remove it from %s, or ask whoever manages %s" % (laptop.settings, path))]
    assert result["managed"]["overridden"] == [dict(key="model.name", user_value="databricks-gemini-2-5-flash",
                                                    managed_value=MODEL, file=path)]


def test_an_auth_type_the_system_settings_replace_is_a_warning_and_a_failure(info, laptop):
    laptop.install()
    path = write_system(laptop, {"security": {"auth": {"selectedType": "oauth-personal"}}})

    result = info()

    assert row(result, "Gemini system settings")["status"] == "FAIL"
    overridden = row(result, "Gemini overridden setting")
    assert overridden["value"] == ('security.auth.selectedType in %s is ignored: managed settings (%s) set it to '
                                   '"oauth-personal"' % (laptop.settings, path))
    assert result["managed"]["ours"] is False
    assert [item["label"] for item in managed_rows(result)] == ["Gemini overridden setting"]


def test_keys_the_user_does_not_set_are_no_warning(info, laptop):
    laptop.install()
    write_system(laptop, dict(ENFORCED, model={"name": MODEL}, ui={"theme": "Default"}))
    assert [item["status"] for item in managed_rows(info())] == ["PASS"]
