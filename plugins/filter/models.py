# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The model filters of the list_models and validate_models playbooks.

``model_table`` is the endpoint table in the shape fmapi.coding_agents.report prints, grouped by the agent each
endpoint is for; ``valid_agents`` and ``agent_models`` turn the playbooks' variables into the agents of a run and
their model settings. A presentation only: which endpoint is healthy, and which agent it is for, is
serving_endpoints_info's and _workspace's to judge."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws

TABLE_COLUMNS = ["ENDPOINT", "STATE", "TYPE", "TASK", "USED AS"]
# The group of endpoints for no agent (embeddings, other models, endpoints nothing is known about).
OTHER = "other"
GROUPS = ws.AGENTS + (OTHER,)
GROUP_LABELS = dict(ws.AGENT_LABELS, other="Other (no coding agent)")


def valid_agents(value: t.Any = None) -> t.List[str]:
    """The agents of a run, in the collection's order: a list or a comma-separated string of claude_code, codex,
    gemini; undefined or empty is the default (claude_code)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return list(ws.DEFAULT_AGENTS)
    try:
        return ws.validate_agents(value)
    except ws.ValidationError as exc:
        raise AnsibleFilterError(str(exc)) from None


def agent_models(agents: t.Any, claude_models: t.Any = None, codex_model: t.Any = "",
                 gemini_model: t.Any = "") -> t.Dict[str, t.Any]:
    """The model settings of the agents of a run, ``{setting: endpoint}``, for serving_endpoints_info's validate.

    Claude Code's are ``claude_models`` as they are (claude_code_info's ``models``: an empty value is a setting
    that is not configured); Codex CLI's ``codex_model`` and Gemini CLI's ``gemini_model`` default to the
    collection's defaults when empty.
    """
    selected = valid_agents(agents)
    models: t.Dict[str, t.Any] = {}
    if ws.AGENT_CLAUDE_CODE in selected:
        if claude_models is not None and not isinstance(claude_models, dict):
            raise AnsibleFilterError("agent_models expects Claude Code's models as a dict of setting: endpoint")
        models.update(claude_models or {})
    for agent, setting, value in ((ws.AGENT_CODEX, "codex_model", codex_model),
                                  (ws.AGENT_GEMINI, "gemini_model", gemini_model)):
        if agent not in selected:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            value = ws.DEFAULT_AGENT_MODELS[setting]
        try:
            models[setting] = ws.validate_model(setting, value)
        except ws.ValidationError as exc:
            raise AnsibleFilterError(str(exc)) from None
    return models


def _and(words: t.Sequence[str]) -> str:
    return words[0] if len(words) == 1 else "%s and %s" % (", ".join(words[:-1]), words[-1])


def _families(agents: t.Sequence[str]) -> str:
    return _and([ws.AGENT_MODEL_FAMILIES[agent] for agent in agents])


def _heading(group: str, width: int) -> t.Dict[str, t.Any]:
    """A row that starts a group: a rule with the group's name, as wide as the endpoint names."""
    text = "-- %s " % GROUP_LABELS[group]
    return {"cells": [text + "-" * max(2, width - len(text))], "marked": False, "status_column": None,
            "heading": True, "agent": None if group == OTHER else group}


def _wrong_agent_lines(endpoints: t.Sequence[t.Dict[str, t.Any]], configured: t.Mapping[str, t.Any]) -> t.List[str]:
    """A line for each configured setting whose endpoint serves another agent's API than the setting's agent."""
    by_name = {str(endpoint.get("name") or ""): endpoint for endpoint in endpoints}
    lines = []
    for role, name in configured.items():
        agent = ws.setting_agent(role)
        endpoint = by_name.get(str(name or ""))
        if not agent or endpoint is None:
            continue
        served = ws.endpoint_agent(endpoint)
        if ws.serves_agent(served, agent) is False:
            what = ("a %s endpoint" % ws.AGENT_MODEL_FAMILIES[served.agent] if served.agent
                    else "an endpoint for none of the coding agents")
            lines.append("%s is %s, %s: %s cannot use it; ansible-playbook fmapi.coding_agents.validate_models "
                         "explains." % (role, name, what, ws.AGENT_LABELS[agent]))
    return lines


def model_table(endpoints: t.Any, configured: t.Any, all_models: t.Any = False,
                agents: t.Any = None) -> t.Dict[str, t.Any]:
    """The list_models table: ``{columns, rows, legend}`` for fmapi.coding_agents.report.

    ``endpoints`` is serving_endpoints_info's ``endpoints``; ``configured`` maps settings to endpoint names
    (agent_models' answer, or claude_code_info's ``models``). The endpoints are grouped by the agent they are for
    (Claude Code, Codex CLI, Gemini CLI, then the others), each group after a heading row (``heading: true``).
    Only the groups of ``agents`` (default: claude_code) are listed, and configured endpoints wherever they
    are, unless ``all_models`` is true. Configured endpoints are marked, with their settings under USED AS.
    """
    if not isinstance(endpoints, list):
        raise AnsibleFilterError("model_table expects the endpoints list of serving_endpoints_info")
    if not isinstance(configured, dict):
        raise AnsibleFilterError("model_table expects the configured models as a dict of setting: endpoint")
    selected = valid_agents(agents)
    show_all = _truthy(all_models)
    used_as: t.Dict[str, t.List[str]] = {}
    for role, name in configured.items():
        if name:
            used_as.setdefault(str(name), []).append(str(role))
    groups: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {group: [] for group in GROUPS}
    for endpoint in endpoints:
        groups[ws.endpoint_agent(endpoint).agent or OTHER].append(endpoint)
    width = max([len(str(endpoint.get("name") or "")) for endpoint in endpoints] + [len(TABLE_COLUMNS[0])])
    rows = []
    count = 0
    for group in GROUPS:
        listed = [endpoint for endpoint in groups[group]
                  if show_all or group in selected or str(endpoint.get("name") or "") in used_as]
        if listed:
            rows.append(_heading(group, width))
        for endpoint in listed:
            name = str(endpoint.get("name") or "")
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
                "agent": None if group == OTHER else group,
            })
            count += 1
    names = {str(endpoint.get("name") or "") for endpoint in endpoints}
    absent = ["%s (%s)" % (name, ", ".join(roles)) for name, roles in used_as.items() if name not in names]
    legend = []
    if count:
        settings = [setting for agent in selected for setting in ws.AGENT_MODEL_SETTINGS[agent]]
        legend.append("> configured for %s; USED AS names the setting (%s)"
                      % (_and([ws.AGENT_LABELS[agent] for agent in selected]), ", ".join(settings)))
    if show_all:
        legend.append("%d serving endpoints." % count)
    elif count:
        legend.append("%d %s endpoints of %d; -e all_models=true lists every endpoint."
                      % (count, _families(selected), len(endpoints)))
    else:
        legend.append("No %s endpoints among the %d of this workspace; -e all_models=true lists every endpoint."
                      % (_families(selected), len(endpoints)))
    if count:
        legend.extend("No %s endpoints (%s models) in this workspace."
                      % (ws.AGENT_LABELS[agent], ws.AGENT_MODEL_FAMILIES[agent])
                      for agent in selected if not groups[agent])
    legend.extend(_wrong_agent_lines(endpoints, configured))
    if absent:
        legend.append("Configured but not in the workspace: %s; ansible-playbook fmapi.coding_agents.validate_models "
                      "explains." % ", ".join(absent))
    return {"columns": list(TABLE_COLUMNS), "rows": rows, "legend": "\n".join(legend)}


def _truthy(value: t.Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


class FilterModule:
    """The list_models and validate_models playbooks' filters."""

    def filters(self):
        return {
            "model_table": model_table,
            "valid_agents": valid_agents,
            "agent_models": agent_models,
        }
