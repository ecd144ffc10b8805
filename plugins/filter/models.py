# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The endpoint table of the list_models playbook, in the shape fmapi.coding_agents.report prints.

A presentation only: which endpoint is healthy is serving_endpoints_info's to judge."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

# Endpoints a Claude Code user cares about; the rest of the workspace is one -e away.
CLAUDE_NAME_PARTS = ("claude", "anthropic")
TABLE_COLUMNS = ["ENDPOINT", "STATE", "TYPE", "TASK", "USED AS"]


def _is_claude(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in CLAUDE_NAME_PARTS)


def model_table(endpoints: t.Any, configured: t.Any, all_models: t.Any = False) -> t.Dict[str, t.Any]:
    """The list_models table: ``{columns, rows, legend}`` for fmapi.coding_agents.report.

    ``endpoints`` is serving_endpoints_info's ``endpoints``; ``configured`` maps roles to endpoint
    names (claude_code_info returns them as ``models``). Only endpoints whose name contains ``claude`` or ``anthropic``
    (any case) are listed unless ``all_models`` is true. Configured endpoints are marked.
    """
    if not isinstance(endpoints, list):
        raise AnsibleFilterError("model_table expects the endpoints list of serving_endpoints_info")
    if not isinstance(configured, dict):
        raise AnsibleFilterError("model_table expects the configured models as a dict of role: endpoint")
    show_all = _truthy(all_models)
    used_as: t.Dict[str, t.List[str]] = {}
    for role, name in configured.items():
        if name:
            used_as.setdefault(str(name), []).append(str(role))
    rows = []
    for endpoint in endpoints:
        name = str(endpoint.get("name") or "")
        if not show_all and not _is_claude(name):
            continue
        roles = used_as.get(name, [])
        rows.append({
            "cells": [
                name,
                endpoint.get("state") or endpoint.get("ready") or "UNKNOWN",
                endpoint.get("endpoint_type") or "-",
                endpoint.get("task") or "-",
                ", ".join(roles) or "-",
            ],
            "marked": bool(roles),
            "status_column": 1,
        })
    names = {str(endpoint.get("name") or "") for endpoint in endpoints}
    absent = ["%s (%s)" % (name, ", ".join(roles)) for name, roles in used_as.items() if name not in names]
    legend = []
    if rows:
        legend.append("> configured for Claude Code; USED AS names the setting (model, opus, sonnet, haiku)")
    if show_all:
        legend.append("%d serving endpoints." % len(rows))
    elif rows:
        legend.append("%d Claude endpoints of %d; -e all_models=true lists every endpoint." % (len(rows), len(endpoints)))
    else:
        legend.append("No Claude or Anthropic endpoints among the %d of this workspace; -e all_models=true lists "
                      "every endpoint." % len(endpoints))
    if absent:
        legend.append("Configured but not in the workspace: %s; ansible-playbook fmapi.coding_agents.validate_models "
                      "explains." % ", ".join(absent))
    return {"columns": list(TABLE_COLUMNS), "rows": rows, "legend": "\n".join(legend)}


def _truthy(value: t.Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


class FilterModule:
    """The list_models playbook's filter."""

    def filters(self):
        return {
            "model_table": model_table,
        }
