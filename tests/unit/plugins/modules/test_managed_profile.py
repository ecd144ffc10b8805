# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the managed_profile module: the module run in-process, its profiles read back with plistlib."""

from __future__ import annotations

import base64
import json
import os
import plistlib
import stat

import pytest

from ansible_collections.fmapi.coding_agents.plugins.modules import managed_profile
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main

CLAUDE = "com.anthropic.claudecode"
CODEX = "com.openai.codex"
DROP_IN = {
    "apiKeyHelper": "/usr/local/libexec/fmapi-coding-agents/fmapi-token-helper",
    "env": {"ANTHROPIC_BASE_URL": "https://example.cloud.databricks.com/serving-endpoints/anthropic",
            "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1800000"},
    "permissions": {"deny": ["WebSearch"]},
}
TOML = (b'model = "databricks-gpt-5-5"\nmodel_provider = "databricks"\n\n[model_providers.databricks]\n'
        b'name = "Databricks"\nbase_url = "https://example.cloud.databricks.com/serving-endpoints/codex/v1"\n')


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def payload(path, domain=CLAUDE):
    with open(path, "rb") as handle:
        profile = plistlib.load(handle)
    [content] = profile["PayloadContent"]
    assert content["PayloadType"] == domain
    return profile, {key: value for key, value in content.items() if not key.startswith("Payload")}


@pytest.fixture(name="drop_in")
def drop_in_fixture(tmp_path):
    path = tmp_path / "50-fmapi-coding-agents.json"
    path.write_text(json.dumps(DROP_IN, indent=2) + "\n")
    return str(path)


@pytest.fixture(name="toml_file")
def toml_file_fixture(tmp_path):
    path = tmp_path / "managed_config.toml"
    path.write_bytes(TOML)
    return str(path)


def test_a_profile_carries_the_json_file_keys(tmp_path, capsys, drop_in):
    path = str(tmp_path / "out" / "profiles" / "claude.mobileconfig")

    result = run_main(managed_profile.main, capsys, {"path": path, "domain": CLAUDE, "settings_file": drop_in})

    assert result["changed"] is True
    profile, keys = payload(path)
    assert keys == DROP_IN
    assert result["preference_keys"] == sorted(DROP_IN)
    assert result["uuid"] == profile["PayloadUUID"]
    assert result["identifier"] == profile["PayloadIdentifier"] == "com.databricks.fmapi-coding-agents." + CLAUDE
    assert mode(path) == 0o644
    assert mode(os.path.dirname(path)) == mode(os.path.dirname(os.path.dirname(path))) == 0o755


def test_a_profile_carries_the_toml_bytes(tmp_path, capsys, toml_file):
    path = str(tmp_path / "codex.mobileconfig")

    run_main(managed_profile.main, capsys, {"path": path, "domain": CODEX, "toml_file": toml_file})

    _profile, keys = payload(path, CODEX)
    assert list(keys) == ["config_toml_base64"]
    assert base64.b64decode(keys["config_toml_base64"], validate=True) == TOML


def test_a_second_run_changes_nothing(tmp_path, capsys, drop_in):
    path = str(tmp_path / "claude.mobileconfig")
    args = {"path": path, "domain": CLAUDE, "settings_file": drop_in, "organization": "Example Corp"}
    first = run_main(managed_profile.main, capsys, args)
    with open(path, "rb") as handle:
        written = handle.read()
    os.utime(path, (1, 1))

    again = run_main(managed_profile.main, capsys, args)

    assert again["changed"] is False
    assert again["uuid"] == first["uuid"] and again["payload_uuid"] == first["payload_uuid"]
    with open(path, "rb") as handle:
        assert handle.read() == written
    assert os.stat(path).st_mtime == 1


def test_a_changed_value_rewrites_the_profile_with_a_diff(tmp_path, capsys, drop_in):
    path = str(tmp_path / "claude.mobileconfig")
    first = run_main(managed_profile.main, capsys, {"path": path, "domain": CLAUDE, "settings_file": drop_in})

    result = run_main(managed_profile.main, capsys, {"path": path, "domain": CLAUDE,
                                                     "settings": dict(DROP_IN, apiKeyHelper="/opt/helper")},
                      diff=True)

    assert result["changed"] is True
    assert result["uuid"] == first["uuid"]
    assert "<string>/opt/helper</string>" in result["diff"]["after"]
    assert "fmapi-token-helper</string>" in result["diff"]["before"]
    assert payload(path)[1]["apiKeyHelper"] == "/opt/helper"


def test_check_mode_writes_nothing_and_predicts_the_change(tmp_path, capsys, drop_in):
    path = str(tmp_path / "profiles" / "claude.mobileconfig")
    args = {"path": path, "domain": CLAUDE, "settings_file": drop_in}

    predicted = run_main(managed_profile.main, capsys, args, check=True, diff=True)

    assert predicted["changed"] is True
    assert not os.path.exists(os.path.dirname(path))
    assert plistlib.loads(predicted["diff"]["after"].encode())["PayloadUUID"] == predicted["uuid"]
    run_main(managed_profile.main, capsys, args)
    assert run_main(managed_profile.main, capsys, args, check=True)["changed"] is False


def test_a_profile_others_could_not_read_gets_its_mode_back(tmp_path, capsys, drop_in):
    path = str(tmp_path / "claude.mobileconfig")
    args = {"path": path, "domain": CLAUDE, "settings_file": drop_in}
    run_main(managed_profile.main, capsys, args)
    os.chmod(path, 0o600)

    assert run_main(managed_profile.main, capsys, args)["changed"] is True

    assert mode(path) == 0o644


def test_the_options_reach_the_profile(tmp_path, capsys):
    path = str(tmp_path / "claude.mobileconfig")

    run_main(managed_profile.main, capsys, {
        "path": path, "domain": CLAUDE, "settings": {"permissions": {"disableBypassPermissionsMode": "disable"}},
        "identifier": "com.example.it.claude", "organization": "Example Corp", "display_name": "Claude Code policy",
        "description": "Set by IT", "removal_disallowed": True})

    profile, keys = payload(path)
    assert keys == {"permissions": {"disableBypassPermissionsMode": "disable"}}
    assert (profile["PayloadIdentifier"], profile["PayloadOrganization"], profile["PayloadDisplayName"],
            profile["PayloadDescription"], profile["PayloadRemovalDisallowed"]) == (
        "com.example.it.claude", "Example Corp", "Claude Code policy", "Set by IT", True)


@pytest.mark.parametrize("args, message", [
    ({"domain": "com.google.gemini", "settings": {"a": "b"}}, "value of domain must be one of"),
    ({"domain": CLAUDE, "settings": {"a": "b"}, "identifier": "claude code"}, "reverse-DNS"),
    ({"domain": CLAUDE, "settings": {"env": {"ANTHROPIC_MODEL": None}}}, "env.ANTHROPIC_MODEL is null"),
    ({"domain": CLAUDE, "settings": {"PayloadScope": "User"}}, "PayloadScope cannot be a preference key"),
    ({"domain": CLAUDE}, "one of the following is required: settings, settings_file, toml_file"),
])
def test_bad_input_fails_and_writes_nothing(tmp_path, capsys, args, message):
    path = str(tmp_path / "profiles" / "out.mobileconfig")

    result = run_main(managed_profile.main, capsys, dict(args, path=path), expect_failure=True)

    assert message in result["msg"]
    assert not os.path.exists(os.path.dirname(path))


def test_a_toml_file_is_for_codex_only(tmp_path, capsys, toml_file):
    result = run_main(managed_profile.main, capsys, {"path": str(tmp_path / "x.mobileconfig"), "domain": CLAUDE,
                                                     "toml_file": toml_file}, expect_failure=True)

    assert "toml_file is for the domain com.openai.codex" in result["msg"]


def test_a_toml_file_codex_would_refuse_is_refused(tmp_path, capsys):
    broken = tmp_path / "managed_config.toml"
    broken.write_text('model = "unterminated\n')
    path = tmp_path / "codex.mobileconfig"

    result = run_main(managed_profile.main, capsys, {"path": str(path), "domain": CODEX, "toml_file": str(broken)},
                      expect_failure=True)

    assert "is not valid TOML, which Codex would refuse" in result["msg"]
    assert not path.exists()


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ('["apiKeyHelper"]', "must hold a JSON object"),
    ("{apiKeyHelper: 1}", "is not a JSON file"),
])
def test_a_settings_file_that_cannot_be_used_fails(tmp_path, capsys, content, message):
    source = tmp_path / "drop-in.json"
    if content is not None:
        source.write_text(content)

    result = run_main(managed_profile.main, capsys, {"path": str(tmp_path / "x.mobileconfig"), "domain": CLAUDE,
                                                     "settings_file": str(source)}, expect_failure=True)

    assert str(source) in result["msg"] and message in result["msg"]


def test_a_folder_as_path_fails(tmp_path, capsys):
    result = run_main(managed_profile.main, capsys, {"path": str(tmp_path), "domain": CLAUDE,
                                                     "settings": {"a": "b"}}, expect_failure=True)

    assert "is a directory" in result["msg"]
