#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: gemini_settings
short_description: Make Gemini CLI use its API-key auth in the user's settings, reversibly
version_added: 0.3.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Sets C(security.auth.selectedType) to V(gemini-api-key) in Gemini CLI's user settings file, or takes it back.
    That is the one setting FMAPI owns there. Without it, the base URL the launcher exports makes Gemini CLI
    (0.44.0 and newer) choose its C(gateway) auth type, which C(gemini -p) refuses (C(Invalid auth method
    selected)), and the token is not sent as a bearer token.
  - The workspace URL, the token and the model are not settings. The launcher (M(fmapi.coding_agents.gemini_launcher))
    exports them each time C(gemini) starts, so the model lives in one place, the launcher's C(GEMINI_MODEL).
    It beats C(model.name) of any settings file, and C(gemini -m <endpoint>) beats it for one session.
    C(model.name) stays the user's own key, the one Gemini CLI's C(/model) command writes.
  - Every other setting stays as it is, nested ones too, in its order, also the other keys under C(security)
    and C(security.auth). Whether anything changes is decided on the parsed JSON data. A file whose data would
    not change is not touched at all.
  - When the data changes, the file is written with the indentation it had, non-ASCII characters as they are, a
    UTF-8 byte order mark kept when it had one, and a final newline only when it had one (Gemini CLI writes its
    file without). A file in that style, like the ones Gemini CLI writes, comes back byte for byte after
    O(state=present) followed by O(state=absent).
  - The value the user had before (for example V(oauth-personal)) is remembered in a sidecar file beside the
    settings, C(.settings.json.fmapi-state.json), with mode V(0600). It holds that value and whether the
    C(security) and C(security.auth) objects were created, nothing secret. A V(gemini-api-key) the file already
    had is never recorded, so O(state=absent) never takes it away.
  - Writes are atomic and give the file mode V(0600). A missing folder is created with mode V(0700).
    A symlinked settings file (dotfiles managers) is written through; the link stays.
  - A file that is not valid JSON, not UTF-8, or not a JSON object makes the module fail without changing
    anything, naming the line and column of the error. So does one with comments, which Gemini CLI reads but a
    JSON rewrite would drop. O(repair=true) handles both.
options:
  path:
    description:
      - Gemini CLI's user settings file.
      - By default C($GEMINI_CLI_HOME/.gemini/settings.json) when E(GEMINI_CLI_HOME) is set where the module runs,
        else C(~/.gemini/settings.json), the file Gemini CLI reads.
    type: path
  state:
    description:
      - V(present) sets C(security.auth.selectedType) to V(gemini-api-key), creating the file when missing.
      - V(absent) gives the user's earlier value back in its place. If the file had none, it removes the key, and
        then the C(auth) and C(security) objects when the setup created them and they are empty. A file the setup
        created and that is left as V({}) is deleted (a symlinked one is kept, its target holding V({})); a file
        the user had before stays, even as V({}).
      - With O(state=absent), only a value that is still V(gemini-api-key) and that the sidecar proves the setup
        wrote is touched. A value the user chose since (with C(/auth)) stays. Without the sidecar nothing is
        changed. Running O(state=absent) a second time changes nothing.
    type: str
    choices: [present, absent]
    default: present
  scope:
    description:
      - V(user) writes the user's settings file (O(path) defaults to it), mode V(0600) in a V(0700) folder.
      - V(managed) writes Gemini CLI's system settings (give O(path) as V(/etc/gemini-cli/settings.json), or
        V(/Library/Application Support/GeminiCli/settings.json) on macOS), which beat every user's and project's.
        It also sets C(security.auth.enforcedType) to V(gemini-api-key), so Gemini CLI refuses any other auth
        type, recorded and given back like C(selectedType). The keys are merged, so a customer's own system
        settings stay. A new file gets mode V(0644) in V(0755) folders. Gemini CLI reads the file only while
        neither it nor any folder above it is writable by group or others; run it as root.
    type: str
    choices: [user, managed]
    default: user
    version_added: 0.3.0
  repair:
    description:
      - What to do with a settings file that cannot be rewritten as it is.
      - V(false) fails with a message naming the file and the problem, and changes nothing.
      - V(true) first copies the file to a timestamped backup beside it (returned as RV(backup_file)). Then comes
        the change. A file with comments is written without them, its data kept. A file Gemini CLI cannot read
        either is replaced by one holding only V(gemini-api-key), or deleted with O(state=absent). A
        C(security) or C(security.auth) that is not an object is replaced by one.
    type: bool
    default: false
  backup:
    description:
      - Copy the file to a timestamped backup beside it (mode V(0600)) before changing or deleting it.
    type: bool
    default: false
notes:
  - System settings (C(/etc/gemini-cli/settings.json), C(/Library/Application Support/GeminiCli/settings.json) on
    macOS, or E(GEMINI_CLI_SYSTEM_SETTINGS_PATH)) beat the user's file. So does a trusted project's
    C(.gemini/settings.json). M(fmapi.coding_agents.gemini_info) reports a C(selectedType) or C(enforcedType) there
    that overrides this one.
seealso:
  - module: fmapi.coding_agents.gemini_launcher
  - module: fmapi.coding_agents.gemini_info
  - name: Gemini CLI configuration
    description: The settings files, their precedence and keys.
    link: https://geminicli.com/docs/reference/configuration/
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the JSON text of the settings file before and after.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Make Gemini CLI use the token the launcher exports
  fmapi.coding_agents.gemini_settings:

- name: Move comments aside (backup kept) and set it anyway
  fmapi.coding_agents.gemini_settings:
    repair: true
  register: gemini_settings_result

- name: Give the user's own auth type back
  fmapi.coding_agents.gemini_settings:
    state: absent
"""

RETURN = r"""
path:
  description: The settings file, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.gemini/settings.json
backup_file:
  description: The backup made before the file was changed (O(backup=true)) or repaired (O(repair=true)), or V(null).
  returned: always
  type: str
  sample: /home/dev/.gemini/settings.json.4242.2025-01-01@12:00:00~
selected_type:
  description: C(security.auth.selectedType) after the run, or V(null) when the file has none.
  returned: always
  type: str
  sample: gemini-api-key
previous_selected_type:
  description:
    - The user's own value that the sidecar records (present) or that was given back (absent), or V(null)
      when there was none.
  returned: always
  type: str
  sample: oauth-personal
set_keys:
  description: The owned keys that were set (or would be, in check mode), as dotted names.
  returned: always
  type: list
  elements: str
  sample: [security.auth.selectedType]
removed_keys:
  description: The owned keys that were removed.
  returned: always
  type: list
  elements: str
  sample: []
restored_keys:
  description: The keys whose earlier value the user had was put back.
  returned: always
  type: list
  elements: str
  sample: [security.auth.selectedType]
repaired:
  description:
    - What O(repair=true) replaced - V(comments) when a file was written without its comments, V(file) for an
      unreadable file, or the key (V(security), V(security.auth)) that was not an object.
  returned: always
  type: list
  elements: str
  sample: []
file_deleted:
  description: Whether the settings file was deleted because nothing but V({}) was left in it.
  returned: always
  type: bool
  sample: false
state_file:
  description: The sidecar recording the user's earlier value, when it exists after the run, else V(null).
  returned: always
  type: str
  sample: /home/dev/.gemini/.settings.json.fmapi-state.json
removed_folders:
  description:
    - With O(scope=managed) and O(state=absent), the folders made for the managed file that were removed with it
      because nothing else was left in them.
  returned: when a managed file was removed
  type: list
  elements: str
  sample: [/etc/claude-code/managed-settings.d, /etc/claude-code]
"""

import os
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _gemini as gm
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    BackupError,
    expand,
    mode_of,
    private_backup,
    read_bytes,
    remove_empty_folders,
    replace_or_remove,
    write_target,
)


def _repair_hint(error: cs.SettingsError, state: str) -> str:
    if error.kind == "comments":
        return (". Nothing was changed. Remove the comments, or run again with repair=true to copy the file to a "
                "timestamped backup beside it and write it without them.")
    outcome = "write a new file holding only the setting" if state == "present" else "delete it"
    return (". Nothing was changed. Fix the file by hand (Gemini CLI cannot read it either), or run again with "
            "repair=true to copy it to a timestamped backup beside it and %s." % outcome)


class GeminiSettings:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self.path = expand(self.params["path"]) if self.params["path"] else gm.settings_path(os.environ)
        self.state_path = cs.state_file_path(self.path)

    def read(self, path: str) -> t.Optional[bytes]:
        try:
            return read_bytes(path)
        except OSError as exc:
            raise cs.SettingsError("unreadable", "Cannot read %s: %s" % (path, to_native(exc.strerror or exc))) from exc

    def parse(self, raw: t.Optional[bytes]) -> t.Tuple[gm.ParsedGeminiSettings, t.Optional[cs.SettingsError]]:
        """The file as read, and the problem a rewrite must repair (comments, or an unreadable file)."""
        try:
            return gm.parse_settings(raw, self.path), None
        except gm.CommentedSettings as exc:
            # Readable: whether it must be rewritten (and so repaired) depends on the change.
            return exc.parsed, exc
        except cs.SettingsError as exc:
            if not self.params["repair"]:
                raise cs.SettingsError(exc.kind, exc.message + _repair_hint(exc, self.params["state"])) from exc
            text = cs.decode_for_display(raw)
            empty = cs.ParsedSettings({}, text, cs.detect_indent(text), bool(raw and raw.startswith(cs.UTF8_BOM)))
            return gm.ParsedGeminiSettings(empty, bool(raw and raw.endswith(b"\n"))), exc

    def run(self) -> t.Dict[str, t.Any]:
        present = self.params["state"] == "present"
        if os.path.isdir(self.path):
            raise cs.SettingsError("is_directory", "%s is a directory; path must name the settings file, e.g. "
                                   "%s/settings.json" % (self.path, self.path))
        raw = self.read(self.path)
        record = cs.parse_state(self.read(self.state_path))
        if not present and not gm.records_something(record):
            # Nothing of ours is recorded: the file is the user's alone, whatever it holds.
            parsed, problem = gm.ParsedGeminiSettings(cs.ParsedSettings({}, "", cs.DEFAULT_INDENT, False), True), None
            merged = gm.MergeResult({}, None)
        else:
            parsed, problem = self.parse(raw)
            if present:
                merged = gm.merge_present(parsed.data, record, self.params["repair"], self.path,
                                          enforce=self.params["scope"] == managed.SCOPE_MANAGED)
            else:
                merged = gm.merge_absent(parsed.data, record, self.path)
        if present and merged.record and (raw is None or (record or {}).get(gm.CREATED_FILE_KEY)):
            # A file the setup created goes again with state=absent; one the user had stays, even as {}.
            merged.record[gm.CREATED_FILE_KEY] = True
        unreadable = problem is not None and not isinstance(problem, gm.CommentedSettings)
        if unreadable and not present:
            merged.data = {}
        if problem is not None and (unreadable or merged.data != parsed.data):
            if not self.params["repair"]:
                raise cs.SettingsError(problem.kind, problem.message + _repair_hint(problem, self.params["state"]))
            merged.repaired.insert(0, "file" if unreadable else "comments")
        for note in merged.notes:
            self.module.warn(note)

        # What the file becomes: None = left alone; otherwise new bytes, or deleted.
        new_raw: t.Optional[bytes] = None
        file_deleted = False
        if raw is None:
            if present:
                new_raw = gm.render_settings(merged.data, parsed)
        elif not unreadable and merged.data == parsed.data:
            pass
        elif not present and not merged.data and (unreadable or (record or {}).get(gm.CREATED_FILE_KEY)):
            new_raw, file_deleted = cs.emptied_file(self.path, parsed)
            if not file_deleted:
                new_raw = gm.render_settings({}, parsed)
        else:
            new_raw = gm.render_settings(merged.data, parsed)
        file_changed = new_raw is not None

        if present and merged.record:
            new_state_raw: t.Optional[bytes] = cs.render_state(merged.record)
            state_changed = cs.parse_state(new_state_raw) != record
        else:
            new_state_raw = None
            state_changed = os.path.lexists(self.state_path)

        entry = (merged.record or record or {}).get(gm.RECORD_KEY) or {}
        result: t.Dict[str, t.Any] = {
            "changed": file_changed or state_changed,
            "path": self.path,
            "backup_file": None,
            "selected_type": gm.selected_type(merged.data)[1],
            "previous_selected_type": entry.get("previous") if (present or merged.restored_keys) else None,
            "set_keys": merged.set_keys,
            "removed_keys": merged.removed_keys,
            "restored_keys": merged.restored_keys,
            "repaired": merged.repaired,
            "file_deleted": file_deleted,
            "state_file": self.state_path if new_state_raw is not None else None,
        }
        if self.module._diff and file_changed:  # pylint: disable=protected-access
            result["diff"] = {
                "before": cs.decode_for_display(raw),
                "after": cs.decode_for_display(new_raw) if not file_deleted else "",
                "before_header": self.path if raw is not None else "%s (absent)" % self.path,
                "after_header": self.path if not file_deleted else "%s (deleted)" % self.path,
            }
        if self.module.check_mode:
            return result

        try:
            if file_changed:
                if raw is not None and (self.params["backup"] or merged.repaired):
                    result["backup_file"] = private_backup(self.module, self.path, cs.SETTINGS_MODE)
                file_mode, directory_mode = managed.modes(self.params["scope"], cs.SETTINGS_MODE, cs.DIRECTORY_MODE)
                if self.params["scope"] == managed.SCOPE_MANAGED:
                    # A customer's system settings keep their mode; ours are readable by every user.
                    file_mode = mode_of(write_target(self.path)) or file_mode
                replace_or_remove(self.module, self.path, None if file_deleted else new_raw, file_mode, directory_mode)
            if state_changed:
                replace_or_remove(self.module, self.state_path, new_state_raw,
                                  managed.state_mode(self.params["scope"], cs.SETTINGS_MODE), cs.DIRECTORY_MODE)
            if file_deleted and self.params["scope"] == managed.SCOPE_MANAGED:
                result["removed_folders"] = remove_empty_folders(os.path.dirname(self.path), managed.FOLDER_LEVELS["gemini"])
        except BackupError as exc:
            raise cs.SettingsError("backup_failed", to_native(exc)) from exc
        except OSError as exc:
            self.module.fail_json(msg="Cannot write %s: %s" % (exc.filename or self.path, to_native(exc.strerror or exc)),
                                  path=self.path, backup_file=result["backup_file"])
        return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            scope=dict(type="str", choices=list(managed.SCOPES), default=managed.SCOPE_USER),
            repair=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    settings = GeminiSettings(module)
    try:
        module.exit_json(**settings.run())
    except cs.SettingsError as exc:
        module.fail_json(msg=exc.message, path=settings.path)


if __name__ == "__main__":
    main()
