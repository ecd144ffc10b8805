# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_mobileconfig.py: the profiles are read back with plistlib, the parser of the
property list format macOS writes and reads."""

from __future__ import annotations

import base64
import plistlib
import uuid

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _mobileconfig as mc

CLAUDE = "com.anthropic.claudecode"
CODEX = "com.openai.codex"
# A managed drop-in as claude_settings writes it, with every kind of value a settings file can hold.
SETTINGS = {
    "apiKeyHelper": "/usr/local/libexec/fmapi-coding-agents/fmapi-token-helper",
    "env": {"ANTHROPIC_BASE_URL": "https://example.cloud.databricks.com/serving-endpoints/anthropic",
            "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1800000"},
    "permissions": {"deny": ["WebSearch"], "disableBypassPermissionsMode": "disable"},
    "enforceAvailableModels": True,
    "cleanupPeriodDays": 30,
    "maxBudget": 5.5,
    "companyAnnouncements": ["Prüfen Sie Ihre Änderungen — 変更を確認"],
}


def rendered(domain=CLAUDE, settings=None, **options):
    return plistlib.loads(mc.render(mc.build(domain, SETTINGS if settings is None else settings, **options)))


def test_the_settings_come_back_from_the_plist_as_they_went_in():
    profile = rendered()

    assert mc.payload_settings(profile, CLAUDE) == SETTINGS


def test_the_profile_has_the_shape_macos_installs():
    profile = rendered(organization="Example Corp")

    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadVersion"] == 1
    assert profile["PayloadScope"] == "System"
    assert profile["PayloadOrganization"] == "Example Corp"
    assert profile["PayloadIdentifier"] == "com.databricks.fmapi-coding-agents.com.anthropic.claudecode"
    assert profile["PayloadRemovalDisallowed"] is False
    [payload] = profile["PayloadContent"]
    # The custom settings form: the payload type is the preference domain itself.
    assert payload["PayloadType"] == CLAUDE
    assert payload["PayloadVersion"] == 1
    assert payload["PayloadIdentifier"] != profile["PayloadIdentifier"]
    assert payload["PayloadIdentifier"].startswith(profile["PayloadIdentifier"])
    for value in (profile["PayloadUUID"], payload["PayloadUUID"]):
        assert str(uuid.UUID(value)).upper() == value
    assert profile["PayloadUUID"] != payload["PayloadUUID"]


def test_the_same_input_gives_the_same_bytes_and_uuids():
    first = mc.render(mc.build(CLAUDE, SETTINGS, identifier="com.example.it.claude"))
    again = mc.render(mc.build(CLAUDE, dict(reversed(list(SETTINGS.items()))), identifier="com.example.it.claude"))

    assert first == again
    assert plistlib.loads(first)["PayloadUUID"] == mc.profile_uuid("com.example.it.claude", CLAUDE)


def test_uuids_follow_the_identifier_and_the_domain():
    uuids = {mc.profile_uuid("com.example.a", CLAUDE), mc.profile_uuid("com.example.b", CLAUDE),
             mc.profile_uuid("com.example.a", CODEX), mc.payload_uuid("com.example.a", CLAUDE)}

    assert len(uuids) == 4


def test_the_options_land_in_the_profile():
    profile = rendered(identifier="com.example.it.claude", display_name="Claude Code (Example)",
                       description="Our gateway", removal_disallowed=True)

    assert profile["PayloadIdentifier"] == "com.example.it.claude"
    assert profile["PayloadDisplayName"] == "Claude Code (Example)"
    assert profile["PayloadDescription"] == "Our gateway"
    assert profile["PayloadRemovalDisallowed"] is True


def test_codex_gets_the_toml_bytes_in_base64_on_one_line():
    toml = b'model = "databricks-gpt-5-5"\n\n[model_providers.databricks]\nname = "Databricks \xc3\xa9"\n' * 20
    settings = mc.settings_from_toml(toml)

    profile = rendered(CODEX, settings)

    value = mc.payload_settings(profile, CODEX)["config_toml_base64"]
    assert isinstance(value, str) and "\n" not in value
    assert base64.b64decode(value, validate=True) == toml


def test_a_json_file_becomes_the_keys():
    assert mc.settings_from_json(b'\xef\xbb\xbf{"env": {"A": "1"}}', "f.json") == {"env": {"A": "1"}}


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "f.json is not a JSON file"),
    (b'["a"]', "must hold a JSON object"),
    (b"\xff\xfe", "f.json is not a JSON file"),
])
def test_a_json_file_that_is_no_object_is_refused(raw, message):
    with pytest.raises(mc.ProfileError, match=message):
        mc.settings_from_json(raw, "f.json")


@pytest.mark.parametrize("domain", ["com.google.gemini", "", None, "com.anthropic.claudecode.extra"])
def test_an_unknown_domain_is_refused(domain):
    with pytest.raises(mc.ProfileError, match="domain must be one of com.anthropic.claudecode, com.openai.codex"):
        mc.build(domain, SETTINGS)


@pytest.mark.parametrize("identifier", ["claudecode", "com..example", ".com.example", "com.example.", "com.ex ample",
                                        "com.example/claude", "com.exämple.x", "a." + "b" * 300])
def test_an_identifier_that_is_not_reverse_dns_is_refused(identifier):
    with pytest.raises(mc.ProfileError, match="reverse-DNS"):
        mc.build(CLAUDE, SETTINGS, identifier=identifier)


@pytest.mark.parametrize("settings, message", [
    ({"env": {"ANTHROPIC_MODEL": None}}, "env.ANTHROPIC_MODEL is null"),
    ({"permissions": {"deny": ["WebSearch", None]}}, r"permissions.deny\[1\] is null"),
    ({"PayloadType": "com.example"}, "PayloadType cannot be a preference key"),
    ({}, "the settings are empty"),
    ({"env": {1: "a"}}, "the key 1 is not a string"),
    ({"big": 2 ** 70}, "too large for a property list"),
    ({"nan": float("nan")}, "has no property list form"),
    ({"object": object()}, "cannot be a property list value"),
    (["apiKeyHelper"], "must be a mapping"),
])
def test_values_a_plist_cannot_hold_are_refused(settings, message):
    with pytest.raises(mc.ProfileError, match=message):
        mc.build(CLAUDE, settings)


def test_a_control_character_is_refused_when_written():
    with pytest.raises(mc.ProfileError, match="cannot be written as a property list"):
        mc.render(mc.build(CLAUDE, {"env": {"A": "bell\x07"}}))


def test_garbage_is_not_a_profile():
    with pytest.raises(mc.ProfileError, match="not a property list"):
        mc.parse(b"<plist><dict><key>x</key>")
    with pytest.raises(mc.ProfileError, match="not a configuration profile"):
        mc.parse(plistlib.dumps(["a"]))
    with pytest.raises(mc.ProfileError, match="no payload for com.openai.codex"):
        mc.payload_settings(rendered(), CODEX)
