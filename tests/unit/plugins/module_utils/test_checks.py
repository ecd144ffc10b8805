# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_checks.py: the rows of a doctor or status report."""

from __future__ import annotations

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _checks


def test_a_check_is_a_row_of_strings():
    assert _checks.check(_checks.AUTH, _checks.FAIL, "session", None, _checks.REAUTH_COMMAND) == {
        "category": "Auth", "status": "FAIL", "label": "session", "value": "",
        "fix": "ansible-playbook fmapi.coding_agents.reauth"}
    assert _checks.check(_checks.MODELS, _checks.PASS, "ttl", 30) == {
        "category": "Models", "status": "PASS", "label": "ttl", "value": "30", "fix": ""}


@pytest.mark.parametrize("status", ["pass", "OK", "", None])
def test_an_unknown_status_is_a_programming_error(status):
    with pytest.raises(ValueError, match="unknown check status"):
        _checks.check(_checks.AUTH, status, "x")


@pytest.mark.parametrize("statuses, expected", [
    ([], "PASS"),
    (["PASS", "SKIP", "INFO"], "PASS"),
    (["PASS", "WARN", "SKIP"], "WARN"),
    (["WARN", "FAIL", "PASS"], "FAIL"),
    (["FAIL"], "FAIL"),
])
def test_worst_status(statuses, expected):
    assert _checks.worst(_checks.check(_checks.PROFILE, status, "x") for status in statuses) == expected


def test_categories_are_in_report_order_and_commands_name_the_playbooks():
    assert _checks.CATEGORIES == ("Dependencies", "Configuration", "Profile", "Auth", "Connectivity", "Models")
    assert _checks.SETUP_WITH_HOST == "ansible-playbook fmapi.coding_agents.setup -e host=https://<your-workspace>"
    assert _checks.LIST_MODELS_COMMAND == "ansible-playbook fmapi.coding_agents.list_models"
