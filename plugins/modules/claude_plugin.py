#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: claude_plugin
short_description: Register a local Claude Code plugin marketplace and enable its plugin in the user settings
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Declares a marketplace folder on this machine (such as the one the C(fmapi.coding_agents.claude_code) role
    copies to V(~/.claude/fmapi-coding-agents/marketplace)) and enables one of its plugins, the way Claude Code
    reads plugins today, or removes both again.
  - "The module writes two keys of the Claude Code settings file:
    C(extraKnownMarketplaces.<marketplace>) = C({\"source\": {\"source\": \"directory\", \"path\": \"<source>\"}}) and
    C(enabledPlugins.<plugin>@<marketplace>) = V(true). It does not need Claude Code to run."
  - At its next start Claude Code loads the plugin's commands and skills from the folder. In the background it
    then records the marketplace and the plugin in its own cache (C(plugins/known_marketplaces.json) and
    C(plugins/installed_plugins.json) beside the settings file); C(claude plugin list) shows the plugin from
    then on (with Claude Code 2.1, after the second start). The module never writes that cache itself.
  - Older FMAPI setup scripts wrote a flat, non-standard top-level entry C(fmapi-codingagent) (an object with
    C(scope) and C(installPath)) into C(plugins/installed_plugins.json). When it is the only content, Claude Code
    discards the whole registry and cannot record any plugin in it.
    In both states the module removes such entries (see O(legacy_entries)), and only them, and reports them in
    RV(removed_legacy). A registry left empty by that is deleted; Claude Code starts a new one.
  - Every other setting stays as it is, in its order. Whether anything changes is decided on the parsed JSON
    data; a file whose data would not change is not touched. When it changes, it is written again with the
    indentation it had (2 spaces for a new file), a UTF-8 byte order mark kept, and a final newline, the
    same way M(fmapi.coding_agents.claude_settings) writes it.
  - Writes are atomic and give the settings file mode V(0600); a missing parent directory is created with mode
    V(0700). A symlinked settings file (dotfiles managers) is written through, and the link stays.
options:
  source:
    description:
      - The marketplace folder, holding C(.claude-plugin/marketplace.json) and the plugin folders it lists.
      - Written to the settings as an absolute path (V(~) expanded), because Claude Code reads it from there.
      - Required when O(state=present). The folder must exist then, except in check mode when O(marketplace)
        and O(plugin) are given (a role may copy the folder in the same run).
      - With O(state=absent) it serves to find the names (from the manifest, or from the settings entry that
        declares this folder) when O(marketplace) is not given.
    type: path
  settings_path:
    description:
      - The Claude Code user settings file. Its directory is the Claude Code config directory whose
        C(plugins/) cache the module inspects.
    type: path
    default: ~/.claude/settings.json
  state:
    description:
      - V(present) declares the marketplace and enables the plugin.
      - V(absent) removes the marketplace entry and every C(enabledPlugins) entry of that marketplace (its
        plugins cannot load without it), drops an C(extraKnownMarketplaces) or C(enabledPlugins) object this
        leaves empty, and deletes a settings file left as V({}) (a symlinked one is kept, holding V({})). See
        also O(purge_cache).
    type: str
    choices: [present, absent]
    default: present
  marketplace:
    description:
      - The marketplace name. Defaults to the C(name) in the folder's C(.claude-plugin/marketplace.json).
      - It must be that name when the folder is readable; Claude Code refuses a marketplace declared under
        another name.
    type: str
  plugin:
    description:
      - The plugin to enable. Defaults to the only plugin the marketplace lists; required when it lists several.
    type: str
  legacy_entries:
    description:
      - Top-level names of flat legacy entries to remove from C(plugins/installed_plugins.json).
      - Only an entry whose value is an object is removed; the registry's own C(version) and C(plugins) keys are
        never touched.
    type: list
    elements: str
    default: [fmapi-codingagent]
  purge_cache:
    description:
      - With O(state=absent), also make Claude Code forget the plugin and the marketplace when its cache still
        records them, by running C(claude plugin uninstall) and C(claude plugin marketplace remove) after the
        settings are written. Without this, Claude Code keeps the plugin, disabled, in C(claude plugin list).
      - Runs only when the cache records something, and not in check mode. When the C(claude) command cannot
        be found the module warns and leaves the cache.
    type: bool
    default: true
  claude_command:
    description:
      - The Claude Code command used by O(purge_cache).
      - Defaults to C(claude) found on E(PATH), in V(~/.local/bin) (the native installer) or in
        V(~/.claude/local).
    type: path
  backup:
    description:
      - Copy the settings file to a timestamped backup beside it (mode V(0600)) before changing or deleting it.
    type: bool
    default: false
notes:
  - Plugins are enabled per settings scope. A project's C(.claude/settings.json) or managed settings can disable
    the plugin again for their scope.
  - Credential-looking values in the settings file (a legacy C(env.ANTHROPIC_AUTH_TOKEN), for example) are masked
    in the diff and in messages.
seealso:
  - module: fmapi.coding_agents.claude_settings
  - name: Claude Code plugins
    description: Plugins, marketplaces and the settings that declare them.
    link: https://code.claude.com/docs/en/plugins
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
    details:
      - Claude Code is not run in check mode; what O(purge_cache) would do is read from its cache files.
  diff_mode:
    support: full
    details:
      - The diff shows the settings file, and the registry when a legacy entry goes, before and after.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Register the FMAPI plugin the role copied to the laptop
  fmapi.coding_agents.claude_plugin:
    source: ~/.claude/fmapi-coding-agents/marketplace

- name: Same, with the names given so that check mode works before the folder is copied
  fmapi.coding_agents.claude_plugin:
    source: ~/.claude/fmapi-coding-agents/marketplace
    marketplace: fmapi-coding-agents
    plugin: fmapi-coding-agents
  register: claude_plugin_result

- name: Tell which plugin Claude Code loads at its next start
  ansible.builtin.debug:
    msg: "Claude Code loads {{ claude_plugin_result.plugin_id }} at its next start"

- name: Remove the plugin again (settings entries, and Claude Code's cached copy)
  fmapi.coding_agents.claude_plugin:
    state: absent
    marketplace: fmapi-coding-agents
"""

RETURN = r"""
plugin_id:
  description: The plugin's id in Claude Code, C(<plugin>@<marketplace>). Null when O(state=absent) found no names.
  returned: always
  type: str
  sample: fmapi-coding-agents@fmapi-coding-agents
marketplace:
  description: The marketplace name used.
  returned: always
  type: str
  sample: fmapi-coding-agents
plugin:
  description: The plugin name used. With O(state=absent) it may be null when only the marketplace is known.
  returned: always
  type: str
  sample: fmapi-coding-agents
source:
  description: The marketplace folder as written to the settings (absolute), or null.
  returned: always
  type: str
  sample: /home/dev/.claude/fmapi-coding-agents/marketplace
settings_path:
  description: The settings file, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.claude/settings.json
set_keys:
  description: The settings entries added or changed, as dotted names (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [extraKnownMarketplaces.fmapi-coding-agents, enabledPlugins.fmapi-coding-agents@fmapi-coding-agents]
removed_keys:
  description: The settings entries removed, as dotted names.
  returned: always
  type: list
  elements: str
  sample: []
removed_legacy:
  description: The flat legacy entries removed from C(plugins/installed_plugins.json).
  returned: always
  type: list
  elements: str
  sample: [fmapi-codingagent]
file_deleted:
  description: Whether the settings file was deleted because nothing but V({}) was left in it.
  returned: always
  type: bool
  sample: false
purged_plugins:
  description: Plugin ids Claude Code's cache was made to forget (O(purge_cache)); in check mode, those it would.
  returned: always
  type: list
  elements: str
  sample: [fmapi-coding-agents@fmapi-coding-agents]
purged_marketplaces:
  description: Marketplaces Claude Code's cache was made to forget (O(purge_cache)); in check mode, those it would.
  returned: always
  type: list
  elements: str
  sample: [fmapi-coding-agents]
backup_file:
  description: The backup made of the settings file before it was changed (O(backup=true)).
  returned: always
  type: str
  sample: /home/dev/.claude/settings.json.4242.2025-01-01@12:00:00~
"""

import os
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_plugin as cp
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    atomic_write,
    ensure_directory,
    expand,
    mode_of,
    read_bytes,
    remove_file,
    write_target,
)

# Where Claude Code's installers put the command when it is not on PATH.
_CLAUDE_DIRECTORIES = ("~/.local/bin", "~/.claude/local")
_DEFAULT_CONFIG_DIRECTORY = "~/.claude"
_REGISTRY_MODE = 0o644


class ClaudePlugin:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self.settings_path = expand(self.params["settings_path"])
        self.config_directory = os.path.dirname(self.settings_path)
        self.source = expand(self.params["source"]) if self.params["source"] else None
        self.warnings: t.List[str] = []

    def fail(self, msg: str, **kwargs: t.Any) -> None:
        self.module.fail_json(msg=msg, settings_path=self.settings_path, **kwargs)

    def read(self, path: str) -> t.Optional[bytes]:
        try:
            return read_bytes(path)
        except OSError as exc:
            self.fail("Cannot read %s: %s" % (path, to_native(exc)))
        raise AssertionError("unreachable")  # pragma: no cover

    def names(self, data: t.Dict[str, t.Any]) -> t.Tuple[t.Optional[str], t.Optional[str]]:
        """The ``(marketplace, plugin)`` to act on."""
        params = self.params
        present = params["state"] == "present"
        marketplace = None
        manifest_error = None
        if self.source:
            try:
                marketplace = cp.read_marketplace(self.source)
            except cp.PluginError as exc:
                manifest_error = exc
        try:
            if marketplace is not None:
                return cp.resolve_names(marketplace, params["marketplace"], params["plugin"])
            if present:
                if self.module.check_mode and params["marketplace"] and params["plugin"] \
                        and not os.path.exists(self.source):
                    return cp.resolve_names(None, params["marketplace"], params["plugin"])
                hint = ""
                if self.module.check_mode and not os.path.exists(self.source):
                    hint = " (to run in check mode before the folder is copied, give marketplace and plugin)"
                self.fail(to_native(manifest_error) + hint)
            if params["marketplace"]:
                name = cp.validate_name("The marketplace", params["marketplace"])
                plugin = cp.validate_name("The plugin", params["plugin"]) if params["plugin"] else None
                return name, plugin
        except cp.PluginError as exc:
            self.fail(to_native(exc))
        # Absent, the folder gone: the settings entry that declares it tells the name.
        declared = cp.marketplaces_at(data, self.source) if self.source else []
        if len(declared) > 1:
            self.fail("%s declares the folder %s as several marketplaces (%s); choose one with marketplace"
                      % (self.settings_path, self.source, ", ".join(declared)))
        return (declared[0] if declared else None), params["plugin"]

    def claude_command(self) -> t.Optional[str]:
        if self.params["claude_command"]:
            command = expand(self.params["claude_command"])
            return command if os.access(command, os.X_OK) else None
        return self.module.get_bin_path("claude", opt_dirs=[expand(path) for path in _CLAUDE_DIRECTORIES])

    def run_claude(self, command: str, args: t.List[str]) -> bool:
        """Run ``claude <args>`` against our config directory; True when it reports success."""
        if os.path.normpath(self.config_directory) == expand(_DEFAULT_CONFIG_DIRECTORY):
            # Claude Code also moves ~/.claude.json into the directory named there: leave it unset.
            os.environ.pop("CLAUDE_CONFIG_DIR", None)
        else:
            os.environ["CLAUDE_CONFIG_DIR"] = self.config_directory
        # A scratch working directory: no project settings of the caller's folder are involved.
        rc, stdout, stderr = self.module.run_command([command] + args, cwd=self.module.tmpdir)
        outcome = cp.cli_outcome(stdout)
        if rc == 0 and outcome.get("outcome", "ok") == "ok":
            return True
        message = outcome.get("message") or stderr.strip() or stdout.strip() or "exit status %d" % rc
        self.warnings.append("`claude %s` failed: %s" % (" ".join(args), message))
        return False

    def purge(self, marketplace: str) -> t.Tuple[t.List[str], t.List[str]]:
        """Have Claude Code forget what its cache still records of the marketplace."""
        registry_raw = self.read(cp.registry_path(self.config_directory))
        known_raw = self.read(cp.known_marketplaces_path(self.config_directory))
        identifiers, marketplace_recorded = cp.registry_records(registry_raw, known_raw, marketplace)
        marketplaces = [marketplace] if marketplace_recorded else []
        if not identifiers and not marketplaces:
            return [], []
        if self.module.check_mode:
            return identifiers, marketplaces
        command = self.claude_command()
        if command is None:
            self.warnings.append(
                "Claude Code's cache in %s still records %s, but the claude command was not found (set "
                "claude_command); Claude Code keeps it there, disabled, until `claude plugin uninstall` runs"
                % (self.config_directory, ", ".join(identifiers + marketplaces)))
            return [], []
        purged_plugins = [identifier for identifier in identifiers
                          if self.run_claude(command, ["plugin", "uninstall", "--json", "--scope", "user",
                                                       identifier])]
        purged_marketplaces = [name for name in marketplaces
                               if self.run_claude(command, ["plugin", "marketplace", "remove", "--json", name])]
        return purged_plugins, purged_marketplaces

    def run(self) -> t.Dict[str, t.Any]:
        params = self.params
        present = params["state"] == "present"
        if os.path.isdir(self.settings_path):
            self.fail("%s is a directory; settings_path must name the settings file, e.g. %s/settings.json"
                      % (self.settings_path, self.settings_path))

        raw = self.read(self.settings_path)
        self.module.no_log_values.update(cs.secret_values_in_text(cs.decode_for_display(raw)))
        try:
            parsed = cs.parse_settings(raw, self.settings_path)
        except cs.SettingsError as exc:
            self.fail(exc.message + ". Nothing was changed; fix the file (Claude Code cannot read it either).")
        self.module.no_log_values.update(cs.secret_values(parsed.data))

        marketplace, plugin = self.names(parsed.data)
        try:
            if present:
                change = cp.declare_plugin(parsed.data, marketplace, plugin, self.source, self.settings_path)
            elif marketplace:
                change = cp.forget_marketplace(parsed.data, marketplace)
            else:
                change = cp.SettingsChange(parsed.data)
        except cs.SettingsError as exc:
            self.fail(exc.message)

        new_raw: t.Optional[bytes] = None
        file_deleted = False
        if change.data != parsed.data or (present and raw is None):
            if not present and not change.data:
                new_raw, file_deleted = cs.emptied_file(self.settings_path, parsed)
            else:
                new_raw = cs.render_settings(change.data, parsed.indent, parsed.bom)

        registry = cp.registry_path(self.config_directory)
        registry_raw = self.read(registry)
        new_registry_raw, removed_legacy = cp.remove_legacy_entries(registry_raw, params["legacy_entries"])

        purged_plugins: t.List[str] = []
        purged_marketplaces: t.List[str] = []
        would_purge = False
        if not present and marketplace and params["purge_cache"]:
            if self.module.check_mode:
                purged_plugins, purged_marketplaces = self.purge(marketplace)
            else:
                # Decided now, carried out once the settings no longer declare the marketplace.
                would_purge = True

        result: t.Dict[str, t.Any] = {
            "changed": new_raw is not None or new_registry_raw is not None,
            "plugin_id": cp.plugin_id(plugin, marketplace) if marketplace and plugin else None,
            "marketplace": marketplace,
            "plugin": plugin,
            "source": self.source,
            "settings_path": self.settings_path,
            "set_keys": change.set_keys,
            "removed_keys": change.removed_keys,
            "removed_legacy": removed_legacy,
            "file_deleted": file_deleted,
            "purged_plugins": purged_plugins,
            "purged_marketplaces": purged_marketplaces,
            "backup_file": None,
        }
        if self.module._diff:  # pylint: disable=protected-access
            diffs = []
            if new_raw is not None:
                diffs.append({
                    "before": cs.decode_for_display(raw),
                    "after": "" if file_deleted else cs.decode_for_display(new_raw),
                    "before_header": self.settings_path if raw is not None else "%s (absent)" % self.settings_path,
                    "after_header": "%s (deleted)" % self.settings_path if file_deleted else self.settings_path,
                })
            if new_registry_raw is not None:
                diffs.append({
                    "before": cs.decode_for_display(registry_raw),
                    "after": cs.decode_for_display(new_registry_raw),
                    "before_header": registry,
                    "after_header": registry if new_registry_raw else "%s (deleted)" % registry,
                })
            if diffs:
                result["diff"] = diffs if len(diffs) > 1 else diffs[0]
        if self.module.check_mode:
            result["changed"] = result["changed"] or bool(purged_plugins or purged_marketplaces)
            return self.finish(result)

        try:
            if new_raw is not None:
                if raw is not None and params["backup"]:
                    result["backup_file"] = self.module.backup_local(self.settings_path)
                    # The copy may hold a legacy token: as private as the settings file.
                    os.chmod(result["backup_file"], cs.SETTINGS_MODE)
                if file_deleted:
                    remove_file(self.settings_path)
                else:
                    directory = os.path.dirname(write_target(self.settings_path))
                    if not os.path.isdir(directory):
                        ensure_directory(directory, cs.DIRECTORY_MODE)
                    atomic_write(self.module, self.settings_path, new_raw, cs.SETTINGS_MODE)
        except OSError as exc:
            self.fail("Cannot write %s: %s" % (self.settings_path, to_native(exc)), backup_file=result["backup_file"])
        try:
            if new_registry_raw == b"":
                remove_file(registry)
            elif new_registry_raw is not None:
                atomic_write(self.module, registry, new_registry_raw, mode_of(registry) or _REGISTRY_MODE)
        except OSError as exc:
            self.fail("Cannot write %s: %s" % (registry, to_native(exc)))
        if would_purge:
            result["purged_plugins"], result["purged_marketplaces"] = self.purge(marketplace)
            result["changed"] = result["changed"] or bool(result["purged_plugins"] or result["purged_marketplaces"])
        return self.finish(result)

    def finish(self, result: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        for warning in self.warnings:
            self.module.warn(warning)
        return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            source=dict(type="path"),
            settings_path=dict(type="path", default=cs.DEFAULT_SETTINGS_PATH),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            marketplace=dict(type="str"),
            plugin=dict(type="str"),
            legacy_entries=dict(type="list", elements="str", default=list(cp.DEFAULT_LEGACY_ENTRIES)),
            purge_cache=dict(type="bool", default=True),
            claude_command=dict(type="path"),
            backup=dict(type="bool", default=False),
        ),
        required_if=[
            ("state", "present", ("source",)),
            ("state", "absent", ("source", "marketplace"), True),
        ],
        supports_check_mode=True,
    )
    module.exit_json(**ClaudePlugin(module).run())


if __name__ == "__main__":
    main()
