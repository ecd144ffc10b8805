# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the claude_code_info module: the module run in-process on a home directory in a temp directory.

The token helper it runs is the real one (rendered by _token_helper), against a scripted stand-in for the
Databricks CLI; Claude Code is a small script that answers ``--version``.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed, _token_helper
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import render_helper_metadata
from ansible_collections.fmapi.coding_agents.plugins.modules import claude_code_info, claude_settings
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import (
    run_main,
    scripted_databricks_cli,
    search_only_path,
)

HOST = "https://example.cloud.databricks.com"
PROFILE = "fmapi-claudecode-profile"
BASE_URL = HOST + "/serving-endpoints/anthropic"
LEGACY_TOKEN = "dapi0123456789abcdef-legacy-token"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.helper-printed-this-token"
SETUP = "ansible-playbook fmapi.coding_agents.setup"
SETUP_WITH_HOST = SETUP + " -e host=https://<your-workspace>"
MARKETPLACE_DIR = (".claude", "fmapi-coding-agents", "marketplace")
PLUGIN_ID = "fmapi-coding-agents@fmapi-coding-agents"
FMAPI_BLOCK = (b"\n# >>> fmapi-claude wrapper >>>\nfmapi-claude() {\n  command claude \"$@\"\n}\n"
               b"# <<< fmapi-claude wrapper <<<\n")


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(name="settings_path")
def settings_path_fixture(home):
    return home / ".claude" / "settings.json"


@pytest.fixture(name="helper")
def helper_fixture(home):
    """A token helper's header, as the token_helper module writes it (its code does not matter here)."""
    path = home / ".local" / "share" / "fmapi-coding-agents" / "fmapi-token-helper"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + render_helper_metadata(
        databricks_cli="/usr/local/bin/databricks", host=HOST, interpreter=sys.executable, login_timeout=120,
        profile=PROFILE, ttl_minutes=30,
    ) + "\nexit 1\n")
    os.chmod(path, 0o700)
    return path


@pytest.fixture(name="managed_root")
def managed_root_fixture(tmp_path):
    """The folder that stands for / when the module looks for managed settings (empty: none)."""
    root = tmp_path / "managed-root"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    return root


@pytest.fixture(name="info")
def info_fixture(capsys, settings_path, managed_root):
    """Run the module on the user settings (without looking for Claude Code, unless asked)."""
    def info(check=False, **args):
        module_args = dict({"path": str(settings_path), "find_claude": False, "managed_root": str(managed_root)}, **args)
        result = run_main(claude_code_info.main, capsys, module_args, check)
        assert result["changed"] is False
        return result
    return info


@pytest.fixture(name="install")
def install_fixture(capsys, settings_path, helper):
    """Write settings with the claude_settings module, as the setup does."""
    def install(path=settings_path, **args):
        defaults = {"path": str(path), "host": HOST, "api_key_helper": _token_helper.helper_command(str(helper))}
        return run_main(claude_settings.main, capsys, dict(defaults, **args))
    return install


@pytest.fixture(name="fake_cli")
def fake_cli_fixture(tmp_path, monkeypatch):
    """The Databricks CLI with an active session."""
    return scripted_databricks_cli(tmp_path / "cli", monkeypatch, TOKEN)


@pytest.fixture(name="real_helper")
def real_helper_fixture(home, fake_cli):
    """The real token helper at the default place, run against the fake CLI."""
    path = home / ".local" / "share" / "fmapi-coding-agents" / "fmapi-token-helper"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_token_helper.render_helper(sys.executable, fake_cli.path, PROFILE, HOST, 30))
    os.chmod(path, 0o700)
    return path


def rows(result, label):
    found = [row for row in result["checks"] if row["label"] == label]
    return found


def row(result, label):
    found = rows(result, label)
    assert len(found) == 1, result["checks"]
    return found[0]


def status_of(result, label):
    return row(result, label)["status"]


# ------------------------------------------------------------------------------- reading (as before)

def test_nothing_installed(info, settings_path):
    result = info()
    assert result["installed"] is False
    assert result["settings_path"] == str(settings_path)
    assert result["settings_exists"] is False and result["settings_valid"] is True
    for key in ("host", "gateway", "profile", "model", "opus", "sonnet", "haiku", "ttl_minutes", "helper_path",
                "api_key_helper", "settings_error", "databricks_cli", "settings_mode"):
        assert result[key] is None, key
    assert result["legacy"] == [] and result["helper_metadata"] == {} and result["helper_is_ours"] is False
    assert result["helper_run"] == {"ran": False}
    assert result["onboarding_complete"] is False
    assert result["_warnings"] == []


def test_reads_back_what_claude_settings_wrote(info, install, helper, settings_path):
    install(model="databricks-claude-sonnet-4-6", opus="o-1", sonnet="s-1", haiku="h-1", ttl_minutes=45,
            gateway="ai-gateway")
    result = info()
    assert result["installed"] is True
    assert result["settings_exists"] is True and result["settings_valid"] is True
    assert result["settings_mode"] == "0600"
    assert result["host"] == HOST
    assert result["gateway"] == "ai-gateway"
    assert result["base_url"] == HOST + "/ai-gateway/anthropic"
    assert (result["model"], result["opus"], result["sonnet"], result["haiku"]) == (
        "databricks-claude-sonnet-4-6", "o-1", "s-1", "h-1")
    assert result["ttl_minutes"] == 45
    assert result["deny_web_search"] is True
    assert result["api_key_helper"] == str(helper)
    assert result["helper_path"] == str(helper) and result["helper_exists"] is True
    assert result["helper_is_ours"] is True
    assert result["profile"] == PROFILE
    assert result["databricks_cli"] == "/usr/local/bin/databricks"
    assert result["helper_metadata"]["host"] == HOST
    assert result["helper_metadata"]["interpreter"] == sys.executable
    assert result["legacy"] == [] and result["_warnings"] == []


def test_check_mode_reads_too(info, install):
    install()
    result = info(check=True)
    assert result["installed"] is True and result["host"] == HOST


def test_helper_given_to_a_shell_and_metadata_host_fallback(info, settings_path, helper):
    settings_path.write_text(json.dumps({"apiKeyHelper": "sh %s" % helper}))
    result = info()
    assert result["helper_path"] == str(helper)
    assert result["host"] == HOST and result["gateway"] is None
    assert result["installed"] is True
    # Not run as the helper writes itself into apiKeyHelper, so not one this module may run.
    assert result["helper_is_ours"] is False


def test_helper_path_option_overrides_the_command(info, settings_path, helper, tmp_path):
    other = tmp_path / "other-helper.sh"
    other.write_text(render_helper_metadata(profile="other-profile") + "\n")
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper)}))
    result = info(helper_path=str(other))
    assert result["helper_path"] == str(other) and result["profile"] == "other-profile"
    assert result["helper_is_ours"] is False


def test_missing_helper_is_a_warning(info, settings_path, home):
    missing = home / ".claude" / "gone.sh"
    settings_path.write_text(json.dumps({"apiKeyHelper": str(missing), "env": {"ANTHROPIC_BASE_URL": BASE_URL}}))
    result = info()
    assert result["helper_path"] == str(missing) and result["helper_exists"] is False
    assert result["profile"] is None
    assert result["installed"] is True
    assert any("does not exist" in warning for warning in result["_warnings"])


def test_helper_without_metadata(info, settings_path, home):
    plain = home / "plain.sh"
    plain.write_text("#!/bin/sh\necho token\n")
    settings_path.write_text(json.dumps({"apiKeyHelper": str(plain)}))
    result = info()
    assert result["helper_exists"] is True and result["helper_metadata"] == {} and result["profile"] is None
    assert result["installed"] is False and result["helper_is_ours"] is False


def test_helper_host_disagreeing_with_settings_is_reported(info, settings_path, helper):
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper), "env": {
        "ANTHROPIC_BASE_URL": "https://other.cloud.databricks.com/serving-endpoints/anthropic"}}))
    result = info()
    assert result["host"] == "https://other.cloud.databricks.com"
    assert any("the settings file wins" in warning for warning in result["_warnings"])


def test_metadata_keys_that_look_like_credentials_are_dropped(info, settings_path, home):
    helper = home / "helper.sh"
    helper.write_text(render_helper_metadata(profile="p", access_token="eyJsecret", client_secret="s3cr3t") + "\n")
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper)}))
    result = info()
    assert result["helper_metadata"] == {"version": 1, "profile": "p"}
    assert "eyJsecret" not in result["_stdout"] and "s3cr3t" not in result["_stdout"]


TRAILING_COMMA = '{\n  "env": {\n    "ANTHROPIC_MODEL": "x",\n  }\n}\n'


def json_position(text):
    """Where this Python's json parser places the error (3.13 moved it to the trailing comma)."""
    try:
        json.loads(text)
    except ValueError as exc:
        return "line %d, column %d" % (exc.lineno, exc.colno)
    raise AssertionError("%r parses" % text)


@pytest.mark.parametrize("content, expected", [
    (TRAILING_COMMA.encode(), json_position(TRAILING_COMMA)),
    (b"[1, 2]", "holds a JSON array at the top level"),
    (b"\xff\xfe", "not valid UTF-8"),
])
def test_broken_settings_never_fail(info, settings_path, content, expected):
    settings_path.write_bytes(content)
    result = info()
    assert result["settings_exists"] is True and result["settings_valid"] is False
    assert expected in result["settings_error"] and str(settings_path) in result["settings_error"]
    assert any(expected in warning for warning in result["_warnings"])
    assert result["installed"] is False and result["host"] is None
    assert settings_path.read_bytes() == content


def test_corrupt_file_with_a_token_never_shows_it(info, settings_path):
    settings_path.write_text('{"env": {"ANTHROPIC_AUTH_TOKEN": "%s",}' % LEGACY_TOKEN)
    result = info()
    assert result["settings_valid"] is False
    assert LEGACY_TOKEN not in result["_stdout"]


def test_token_inlined_in_a_hand_made_helper_command_is_masked(info, settings_path):
    pat = "dapi" + "0123456789abcdef" * 2
    settings_path.write_text(json.dumps({"apiKeyHelper": "echo " + pat}))
    result = info()
    assert result["api_key_helper"] is not None
    assert pat not in result["_stdout"]


def test_settings_path_that_is_a_directory(info, settings_path):
    settings_path.mkdir()
    result = info()
    assert result["settings_valid"] is False and "is a directory" in result["settings_error"]
    assert status_of(result, "Settings file") == "FAIL"


def test_legacy_leftovers_are_reported_without_the_token(info, settings_path, helper):
    settings_path.write_text(json.dumps({
        "_fmapi_meta": {"version": "0.9"},
        "apiKeyHelper": str(helper),
        "env": {"ANTHROPIC_AUTH_TOKEN": LEGACY_TOKEN, "ANTHROPIC_BASE_URL": BASE_URL},
    }))
    (helper.parent / ".fmapi-pat-cache").write_text(LEGACY_TOKEN + "\n")
    result = info()
    assert [item["name"] for item in result["legacy"]] == ["anthropic_auth_token", "fmapi_meta", "pat_cache"]
    assert result["legacy"][0]["path"] == str(settings_path)
    assert "value not shown" in result["legacy"][0]["description"]
    assert result["legacy"][2]["path"] == str(helper.parent / ".fmapi-pat-cache")
    assert LEGACY_TOKEN not in result["_stdout"]


def test_pat_cache_beside_a_helper_elsewhere(info, settings_path, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "helper.sh"
    helper.write_text("#!/bin/sh\n")
    (bin_dir / ".fmapi-pat-cache").write_text("x")
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper)}))
    result = info()
    assert [item["path"] for item in result["legacy"]] == [str(bin_dir / ".fmapi-pat-cache")]


@pytest.mark.parametrize("value, minutes", [("1800000", 30), ("60000", 1), (300000, 5), ("90000", None),
                                            ("0", None), ("abc", None), ("7200000", None)])
def test_ttl_minutes(info, settings_path, value, minutes):
    settings_path.write_text(json.dumps({"env": {"CLAUDE_CODE_API_KEY_HELPER_TTL_MS": value}}))
    result = info()
    assert result["ttl_minutes"] == minutes
    assert bool(result["_warnings"]) is (minutes is None)


def test_ttl_from_the_helper_metadata_when_the_settings_have_none(info, settings_path, home):
    helper = home / "helper.sh"
    helper.write_text("#!/bin/sh\n" + render_helper_metadata(profile="p", ttl_minutes=25) + "\n")
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper)}))
    assert info()["ttl_minutes"] == 25
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper),
                                         "env": {"CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "600000"}}))
    assert info()["ttl_minutes"] == 10
    helper.write_text("#!/bin/sh\n" + render_helper_metadata(profile="p", ttl_minutes=600) + "\n")
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper)}))
    assert info()["ttl_minutes"] is None


def test_base_url_that_is_not_databricks(info, settings_path):
    settings_path.write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": "https://api.anthropic.com"}}))
    result = info()
    assert result["base_url"] == "https://api.anthropic.com"
    assert result["host"] is None and result["gateway"] is None and result["installed"] is False


def test_serving_endpoints_gateway_and_bom(info, settings_path):
    settings_path.write_bytes(b"\xef\xbb\xbf" + json.dumps({
        "env": {"ANTHROPIC_BASE_URL": HOST + "/serving-endpoints/anthropic/"},
        "permissions": {"deny": ["Read"]},
    }).encode())
    result = info()
    assert (result["host"], result["gateway"], result["installed"]) == (HOST, "serving-endpoints", True)
    assert result["deny_web_search"] is False


def test_env_that_is_not_an_object(info, settings_path):
    settings_path.write_text('{"env": ["x"]}')
    result = info()
    assert result["settings_valid"] is True and result["model"] is None
    assert any("'env' is a JSON array" in warning for warning in result["_warnings"])


def test_symlinked_settings_are_read_through(info, settings_path, tmp_path, install):
    install()
    target = tmp_path / "dotfiles.json"
    os.replace(settings_path, target)
    settings_path.symlink_to(target)
    result = info()
    assert result["installed"] is True and result["host"] == HOST


@pytest.mark.parametrize("content, complete", [({"hasCompletedOnboarding": True}, True),
                                               ({"hasCompletedOnboarding": "yes"}, False), ({}, False)])
def test_onboarding_flag_is_read(info, home, content, complete):
    (home / ".claude.json").write_text(json.dumps(content))
    assert info()["onboarding_complete"] is complete


# --------------------------------------------------------------------------------------- locations

@pytest.mark.parametrize("location", ["home", None])
def test_the_user_settings_by_default(info, home, location):
    assert info(path=None, location=location)["settings_path"] == str(home / ".claude" / "settings.json")


def test_a_project_directory_and_cwd(info, tmp_path):
    project = tmp_path / "project"
    expected = str(project / ".claude" / "settings.json")
    assert info(path=None, location=str(project))["settings_path"] == expected
    assert info(path=None, location=str(project / ".claude"))["settings_path"] == expected
    assert info(path=None, location="cwd", cwd=str(project))["settings_path"] == expected


# --------------------------------------------------------------------------------- checks: settings

def test_no_settings_file_fails_with_the_setup_command(info, settings_path):
    result = info()
    settings = row(result, "Settings file")
    assert (settings["category"], settings["status"]) == ("Configuration", "FAIL")
    assert settings["value"] == "No FMAPI configuration found: %s does not exist" % settings_path
    assert settings["fix"] == SETUP_WITH_HOST
    assert status_of(result, "Settings permissions") == "SKIP"
    assert status_of(result, "Older setups") == "PASS"
    assert status_of(result, "Helper's Python") == "SKIP"
    token_helper = row(result, "Token helper")
    assert (token_helper["category"], token_helper["status"]) == ("Auth", "SKIP")
    assert not rows(result, "FMAPI settings") and not rows(result, "apiKeyHelper")


def test_a_settings_file_without_fmapi_keys_fails_with_the_setup_command(info, settings_path):
    settings_path.write_text(json.dumps({"theme": "dark"}))
    settings = row(info(), "Settings file")
    assert settings["status"] == "FAIL" and settings["fix"] == SETUP_WITH_HOST
    assert settings["value"] == "No FMAPI configuration found in %s" % settings_path


def test_invalid_json_fails_naming_line_and_column(info, settings_path):
    settings_path.write_text(TRAILING_COMMA)
    settings = row(info(), "Settings file")
    assert settings["status"] == "FAIL"
    assert str(settings_path) in settings["value"] and json_position(TRAILING_COMMA) in settings["value"]
    assert settings["fix"].startswith("Fix the JSON at the line and column named")
    assert settings["fix"].endswith(SETUP)


def test_a_complete_install_passes_the_configuration_checks(info, install, settings_path, helper):
    install()
    result = info()
    assert row(result, "Settings file")["value"] == "%s (valid JSON)" % settings_path
    assert row(result, "FMAPI settings") == {
        "category": "Configuration", "status": "PASS", "label": "FMAPI settings", "fix": "",
        "value": "workspace %s via serving-endpoints, models and token refresh (30 min) set" % HOST}
    assert row(result, "apiKeyHelper")["value"] == "%s (executable)" % helper
    assert row(result, "Settings permissions")["value"] == "mode 0600"
    for label in ("Settings file", "FMAPI settings", "apiKeyHelper", "Settings permissions", "Older setups"):
        assert status_of(result, label) == "PASS", label
    assert status_of(result, "Helper's Python") == "PASS"


def test_missing_fmapi_keys_are_named(info, settings_path, helper):
    helper.write_text("#!/bin/sh\n" + render_helper_metadata(host=HOST, profile=PROFILE) + "\n")
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper), "env": {
        "ANTHROPIC_BASE_URL": BASE_URL, "ANTHROPIC_MODEL": "databricks-claude-opus-4-6"}}))
    keys = row(info(), "FMAPI settings")
    assert keys["status"] == "FAIL"
    assert keys["value"] == ("missing or invalid: env.ANTHROPIC_DEFAULT_OPUS_MODEL, env.ANTHROPIC_DEFAULT_SONNET_MODEL, "
                             "env.ANTHROPIC_DEFAULT_HAIKU_MODEL, env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS")
    assert keys["fix"] == SETUP + "  (writes them again; your other settings stay)"


def test_a_base_url_that_is_not_databricks_fails(info, settings_path, helper):
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper),
                                         "env": {"ANTHROPIC_BASE_URL": "https://api.anthropic.com"}}))
    keys = row(info(), "FMAPI settings")
    assert keys["status"] == "FAIL" and "https://api.anthropic.com, not a Databricks" in keys["value"]


def test_an_api_key_helper_that_is_not_ours_is_a_warning(info, install, settings_path, home):
    foreign = home / "bin" / "my-helper"
    foreign.parent.mkdir()
    foreign.write_text("#!/bin/sh\necho my-token\n")
    foreign.chmod(0o755)
    install(api_key_helper=str(foreign))

    result = info()

    helper_row = row(result, "apiKeyHelper")
    assert helper_row["status"] == "WARN"
    assert helper_row["value"] == ("%s is not the token helper of this collection (an older setup script's, or your "
                                   "own)" % foreign)
    assert helper_row["fix"] == SETUP + "  (replaces it with the current token helper)"
    assert result["helper_is_ours"] is False


@pytest.mark.parametrize("situation, status, words", [
    ("unset", "SKIP", "apiKeyHelper is not set"),
    ("unknown", "WARN", "cannot tell which script apiKeyHelper runs"),
    ("missing", "FAIL", "which does not exist"),
    ("not executable", "FAIL", "is not executable"),
])
def test_api_key_helper_situations(info, settings_path, helper, situation, status, words):
    env = {"ANTHROPIC_BASE_URL": BASE_URL}
    data = {"env": env, "apiKeyHelper": str(helper)}
    if situation == "unset":
        del data["apiKeyHelper"]
    elif situation == "unknown":
        data["apiKeyHelper"] = "get-my-token --quiet"
    elif situation == "missing":
        helper.unlink()
    else:
        helper.chmod(0o600)
    settings_path.write_text(json.dumps(data))
    helper_row = row(info(), "apiKeyHelper")
    assert helper_row["status"] == status and words in helper_row["value"]
    if situation == "not executable":
        assert helper_row["fix"] == "chmod 700 %s   or: %s" % (helper, SETUP)


def test_settings_others_can_read_are_a_warning_with_chmod_600(info, install, settings_path):
    install()
    settings_path.chmod(0o644)
    mode = row(info(), "Settings permissions")
    assert mode["status"] == "WARN"
    assert mode["value"] == "%s has mode 0644; others can read it" % settings_path
    assert mode["fix"] == "chmod 600 %s" % settings_path


def test_legacy_leftovers_are_warnings_with_fixes(info, install, settings_path, home, helper):
    install()
    data = json.loads(settings_path.read_text())
    data["env"]["ANTHROPIC_AUTH_TOKEN"] = LEGACY_TOKEN
    data["_fmapi_meta"] = {"version": "0.9"}
    settings_path.write_text(json.dumps(data))
    (home / ".claude" / ".fmapi-pat-cache").write_text(LEGACY_TOKEN + "\n")
    (home / ".zshrc").write_bytes(b"export PATH=$HOME/bin:$PATH\n" + FMAPI_BLOCK)
    registry = home / ".claude" / "plugins" / "installed_plugins.json"
    registry.parent.mkdir()
    registry.write_text(json.dumps({"fmapi-codingagent": {"scope": "user", "installPath": "/x"}}))

    result = info()

    assert [item["name"] for item in result["legacy"]] == [
        "anthropic_auth_token", "fmapi_meta", "pat_cache", "shell_wrapper", "plugin_registry_entry"]
    older = rows(result, "Older setups")
    assert [check["status"] for check in older] == ["WARN"] * 5
    assert all(check["category"] == "Configuration" and check["fix"].startswith(SETUP + "  (removes it)")
               for check in older)
    by_path = {check["value"].split(": ", 1)[0]: check for check in older}
    wrapper = by_path[str(home / ".zshrc")]
    assert "the fmapi-claude wrapper (lines 3-7) of an older setup script" in wrapper["value"]
    pat_cache = by_path[str(home / ".claude" / ".fmapi-pat-cache")]
    assert "revoke the token under Settings > Developer > Access tokens" in pat_cache["fix"]
    assert str(registry) in by_path
    assert LEGACY_TOKEN not in result["_stdout"]


def test_the_helper_of_the_original_setup_script_is_a_leftover(info, settings_path, home):
    legacy = home / ".claude" / "fmapi-key-helper.sh"
    legacy.write_text('#!/bin/sh\nFMAPI_PROFILE="old-profile"\nFMAPI_HOST="%s"\n' % HOST)
    legacy.chmod(0o700)
    settings_path.write_text(json.dumps({"apiKeyHelper": str(legacy), "env": {"ANTHROPIC_BASE_URL": BASE_URL}}))

    result = info()

    assert (result["profile"], result["host"]) == ("old-profile", HOST)
    assert [item["name"] for item in result["legacy"]] == ["legacy_helper"]
    assert status_of(result, "apiKeyHelper") == "WARN"
    assert rows(result, "Older setups")[0]["status"] == "WARN"


def test_an_unterminated_or_foreign_rc_block_is_no_leftover(info, home):
    (home / ".bashrc").write_bytes(b"# >>> conda initialize >>>\nconda\n# <<< conda initialize <<<\n")
    assert info()["legacy"] == []


# ------------------------------------------------------------------------------------ checks: plugin

def install_plugin_files(home):
    source = home.joinpath(*MARKETPLACE_DIR)
    (source / ".claude-plugin").mkdir(parents=True)
    (source / ".claude-plugin" / "marketplace.json").write_text('{"name": "fmapi-coding-agents", "plugins": []}')
    return source


def declare_plugin(settings_path, source, enabled=True):
    data = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    data["extraKnownMarketplaces"] = {"fmapi-coding-agents": {"source": {"source": "directory", "path": str(source)}}}
    data["enabledPlugins"] = {PLUGIN_ID: enabled}
    settings_path.write_text(json.dumps(data))


def test_plugin_files_and_registration_pass(info, install, settings_path, home):
    install()
    source = install_plugin_files(home)
    declare_plugin(settings_path, source)

    result = info()

    assert result["plugin"] == {"source": str(source), "files_present": True, "registered": True}
    assert row(result, "Plugin")["status"] == "PASS"
    assert {"label": "Plugin files", "value": str(source)} in result["removable"]
    assert {"label": "Plugin registration", "value": "fmapi-coding-agents in the user settings"} in result["removable"]


def test_plugin_files_without_registration_are_a_warning(info, home):
    install_plugin_files(home)
    plugin = row(info(), "Plugin")
    assert plugin["status"] == "WARN" and plugin["value"] == "the plugin is not enabled in the user settings"
    assert plugin["fix"] == SETUP + "  (installs and registers it again)"


@pytest.mark.parametrize("enabled", [True, False])
def test_plugin_registration_without_files(info, settings_path, home, enabled):
    source = home.joinpath(*MARKETPLACE_DIR)
    declare_plugin(settings_path, source, enabled=enabled)
    result = info()
    assert result["plugin"]["registered"] is enabled and result["plugin"]["files_present"] is False
    if enabled:
        assert row(result, "Plugin")["value"] == "the plugin files are missing from %s" % source
        assert status_of(result, "Plugin") == "WARN"
    else:
        assert status_of(result, "Plugin") == "INFO"


def test_no_plugin_is_information(info):
    result = info()
    assert row(result, "Plugin")["status"] == "INFO"
    assert result["plugin"]["files_present"] is False and result["plugin"]["registered"] is False


def test_the_plugin_is_registered_in_the_user_settings_even_for_a_project(info, install, settings_path, home, tmp_path):
    source = install_plugin_files(home)
    declare_plugin(settings_path, source)
    project_settings = tmp_path / "project" / ".claude" / "settings.json"
    install(path=project_settings)

    result = info(path=None, location=str(tmp_path / "project"))

    assert result["settings_path"] == str(project_settings)
    assert result["plugin"]["registered"] is True and status_of(result, "Plugin") == "PASS"


# ------------------------------------------------------------------------------- running the helper

def test_run_helper_runs_our_helper_and_never_shows_its_token(info, install, real_helper, fake_cli):
    install()

    result = info(run_helper=True)

    assert result["helper_is_ours"] is True
    run = result["helper_run"]
    assert run == {"ran": True, "timed_out": False, "rc": 0, "token_chars": len(TOKEN), "lines": 1,
                   "has_spaces": False, "error": ""}
    token_helper = row(result, "Token helper")
    assert (token_helper["category"], token_helper["status"]) == ("Auth", "PASS")
    assert token_helper["value"] == "prints a token (%d characters, not shown)" % len(TOKEN)
    assert TOKEN not in result["_stdout"]
    assert len(fake_cli.calls("token")) == 1


def test_without_run_helper_the_helper_is_not_run(info, install, real_helper, fake_cli):
    install()
    result = info()
    assert result["helper_run"] == {"ran": False}
    assert status_of(result, "Token helper") == "SKIP"
    assert fake_cli.calls() == []


def test_a_failing_helper_is_a_failed_check_with_its_message_masked(info, install, real_helper, fake_cli):
    install()
    fake_cli.script(token=[{"rc": 1, "stderr": "Error: unexpected answer %s\n" % TOKEN}])

    result = info(run_helper=True)

    run = result["helper_run"]
    assert run["ran"] is True and run["rc"] == 1 and run["token_chars"] == 0
    assert "unexpected answer ********" in run["error"]
    token_helper = row(result, "Token helper")
    assert token_helper["status"] == "FAIL" and "failed (exit status 1)" in token_helper["value"]
    assert "ansible-playbook fmapi.coding_agents.reauth" in token_helper["fix"]
    assert TOKEN not in result["_stdout"]


def foreign_helper(directory, marker, metadata=False):
    """A script that would create ``marker`` when run; with ``metadata``, it carries this collection's line."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "key-helper.sh"
    header = render_helper_metadata(profile=PROFILE, host=HOST) + "\n" if metadata else ""
    script.write_text("#!/bin/sh\n%stouch %s\necho %s\n" % (header, marker, TOKEN))
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("variant", ["plain script", "with our metadata, run through sh",
                                     "with our metadata, with an argument"])
def test_a_project_helper_is_never_run(info, tmp_path, variant):
    project = tmp_path / "project"
    marker = tmp_path / "helper-ran"
    script = foreign_helper(project / "tools", marker, metadata=variant != "plain script")
    command = {"plain script": str(script), "with our metadata, run through sh": "sh %s" % script,
               "with our metadata, with an argument": "%s --verbose" % script}[variant]
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(json.dumps({
        "apiKeyHelper": command, "env": {"ANTHROPIC_BASE_URL": BASE_URL}}))

    result = info(path=None, location=str(project), run_helper=True)

    assert result["settings_path"] == str(project / ".claude" / "settings.json")
    assert result["helper_path"] == str(script) and result["helper_is_ours"] is False
    assert not marker.exists()
    assert result["helper_run"] == {"ran": False}
    token_helper = row(result, "Token helper")
    assert token_helper["status"] == "SKIP" and "is not this collection's token helper" in token_helper["value"]
    assert TOKEN not in result["_stdout"]


# ----------------------------------------------------------------------------------- Helper's Python

def test_the_recorded_python_is_used(info, install, helper):
    install()
    python = row(info(), "Helper's Python")
    assert python["status"] == "PASS" and python["value"].endswith("(%s)" % sys.executable)


def test_a_gone_recorded_python_is_a_warning_and_the_helper_falls_back(info, install, helper, tmp_path, monkeypatch):
    gone = str(tmp_path / "deleted-venv" / "bin" / "python")
    helper.write_text("#!/bin/sh\n" + render_helper_metadata(host=HOST, interpreter=gone, profile=PROFILE) + "\n")
    fallback = tmp_path / "bin"
    fallback.mkdir()
    (fallback / "python3").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(fallback))
    install()

    python = row(info(), "Helper's Python")

    assert python["status"] == "WARN"
    assert python["value"].startswith("%s is gone; the helper runs with Python 3." % gone)
    assert python["value"].endswith("(%s) instead" % (fallback / "python3"))
    assert python["fix"] == SETUP + "  (writes the helper for this machine's Python)"


def test_no_python_at_all_fails(info, install, helper, tmp_path, monkeypatch):
    gone = str(tmp_path / "deleted-venv" / "bin" / "python")
    helper.write_text("#!/bin/sh\n" + render_helper_metadata(host=HOST, interpreter=gone, profile=PROFILE) + "\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(_token_helper, "FALLBACK_INTERPRETERS", ("python3", str(tmp_path / "nowhere" / "python3")))
    install()

    python = row(info(), "Helper's Python")

    assert python["status"] == "FAIL"
    assert python["value"] == "no Python 3.8 or newer: %s and python3 are gone" % gone
    assert python["fix"] == "Install Python 3, then: " + SETUP


# --------------------------------------------------------------------------------------- Claude Code

def fake_claude(directory, output="2.1.329 (Claude Code)", status=0):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "claude"
    path.write_text("#!/bin/sh\necho '%s'\nexit %d\n" % (output, status))
    path.chmod(0o755)
    return str(path)


def test_find_claude_false_neither_looks_nor_checks(info, tmp_path, monkeypatch):
    fake_claude(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    result = info(find_claude=False)
    assert result["claude"] == {"found": False, "path": None, "version": None, "on_path": False, "version_output": ""}
    assert not rows(result, "Claude Code")


def test_claude_on_path_passes(info, tmp_path, monkeypatch):
    claude = fake_claude(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))

    result = info(find_claude=True)

    assert result["claude"] == {"found": True, "path": claude, "version": "2.1.329", "on_path": True,
                                "version_output": "2.1.329 (Claude Code)"}
    check = row(result, "Claude Code")
    assert (check["category"], check["status"], check["value"]) == ("Dependencies", "PASS",
                                                                    "2.1.329 (%s)" % claude)
    assert result["checks"][0] == check


def test_claude_only_in_the_installers_directory_is_a_path_warning(info, home, tmp_path, monkeypatch):
    claude = fake_claude(home / ".local" / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    check = row(info(find_claude=True), "Claude Code")
    assert check["status"] == "WARN" and check["value"] == "2.1.329 (%s), not on PATH" % claude
    assert check["fix"] == ("Add %s to PATH in your shell's startup file (export PATH=\"%s:$PATH\")"
                            % (home / ".local" / "bin", home / ".local" / "bin"))


def test_no_claude_fails_with_the_setup_command(info, tmp_path, monkeypatch):
    search_only_path(monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = info(find_claude=True)
    assert result["claude"]["found"] is False
    check = row(result, "Claude Code")
    assert check["status"] == "FAIL" and check["fix"] == SETUP + "  (installs Claude Code)"


def test_a_claude_that_does_not_run_fails(info, tmp_path, monkeypatch):
    claude = fake_claude(tmp_path / "bin", output="error: cannot find module", status=1)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    result = info(find_claude=True)
    assert result["claude"]["found"] is True and result["claude"]["version"] is None
    check = row(result, "Claude Code")
    assert check["status"] == "FAIL" and check["value"] == "%s does not run: error: cannot find module" % claude


def test_a_given_claude_command(info, tmp_path):
    claude = fake_claude(tmp_path / "elsewhere")
    result = info(find_claude=True, claude_command=claude)
    assert result["claude"]["path"] == claude and result["claude"]["version"] == "2.1.329"


# ---------------------------------------------------------------------------- models, summary, removable

def test_models_summary_and_removable_of_an_install(info, install, settings_path, helper, home):
    install(model="m-default", opus="m-opus", sonnet="m-sonnet", haiku="m-haiku", ttl_minutes=15)
    (home / ".claude" / ".fmapi-pat-cache").write_text("x")

    result = info()

    assert result["models"] == {"model": "m-default", "opus": "m-opus", "sonnet": "m-sonnet", "haiku": "m-haiku"}
    assert result["summary"] == [
        {"label": "Workspace", "value": HOST},
        {"label": "Profile", "value": PROFILE},
        {"label": "Model", "value": "m-default"},
        {"label": "Opus", "value": "m-opus"},
        {"label": "Sonnet", "value": "m-sonnet"},
        {"label": "Haiku", "value": "m-haiku"},
        {"label": "Token refresh", "value": "every 15 min"},
        {"label": "Settings", "value": str(settings_path)},
        {"label": "Token helper", "value": str(helper)},
    ]
    assert result["removable"] == [
        {"label": "Settings", "value": "FMAPI keys in %s" % settings_path},
        {"label": "Token helper", "value": str(helper)},
        {"label": "PAT cache", "value": str(home / ".claude" / ".fmapi-pat-cache")},
    ]


def test_models_summary_and_removable_of_nothing(info):
    result = info()
    assert result["models"] == {"model": "", "opus": "", "sonnet": "", "haiku": ""}
    assert result["summary"] == [] and result["removable"] == []


def test_a_partial_install_says_not_set(info, settings_path):
    settings_path.write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": BASE_URL}}))
    result = info()
    summary = {entry["label"]: entry["value"] for entry in result["summary"]}
    assert summary["Model"] == "not set" and summary["Token refresh"] == "not set"
    assert summary["Profile"] == PROFILE and summary["Token helper"] == "apiKeyHelper is not set"
    assert result["models"]["model"] == ""
    assert result["removable"] == [{"label": "Settings", "value": "FMAPI keys in %s" % settings_path}]


def test_a_foreign_helper_is_not_removable(info, install, home):
    foreign = home / "bin" / "my-helper"
    foreign.parent.mkdir()
    foreign.write_text("#!/bin/sh\necho my-token\n")
    foreign.chmod(0o755)
    install(api_key_helper=str(foreign))
    labels = [entry["label"] for entry in info()["removable"]]
    assert labels == ["Settings"]
    assert foreign.exists()


# ------------------------------------------------------------------------------------ managed settings

def write_managed(root, data, name=None, mode=0o644):
    """A file of Claude Code's managed settings under ``root``: the base file, or the drop-in ``name``
    (root's 0755 folders, mode ``mode``)."""
    directory = _managed.claude_dir(None, str(root))
    path = os.path.join(directory, _managed.CLAUDE_DROP_IN_DIR, name) if name else \
        os.path.join(directory, _managed.CLAUDE_BASE_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    folder = os.path.dirname(path)
    while folder != str(root):
        os.chmod(folder, 0o755)
        folder = os.path.dirname(folder)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(data if isinstance(data, str) else json.dumps(data))
    os.chmod(path, mode)
    return path


def ours(root):
    """Our drop-in as a managed setup writes it."""
    return write_managed(root, {"apiKeyHelper": _managed.SYSTEM_TOKEN_HELPER, "env": {
        "ANTHROPIC_BASE_URL": BASE_URL, "ANTHROPIC_MODEL": "databricks-claude-sonnet-4-6"}}, _managed.CLAUDE_DROP_IN)


MANAGED_LABELS = ("Managed settings", "Overridden setting")


def test_without_managed_settings_the_report_is_unchanged(info, install):
    install()
    result = info()
    assert not [item for item in result["checks"] if item["label"] in MANAGED_LABELS], result["checks"]
    assert result["managed"]["files"] == [] and result["managed"]["drop_in_exists"] is False
    assert result["managed"]["values"] == {} and result["managed"]["overridden"] == []
    assert "Managed settings" not in [entry["label"] for entry in result["summary"]]


def test_our_drop_in_passes_and_names_the_other_managed_files(info, install, managed_root):
    install(model="databricks-claude-sonnet-4-6")
    base = write_managed(managed_root, {"permissions": {"deny": ["WebSearch"]}})
    drop_in = ours(managed_root)
    later = write_managed(managed_root, {"env": {"DISABLE_AUTOUPDATER": "1"}}, "90-site.json")

    result = info()

    assert result["managed"]["files"] == [base, drop_in, later]
    assert result["managed"]["drop_in"] == drop_in and result["managed"]["drop_in_exists"] is True
    assert result["managed"]["helper_is_ours"] is True and result["managed"]["configured"] is True
    assert result["managed"]["values"] == {"apiKeyHelper": _managed.SYSTEM_TOKEN_HELPER, "env.ANTHROPIC_BASE_URL": BASE_URL,
                                           "env.ANTHROPIC_MODEL": "databricks-claude-sonnet-4-6"}
    assert result["managed"]["origins"]["env.ANTHROPIC_BASE_URL"] == drop_in
    assert row(result, "Managed settings") == {
        "category": "Configuration", "status": "PASS", "label": "Managed settings", "fix": "",
        "value": "%s, over the user's settings; also %s, %s" % (drop_in, base, later)}
    assert {"label": "Managed settings", "value": drop_in} in result["summary"]


def test_managed_settings_of_someone_else_are_information(info, managed_root):
    base = write_managed(managed_root, {"permissions": {"deny": ["WebSearch"]}})
    check = row(info(), "Managed settings")
    assert check["status"] == "INFO" and check["value"] == "%s (not this collection's)" % base


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_drop_in_others_can_write_is_a_warning_with_the_chmod(info, managed_root, where):
    drop_in = ours(managed_root)
    writable = drop_in if where == "file" else os.path.dirname(drop_in)
    os.chmod(writable, 0o666 if where == "file" else 0o777)

    result = info()

    check = row(result, "Managed settings")
    assert check["status"] == "WARN" and writable in check["value"] and drop_in in check["value"]
    assert check["fix"] == "sudo chmod go-w %s" % writable
    assert result["managed"]["insecure_folders"] == [writable]


def test_each_user_key_the_managed_settings_set_otherwise_is_a_warning(info, install, settings_path, managed_root):
    install(model="user-model")
    base = write_managed(managed_root, {"env": {"ANTHROPIC_MODEL": "model-from-base",
                                                "ANTHROPIC_DEFAULT_OPUS_MODEL": "databricks-claude-opus-4-6"}})
    later = write_managed(managed_root, {"env": {"ANTHROPIC_MODEL": "model-from-20"}}, "20-models.json")

    result = info()

    overridden = rows(result, "Overridden setting")
    assert overridden == [{
        "category": "Configuration", "status": "WARN", "label": "Overridden setting",
        "value": 'env.ANTHROPIC_MODEL in %s is ignored: managed settings (%s) set it to "model-from-20"'
                 % (settings_path, later),
        "fix": "Remove it from %s, or ask whoever manages %s" % (settings_path, later)}], result["checks"]
    assert result["managed"]["overridden"] == [dict(key="env.ANTHROPIC_MODEL", user_value="user-model",
                                                    managed_value="model-from-20", file=later)]
    assert base in result["managed"]["files"]


def test_keys_the_user_does_not_set_or_sets_alike_are_no_warning(info, settings_path, helper, managed_root):
    settings_path.write_text(json.dumps({"apiKeyHelper": str(helper), "env": {
        "ANTHROPIC_BASE_URL": BASE_URL, "ANTHROPIC_MODEL": "databricks-claude-sonnet-4-6"}}))
    ours(managed_root)
    write_managed(managed_root, {"env": {"ANTHROPIC_DEFAULT_HAIKU_MODEL": "databricks-claude-haiku-4-5"}},
                  "60-models.json")

    result = info()

    assert [item["value"].split(" ")[0] for item in rows(result, "Overridden setting")] == ["apiKeyHelper"]
    assert row(result, "Managed settings")["status"] == "PASS"


def test_a_managed_helper_or_base_url_not_ours_silently_replaces_the_setup(info, install, settings_path, managed_root):
    install()
    base = write_managed(managed_root, {"apiKeyHelper": "/opt/corp/bin/get-token",
                                        "env": {"ANTHROPIC_BASE_URL": "https://llm-proxy.corp.example"}})

    result = info()

    replaced = [item for item in rows(result, "Managed settings") if item["status"] == "WARN"]
    assert [item["value"] for item in replaced] == [
        '%s sets apiKeyHelper to "/opt/corp/bin/get-token", not this collection\'s token helper: Claude Code takes '
        'its token from that command, not from the FMAPI setup in %s' % (base, settings_path),
        '%s sets env.ANTHROPIC_BASE_URL to "https://llm-proxy.corp.example", not a Databricks URL: Claude Code sends '
        'its requests there, not to the workspace of the FMAPI setup in %s' % (base, settings_path)]
    assert replaced[0]["fix"] == "Ask whoever manages %s to remove apiKeyHelper from it" % base
    assert len(rows(result, "Overridden setting")) == 2
    assert result["managed"]["configured"] is False and result["managed"]["helper_is_ours"] is False


def test_a_managed_helper_of_this_collection_replaces_nothing(info, install, helper, managed_root):
    install()
    write_managed(managed_root, {"apiKeyHelper": str(helper), "env": {"ANTHROPIC_BASE_URL": BASE_URL}})
    result = info()
    assert result["managed"]["helper_is_ours"] is True
    assert [item["status"] for item in rows(result, "Managed settings")] == ["INFO"]
    assert rows(result, "Overridden setting") == []


def test_without_an_fmapi_setup_of_the_user_nothing_is_replaced(info, settings_path, managed_root):
    settings_path.write_text(json.dumps({"env": {"FOO": "bar"}}))
    write_managed(managed_root, {"apiKeyHelper": "/opt/corp/bin/get-token"})
    assert [item["status"] for item in rows(info(), "Managed settings")] == ["INFO"]


def test_a_broken_managed_file_is_a_warning_and_left_out(info, install, managed_root):
    install()
    broken = write_managed(managed_root, '{"env": ', "30-broken.json")
    drop_in = ours(managed_root)

    result = info()

    statuses = [(item["status"], item["value"]) for item in rows(result, "Managed settings")]
    assert statuses[0][0] == "WARN" and statuses[0][1].startswith(broken + ": ")
    assert statuses[0][1].endswith("; Claude Code leaves that file out")
    assert statuses[1] == ("PASS", "%s, over the user's settings; also %s" % (drop_in, broken))


def test_tokens_in_managed_settings_never_reach_the_result(info, install, managed_root):
    install()
    write_managed(managed_root, {"apiKeyHelper": "echo %s" % LEGACY_TOKEN,
                                 "env": {"ANTHROPIC_CUSTOM_HEADERS": "Authorization: Bearer %s" % TOKEN,
                                         "MY_SERVICE_TOKEN": "managed-secret-value"}})
    result = info()
    assert LEGACY_TOKEN not in result["_stdout"] and TOKEN not in result["_stdout"]
    assert "managed-secret-value" not in result["_stdout"]
    assert len(rows(result, "Overridden setting")) == 2
