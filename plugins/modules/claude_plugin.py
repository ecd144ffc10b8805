#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: claude_plugin
short_description: Install a Claude Code plugin marketplace folder as one unit, or remove it and Claude Code's cache of it
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Installs the files of a local Claude Code plugin marketplace (a C(.claude-plugin/marketplace.json) and the
    plugin folders it lists) into O(dest) as one unit. The files come from O(src), a folder on the controller (a
    role's C(files/) folder, like M(ansible.builtin.copy)'s O(src)), read by the module's action plugin.
  - One module run whatever the number of files. The folder is replaced only when its content differs from O(src)
    (a file added, changed or gone, or a mode other than V(0644)/V(0755)). It is then built beside O(dest) and
    swapped in with renames, so Claude Code never sees half a plugin.
  - The marketplace manifest is validated before anything is written; RV(marketplace) and RV(plugin) are the names
    to declare with M(fmapi.coding_agents.claude_settings) (its O(fmapi.coding_agents.claude_settings#module:plugin)
    option).
  - Older FMAPI setup scripts wrote a flat, non-standard top-level entry C(fmapi-codingagent) (an object with
    C(scope) and C(installPath)) into C(plugins/installed_plugins.json). When it is the only content, Claude Code
    discards the whole registry and cannot record any plugin in it. In both states the module removes such
    entries (see O(legacy_entries)), and only them. A registry left empty by that is deleted.
  - With O(state=absent) the folder goes (and its parent, when nothing else is left in it), and with
    O(purge_cache) Claude Code forgets the plugin and the marketplace it cached (C(claude plugin uninstall),
    C(claude plugin marketplace remove)). Run it after the settings no longer declare the marketplace.
options:
  files:
    description:
      - The files of O(src), relative path to base64 content. The action plugin fills it from O(src); do not set it.
    type: dict
  src:
    description:
      - The marketplace folder on the controller, relative to a role's C(files/) folder or absolute.
      - Required with O(state=present).
    type: path
  dest:
    description: The marketplace folder on the laptop.
    type: path
    default: ~/.claude/fmapi-coding-agents/marketplace
  state:
    description: V(present) installs the folder; V(absent) removes it (see above).
    type: str
    choices: [present, absent]
    default: present
  config_dir:
    description: Claude Code's configuration directory, whose C(plugins/) cache the module inspects.
    type: path
    default: ~/.claude
  marketplace:
    description:
      - With O(state=absent), the marketplace to purge from Claude Code's cache when O(dest) no longer holds its
        manifest. By default the name in O(dest)'s manifest.
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
      - With O(state=absent), make Claude Code forget the plugin and the marketplace when its cache still records
        them. Runs only when the cache records something, and not in check mode. When the C(claude) command cannot
        be found the module warns and leaves the cache.
    type: bool
    default: true
  claude_command:
    description:
      - The Claude Code command used by O(purge_cache). By default C(claude) on E(PATH), in V(~/.local/bin) or
        in V(~/.claude/local).
    type: path
seealso:
  - module: fmapi.coding_agents.claude_settings
  - name: Claude Code plugins
    description: Plugins, marketplaces and the settings that declare them.
    link: https://code.claude.com/docs/en/plugins
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  action:
    support: full
    description: Has an action plugin that runs on the controller.
    details:
      - The action plugin reads O(src) on the controller and hands the files to the module.
  check_mode:
    support: full
    details:
      - Claude Code is not run in check mode; what O(purge_cache) would do is read from its cache files.
  diff_mode:
    support: partial
    details:
      - The diff lists the files added, changed and removed, and shows the registry when a legacy entry goes.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Install the collection's plugin from the role's files
  fmapi.coding_agents.claude_plugin:
    src: marketplace
  register: plugin

- name: Declare and enable it in the user settings
  fmapi.coding_agents.claude_settings:
    fmapi_keys: false
    plugin:
      source: "{{ plugin.dest }}"
      marketplace: "{{ plugin.marketplace }}"
      plugin: "{{ plugin.plugin }}"

- name: Remove it again (after the settings no longer declare it)
  fmapi.coding_agents.claude_plugin:
    state: absent
"""

RETURN = r"""
dest:
  description: The marketplace folder, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.claude/fmapi-coding-agents/marketplace
marketplace:
  description: The marketplace's name, from its manifest; V(null) when unknown.
  returned: always
  type: str
  sample: fmapi-coding-agents
plugin:
  description: The plugin's name (the only one the marketplace lists); V(null) when unknown.
  returned: always
  type: str
  sample: fmapi-coding-agents
files:
  description: The files of the folder after the run, relative to RV(dest).
  returned: always
  type: list
  elements: str
  sample: [.claude-plugin/marketplace.json, plugins/fmapi-coding-agents/.claude-plugin/plugin.json]
updated:
  description: Files added, changed or removed by the run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
removed_legacy:
  description: The flat legacy entries removed from C(plugins/installed_plugins.json).
  returned: always
  type: list
  elements: str
  sample: [fmapi-codingagent]
purged_plugins:
  description: Plugin ids Claude Code's cache was made to forget; in check mode, those it would.
  returned: always
  type: list
  elements: str
purged_marketplaces:
  description: Marketplaces Claude Code's cache was made to forget; in check mode, those it would.
  returned: always
  type: list
  elements: str
"""

import base64
import os
import shutil
import stat
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_plugin as cp
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    atomic_write,
    expand,
    mode_of,
    read_bytes,
    remove_file,
)

FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
_REGISTRY_MODE = 0o644
_DEFAULT_CONFIG_DIRECTORY = "~/.claude"


def read_tree(root: str) -> t.Tuple[t.Dict[str, bytes], bool]:
    """``({relative path: bytes}, modes_ok)`` of the regular files below ``root`` (empty when it is missing)."""
    found = {}  # type: t.Dict[str, bytes]
    modes_ok = True
    if not os.path.isdir(root) or os.path.islink(root):
        return found, os.path.lexists(root) is False
    for directory, subdirectories, names in os.walk(root):
        subdirectories.sort()
        if stat.S_IMODE(os.stat(directory).st_mode) != DIRECTORY_MODE:
            modes_ok = False
        for name in sorted(names):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            if os.path.islink(path) or not os.path.isfile(path):
                found[relative] = b"\0not a regular file"
                continue
            with open(path, "rb") as handle:
                found[relative] = handle.read()
            if stat.S_IMODE(os.stat(path).st_mode) != FILE_MODE:
                modes_ok = False
    return found, modes_ok


def write_tree(root: str, files: t.Dict[str, bytes]) -> None:
    """Write ``files`` below a new directory ``root``."""
    os.mkdir(root, DIRECTORY_MODE)
    os.chmod(root, DIRECTORY_MODE)
    for relative in sorted(files):
        path = os.path.join(root, relative)
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, DIRECTORY_MODE)
        with open(path, "wb") as handle:
            handle.write(files[relative])
        os.chmod(path, FILE_MODE)
    for directory, _subdirectories, _names in os.walk(root):
        os.chmod(directory, DIRECTORY_MODE)


def checked_files(files: t.Dict[str, t.Any]) -> t.Dict[str, bytes]:
    """The files to install, as bytes, with safe relative paths only."""
    checked = {}
    for relative, content in files.items():
        normal = os.path.normpath(str(relative))
        if os.path.isabs(normal) or normal.startswith("..") or normal in (".", ""):
            raise cp.PluginError("%r is not a path inside the marketplace folder" % relative)
        try:
            checked[normal] = base64.b64decode(str(content), validate=True)
        except ValueError:
            raise cp.PluginError("the content of %r is not base64" % relative) from None
    return checked


class ClaudePlugin:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self.dest = expand(self.params["dest"])
        self.config_directory = expand(self.params["config_dir"])
        self.warnings = []  # type: t.List[str]
        self.result = dict(changed=False, dest=self.dest, marketplace=None, plugin=None, files=[], updated=[],
                           removed_legacy=[], purged_plugins=[], purged_marketplaces=[])  # type: t.Dict[str, t.Any]

    def fail(self, msg: str) -> None:
        self.module.fail_json(msg=msg, **self.result)

    def read(self, path: str) -> t.Optional[bytes]:
        try:
            return read_bytes(path)
        except OSError as exc:
            self.fail("Cannot read %s: %s" % (path, to_native(exc.strerror or exc)))
        raise AssertionError("unreachable")  # pragma: no cover

    # --------------------------------------------------------------------------------- present

    def install(self) -> None:
        try:
            wanted = checked_files(self.params["files"] or {})
        except cp.PluginError as exc:
            self.fail(to_native(exc))
        if not wanted:
            self.fail("src holds no files: give the marketplace folder (with .claude-plugin/marketplace.json)")
        staging = tempfile.mkdtemp(prefix=".fmapi-plugin-", dir=self.module.tmpdir)
        try:
            write_tree(os.path.join(staging, "check"), wanted)
            marketplace = cp.read_marketplace(os.path.join(staging, "check"))
            self.result["marketplace"], self.result["plugin"] = cp.resolve_names(marketplace, None, None)
        except cp.PluginError as exc:
            # Said of src, not of the scratch copy it was checked in.
            self.fail("src is not a usable plugin marketplace: %s"
                      % to_native(exc).replace(os.path.join(staging, "check"), "src"))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        try:
            current, modes_ok = read_tree(self.dest)
        except OSError as exc:
            self.fail("Cannot read %s: %s" % (self.dest, to_native(exc.strerror or exc)))
        self.result["files"] = sorted(wanted)
        updated = sorted(name for name in set(current) | set(wanted) if current.get(name) != wanted.get(name))
        self.result["updated"] = updated
        if not updated and modes_ok and os.path.isdir(self.dest):
            return
        self.result["changed"] = True
        if self.module._diff:  # pylint: disable=protected-access
            self.result["diff"] = dict(before_header=self.dest, after_header=self.dest,
                                       before="".join(name + "\n" for name in sorted(current)),
                                       after="".join(name + "\n" for name in sorted(wanted)))
        if self.module.check_mode:
            return
        parent = os.path.dirname(self.dest)
        try:
            if not os.path.isdir(parent):
                os.makedirs(parent, DIRECTORY_MODE)
            new = tempfile.mkdtemp(prefix="." + os.path.basename(self.dest) + ".new-", dir=parent)
            os.rmdir(new)
            write_tree(new, wanted)
            old = None
            if os.path.lexists(self.dest):
                old = tempfile.mkdtemp(prefix="." + os.path.basename(self.dest) + ".old-", dir=parent)
                os.rmdir(old)
                os.rename(self.dest, old)
            os.rename(new, self.dest)
            if old:
                if os.path.isdir(old) and not os.path.islink(old):
                    shutil.rmtree(old)
                else:
                    os.unlink(old)
        except OSError as exc:
            self.fail("Cannot install the plugin into %s: %s" % (self.dest, to_native(exc.strerror or exc)))

    # ---------------------------------------------------------------------------------- absent

    def claude_command(self) -> t.Optional[str]:
        if self.params["claude_command"]:
            command = expand(self.params["claude_command"])
            return command if os.access(command, os.X_OK) else None
        return next((path for path, _on_path in ws.cli_candidates(os.environ, "claude", cs.CLAUDE_SEARCH_DIRS)
                     if ws.is_executable_file(path)), None)

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

    def purge(self, marketplace: str) -> None:
        """Have Claude Code forget what its cache still records of the marketplace."""
        registry_raw = self.read(cp.registry_path(self.config_directory))
        known_raw = self.read(cp.known_marketplaces_path(self.config_directory))
        identifiers, marketplace_recorded = cp.registry_records(registry_raw, known_raw, marketplace)
        marketplaces = [marketplace] if marketplace_recorded else []
        if not identifiers and not marketplaces:
            return
        self.result["changed"] = True
        if self.module.check_mode:
            self.result.update(purged_plugins=identifiers, purged_marketplaces=marketplaces)
            return
        command = self.claude_command()
        if command is None:
            self.warnings.append(
                "Claude Code's cache in %s still records %s, but the claude command was not found (set "
                "claude_command); Claude Code keeps it there, disabled, until `claude plugin uninstall` runs"
                % (self.config_directory, ", ".join(identifiers + marketplaces)))
            return
        self.result["purged_plugins"] = [
            identifier for identifier in identifiers
            if self.run_claude(command, ["plugin", "uninstall", "--json", "--scope", "user", identifier])]
        self.result["purged_marketplaces"] = [
            name for name in marketplaces if self.run_claude(command, ["plugin", "marketplace", "remove", "--json", name])]

    def remove(self) -> None:
        marketplace = self.params["marketplace"]
        if os.path.isfile(cp.manifest_path(self.dest)):
            try:
                manifest = cp.read_marketplace(self.dest)
                marketplace = marketplace or manifest.name
                self.result["plugin"] = manifest.plugins[0] if len(manifest.plugins) == 1 else None
            except cp.PluginError as exc:
                self.warnings.append("%s; removing the folder anyway" % to_native(exc))
        self.result["marketplace"] = marketplace
        if os.path.lexists(self.dest):
            self.result["changed"] = True
            self.result["updated"] = sorted(read_tree(self.dest)[0]) if os.path.isdir(self.dest) else [self.dest]
            if not self.module.check_mode:
                try:
                    if os.path.isdir(self.dest) and not os.path.islink(self.dest):
                        shutil.rmtree(self.dest)
                    else:
                        os.unlink(self.dest)
                    parent = os.path.dirname(self.dest)
                    if os.path.isdir(parent) and not os.listdir(parent):
                        os.rmdir(parent)
                except OSError as exc:
                    self.fail("Cannot remove %s: %s" % (self.dest, to_native(exc.strerror or exc)))
        if marketplace and self.params["purge_cache"]:
            self.purge(marketplace)

    # ------------------------------------------------------------------------------------- both

    def legacy(self) -> None:
        registry = cp.registry_path(self.config_directory)
        registry_raw = self.read(registry)
        new_registry_raw, removed = cp.remove_legacy_entries(registry_raw, self.params["legacy_entries"])
        if not removed:
            return
        self.result["changed"] = True
        self.result["removed_legacy"] = removed
        if self.module.check_mode:
            return
        try:
            if new_registry_raw == b"":
                remove_file(registry)
            elif new_registry_raw is not None:
                atomic_write(self.module, registry, new_registry_raw, mode_of(registry) or _REGISTRY_MODE)
        except OSError as exc:
            self.fail("Cannot write %s: %s" % (registry, to_native(exc.strerror or exc)))

    def run(self) -> t.Dict[str, t.Any]:
        if self.params["state"] == "present":
            if self.params["files"] is None:
                self.fail("state=present needs src, the marketplace folder on the controller")
            self.install()
        else:
            self.remove()
        self.legacy()
        for warning in self.warnings:
            self.module.warn(warning)
        if self.params["state"] == "absent":
            self.result["files"] = []
        return self.result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            # Filled by the action plugin from src; not for direct use.
            files=dict(type="dict"),
            src=dict(type="path"),
            dest=dict(type="path", default="~/.claude/fmapi-coding-agents/marketplace"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            config_dir=dict(type="path", default=_DEFAULT_CONFIG_DIRECTORY),
            marketplace=dict(type="str"),
            legacy_entries=dict(type="list", elements="str", default=list(cp.DEFAULT_LEGACY_ENTRIES)),
            purge_cache=dict(type="bool", default=True),
            claude_command=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**ClaudePlugin(module).run())


if __name__ == "__main__":
    main()
