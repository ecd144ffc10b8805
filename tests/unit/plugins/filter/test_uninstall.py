# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the uninstall playbook finds, asks and reports."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fmapi.coding_agents.plugins.filter.uninstall import (
    FilterModule,
    uninstall_findings,
    uninstall_prompt,
    uninstall_sections,
)

HOME = "/home/dev"
SETTINGS = HOME + "/.claude/settings.json"
PROJECT_SETTINGS = HOME + "/src/app/.claude/settings.json"
HELPER = HOME + "/.claude/fmapi-token-helper"
PLUGIN_DIR = HOME + "/.claude/fmapi-coding-agents"


def settings_result(path, installed, legacy=()):
    return {"item": path, "settings_path": path, "installed": installed, "legacy": list(legacy), "changed": False}


def stat_result(path, exists):
    return {"item": path, "stat": {"exists": exists, "path": path} if exists else {"exists": False}}


def test_findings_of_a_full_install():
    settings = {"results": [settings_result(SETTINGS, True), settings_result(PROJECT_SETTINGS, False)]}
    helpers = {"results": [stat_result(HELPER, True)]}
    plugin = {"changed": True, "removed_keys": ["enabledPlugins.fmapi-coding-agents@fmapi-coding-agents"],
              "plugin_id": "fmapi-coding-agents@fmapi-coding-agents", "settings_path": SETTINGS}
    plugin_dir = {"stat": {"exists": True, "path": PLUGIN_DIR}}

    assert uninstall_findings(settings, helpers, plugin, plugin_dir) == [
        {"what": "FMAPI settings", "path": SETTINGS},
        {"what": "token helper", "path": HELPER},
        {"what": "plugin registration", "path": "fmapi-coding-agents@fmapi-coding-agents in " + SETTINGS},
        {"what": "plugin files", "path": PLUGIN_DIR},
    ]


def test_findings_include_leftovers_of_older_setups_once():
    cache = HOME + "/.claude/.fmapi-pat-cache"
    settings = {"results": [
        settings_result(SETTINGS, False, [{"name": "anthropic_auth_token", "path": SETTINGS},
                                          {"name": "pat_cache", "path": cache}]),
        settings_result(SETTINGS, False, [{"name": "pat_cache", "path": cache}]),
    ]}

    findings = uninstall_findings(settings, {"results": []})

    assert findings == [
        {"what": "static token of an older setup (env.ANTHROPIC_AUTH_TOKEN)", "path": SETTINGS},
        {"what": "token cache of an older setup", "path": cache},
    ]


def test_nothing_installed_finds_nothing():
    settings = {"results": [settings_result(SETTINGS, False)]}
    helpers = {"results": [stat_result(HELPER, False)]}
    plugin = {"changed": False, "removed_keys": [], "settings_path": SETTINGS}

    assert uninstall_findings(settings, helpers, plugin, {"stat": {"exists": False}}) == []


def test_skipped_loops_count_as_nothing_found():
    assert uninstall_findings({"skipped": True, "results": []}, {"results": [{"skipped": True}]}) == []


def test_findings_refuse_what_is_not_a_loop_result():
    with pytest.raises(AnsibleFilterError):
        uninstall_findings("settings", [])


def test_the_prompt_lists_what_goes_and_what_stays():
    prompt = uninstall_prompt([{"what": "FMAPI settings", "path": SETTINGS}, {"what": "token helper", "path": HELPER}])

    assert prompt.splitlines() == [
        "This removes the FMAPI setup of Claude Code:",
        "  - FMAPI settings: " + SETTINGS,
        "  - token helper: " + HELPER,
        "Your other Claude Code settings, ~/.databrickscfg and the installed tools stay.",
        "Remove it? [y/N]",
    ]


def test_the_report_names_what_was_removed_and_what_is_still_there():
    before = [{"what": "FMAPI settings", "path": SETTINGS}, {"what": "token helper", "path": HELPER}]
    after = [{"what": "token helper", "path": HELPER}]

    sections = uninstall_sections(before, after)

    assert sections[0]["rows"] == [{"status": "REMOVED", "label": "FMAPI settings", "value": SETTINGS}]
    assert sections[1]["title"] == "Still there"
    assert [(row["status"], row["value"]) for row in sections[1]["rows"]] == [("WARN", HELPER)]
    assert sections[-1]["title"] == "Left in place"


def test_the_report_of_a_repeat_says_there_was_nothing_to_remove():
    sections = uninstall_sections([], [])

    assert sections[0] == {"title": "Removed", "rows": [],
                           "empty": "Nothing to remove: no FMAPI setup was found here."}
    assert [section["title"] for section in sections] == ["Removed", "Left in place"]


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"uninstall_findings", "uninstall_prompt", "uninstall_sections"}
