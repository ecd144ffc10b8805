# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The checks the ``_info`` modules return, and the commands their fixes name. Private to the collection.

A check is one line of a doctor or status report: ``category`` (where it is shown), ``status``
(PASS, FAIL, WARN, SKIP or INFO), ``label`` (what was checked), ``value`` (what was found) and
``fix`` (what to run or do; empty when there is nothing to fix). The ``report`` action prints them
grouped by category, in :data:`CATEGORIES` order.
"""

from __future__ import annotations

import typing as t

PASS = "PASS"
FAIL = "FAIL"
WARN = "WARN"
SKIP = "SKIP"
INFO = "INFO"
STATUSES = (PASS, FAIL, WARN, SKIP, INFO)

DEPENDENCIES = "Dependencies"
CONFIGURATION = "Configuration"
PROFILE = "Profile"
AUTH = "Auth"
CONNECTIVITY = "Connectivity"
MODELS = "Models"
CATEGORIES = (DEPENDENCIES, CONFIGURATION, PROFILE, AUTH, CONNECTIVITY, MODELS)

SETUP_COMMAND = "ansible-playbook fmapi.coding_agents.setup"
SETUP_WITH_HOST = SETUP_COMMAND + " -e host=https://<your-workspace>"
REAUTH_COMMAND = "ansible-playbook fmapi.coding_agents.reauth"
LIST_MODELS_COMMAND = "ansible-playbook fmapi.coding_agents.list_models"


def check(category: str, status: str, label: str, value: t.Any = "", fix: str = "") -> t.Dict[str, str]:
    """One check row."""
    if status not in STATUSES:
        raise ValueError("unknown check status %r" % status)
    return {"category": category, "status": status, "label": label, "value": "" if value is None else str(value),
            "fix": fix or ""}


def worst(checks: t.Iterable[t.Dict[str, str]]) -> str:
    """FAIL, WARN or PASS: the worst status among ``checks`` (SKIP and INFO count as PASS)."""
    statuses = {item.get("status") for item in checks}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS
