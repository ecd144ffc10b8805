# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for the uninstall playbook: what the FMAPI setup left on a laptop, the question to
ask before removing it, and the report of what went."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

# What fmapi.coding_agents.uninstall leaves alone, said so that nobody looks for it.
LEFT_IN_PLACE = (
    ("Databricks profile", "~/.databrickscfg (your login to the workspace; other tools may use it)"),
    ("Tools", "Claude Code, the Databricks CLI and the venv in ~/.local/share/fmapi-coding-agents"),
)
_LEGACY_WHAT = {
    "anthropic_auth_token": "static token of an older setup (env.ANTHROPIC_AUTH_TOKEN)",
    "fmapi_meta": "leftover of an older setup (_fmapi_meta)",
    "pat_cache": "token cache of an older setup",
}


def _results(registered: t.Any) -> t.List[t.Dict[str, t.Any]]:
    """The per-item results of a looped task, or [] when it was skipped."""
    if isinstance(registered, dict):
        registered = registered.get("results", [])
    if not isinstance(registered, list):
        raise AnsibleFilterError("uninstall_findings expects registered results of looped tasks")
    return [result for result in registered if isinstance(result, dict) and not result.get("skipped")]


def uninstall_findings(settings: t.Any, helpers: t.Any, plugin: t.Any = None,
                       plugin_dir: t.Any = None) -> t.List[t.Dict[str, str]]:
    """What the FMAPI setup left here, as ``[{what, path}]``, in the order it would be removed.

    ``settings``: fmapi.coding_agents.claude_settings_info looped over the settings files;
    ``helpers``: ansible.builtin.stat looped over the token helper paths; ``plugin``:
    fmapi.coding_agents.claude_plugin with ``state=absent`` in check mode; ``plugin_dir``:
    ansible.builtin.stat of the plugin's folder.
    """
    found: t.List[t.Dict[str, str]] = []

    def add(what: str, path: str) -> None:
        entry = {"what": what, "path": path}
        if path and entry not in found:
            found.append(entry)

    for result in _results(settings):
        path = str(result.get("settings_path") or result.get("item") or "")
        if result.get("installed"):
            add("FMAPI settings", path)
        for item in result.get("legacy") or []:
            name = item.get("name")
            if name == "pat_cache" or not result.get("installed"):
                add(_LEGACY_WHAT.get(name, "leftover of an older setup"), str(item.get("path") or path))
    for result in _results(helpers):
        if (result.get("stat") or {}).get("exists"):
            add("token helper", str(result["stat"].get("path") or result.get("item") or ""))
    if isinstance(plugin, dict) and not plugin.get("skipped") and (plugin.get("removed_keys") or plugin.get("changed")):
        plugin_id = plugin.get("plugin_id") or "fmapi-coding-agents"
        add("plugin registration", "%s in %s" % (plugin_id, plugin.get("settings_path") or "the user settings"))
    if isinstance(plugin_dir, dict) and (plugin_dir.get("stat") or {}).get("exists"):
        add("plugin files", str(plugin_dir["stat"].get("path") or ""))
    return found


def uninstall_prompt(findings: t.Any) -> str:
    """The question asked before anything is removed."""
    if not isinstance(findings, list):
        raise AnsibleFilterError("uninstall_prompt expects the list of uninstall_findings")
    lines = ["This removes the FMAPI setup of Claude Code:"]
    lines += ["  - %s: %s" % (item["what"], item["path"]) for item in findings]
    lines.append("Your other Claude Code settings, ~/.databrickscfg and the installed tools stay.")
    lines.append("Remove it? [y/N]")
    return "\n".join(lines)


def uninstall_sections(before: t.Any, after: t.Any) -> t.List[t.Dict[str, t.Any]]:
    """The report after the uninstall role ran: what went, what is still there, what stays on purpose."""
    if not isinstance(before, list) or not isinstance(after, list):
        raise AnsibleFilterError("uninstall_sections expects two lists of uninstall_findings")
    removed = [item for item in before if item not in after]
    sections = [{
        "title": "Removed",
        "rows": [{"status": "REMOVED", "label": item["what"], "value": item["path"]} for item in removed],
        "empty": "Nothing to remove: no FMAPI setup was found here.",
    }]
    if after:
        sections.append({"title": "Still there", "rows": [
            {"status": "WARN", "label": item["what"], "value": item["path"],
             "hint": "Remove it by hand, or run the uninstall again and read its task output"}
            for item in after]})
    sections.append({"title": "Left in place", "rows": [
        {"label": label, "value": value} for label, value in LEFT_IN_PLACE]})
    return sections


class FilterModule:
    """The uninstall playbook's filters."""

    def filters(self):
        return {
            "uninstall_findings": uninstall_findings,
            "uninstall_prompt": uninstall_prompt,
            "uninstall_sections": uninstall_sections,
        }
