#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: codex_config
short_description: Point Codex CLI at Databricks Foundation Model API in its config.toml
version_added: 0.3.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Configures Codex CLI's user configuration (V(~/.codex/config.toml), or C($CODEX_HOME/config.toml)) so that a
    plain C(codex) talks to the Databricks workspace with a token from the token helper, or removes that again.
  - "The keys this module owns: the top-level C(model) and C(model_provider = \"databricks\"), the table
    C([model_providers.databricks]) (C(name), C(base_url), C(wire_api = \"responses\"), C(http_headers) when given)
    and its sub-table C([model_providers.databricks.auth]) (C(command), C(args = []), C(timeout_ms),
    C(refresh_interval_ms)): Codex runs the token helper and sends what it prints as the bearer token, again
    every O(refresh_interval_ms) and after an HTTP 401."
  - C(env_key), C(experimental_bearer_token) and C(requires_openai_auth) are removed from that table, because
    Codex refuses to load a provider that has one of them beside C(auth). A removed
    C(experimental_bearer_token) (a token in plain text) is neither recorded nor put back.
  - The file is edited in place, format preserving (with the tomlkit library). Everything else stays byte for
    byte - comments, blank lines, key order, other providers, profiles and tables. A value of ours replaces the
    old one where it stands, keeping its line's comment. New top-level keys go right after the last top-level key
    of the file, before the first table, because TOML reads a key after a table header as part of that table.
    The provider tables go after the file's other C([model_providers.*]) tables, else at the end. A file whose
    data would not change is not touched.
  - "What O(state=absent) needs to give the file back is recorded in a sidecar beside it,
    C(.config.toml.fmapi-state.json) (mode V(0600), no secret in it): the user's own values of C(model),
    C(model_provider) (and of the keys of a C([model_providers.databricks]) table the user had before), whether
    the file and the tables existed, and the line breaks added around ours. O(state=absent) then gives back the
    user's file byte for byte, as long as nobody changed our lines since."
  - Every edit is checked by parsing the result again (with tomlkit and, on Python 3.11 or later, the standard
    library's strict reader). When its data would not be exactly the data intended, for example because the file
    writes C(model_providers) as an inline table, nothing is written and the module fails saying what to change.
  - Writes are atomic. An existing file keeps its mode; a new one gets V(0600), and a missing Codex folder is
    created with V(0700). A symlinked config.toml (dotfiles managers) is written through; the link stays.
  - A file that is not UTF-8 or not valid TOML makes the module fail without changing anything, naming the line
    and column of the error, unless O(repair=true).
  - "Legacy profile settings are reported as warnings, never changed: a top-level C(profile = \"...\") (Codex
    0.134 and later refuse to start with it) and C([profiles.*]) tables (ignored by Codex 0.134 and later,
    fatal with C(codex --profile)). They are the user's (or another tool's): this module never wrote them, so it
    has no record that they are its own."
options:
  path:
    description:
      - Codex's configuration file.
      - By default C(config.toml) in E(CODEX_HOME) when it is set, else V(~/.codex/config.toml).
    type: path
  state:
    description:
      - V(present) configures the Databricks provider and selects it, creating the file when missing.
      - V(absent) removes what this module wrote and puts back the values it replaced, as the sidecar records
        them, then deletes the sidecar. A file that held nothing but ours is deleted (a symlinked one is left
        empty). Without a sidecar, the provider table, C(model_provider = "databricks") and the C(model) next to it
        are removed.
    type: str
    choices: [present, absent]
    default: present
  host:
    description:
      - The Databricks workspace URL, for example V(https://my-workspace.cloud.databricks.com). Must start with
        V(https://); a URL copied from the browser is reduced to the workspace URL.
      - With O(endpoint_style), gives the provider's C(base_url). One of O(host) and O(base_url) is required with
        O(state=present).
    type: str
  endpoint_style:
    description:
      - Which route of the workspace Codex talks to.
      - V(serving-endpoints) gives C(<host>/serving-endpoints/codex/v1), V(ai-gateway) C(<host>/ai-gateway/codex/v1)
        (Codex appends C(/responses) and C(/models)).
    type: str
    choices: [serving-endpoints, ai-gateway]
    default: serving-endpoints
  base_url:
    description:
      - The provider's C(base_url) itself, for a route of its own. When given, it wins over O(host) and
        O(endpoint_style).
      - C(https://) with a host name, an optional port and a path; no query, fragment or credentials.
    type: str
  model:
    description:
      - The serving endpoint Codex uses (the top-level C(model)).
    type: str
    default: databricks-gpt-5-5
  auth_command:
    description:
      - The absolute path of the token helper (M(fmapi.coding_agents.token_helper)), which prints a fresh Databricks
        access token. Written as C(auth.command) with C(args = []). Required with O(state=present).
    type: path
  auth_timeout_ms:
    description:
      - How long Codex waits for the token helper, in milliseconds (C(auth.timeout_ms)).
      - The default leaves the helper time to finish a browser login (its
        O(fmapi.coding_agents.token_helper#module:login_timeout) is 120 s by default) and refresh the token; a
        shorter time would make Codex kill the login it needs.
    type: int
    default: 150000
  refresh_interval_ms:
    description:
      - How often Codex runs the token helper again while it runs, in milliseconds (C(auth.refresh_interval_ms)).
        V(0) runs it only after an HTTP 401.
      - The default, Codex's own, is shorter than the shortest time a token of the helper lives (its TTL, at least
        one minute, plus five minutes), so Codex never holds a token about to expire; the helper answers from the
        Databricks CLI's token cache, which costs well under a second.
    type: int
    default: 300000
  http_headers:
    description:
      - Static headers Codex adds to every request to the workspace (C(http_headers)); none by default.
      - Names are letters, digits and V(-); values single lines. C(Authorization), C(Proxy-Authorization),
        C(Cookie) and token-shaped values are refused, because the token comes from the helper and config.toml
        is no place for credentials.
      - An empty mapping removes headers this module set earlier.
    type: dict
    default: {}
  scope:
    description:
      - V(user) writes the user's C(config.toml) (mode V(0600) in a V(0700) folder when it creates them).
      - V(managed) writes Codex's managed configuration, O(path) V(/etc/codex/managed_config.toml), which beats the
        user's C(config.toml) and C(-c) overrides. The keys are merged like in the user's file, so a customer's own
        keys and tables stay; a new file gets mode V(0644) in a V(0755) folder, so that every user's Codex can read
        it, and an existing file keeps its mode. Run it as root.
    type: str
    choices: [user, managed]
    default: user
    version_added: 0.3.0
  repair:
    description:
      - What to do with a config.toml Codex cannot read either (not UTF-8, not valid TOML) or whose
        C(model_providers), C(model_providers.databricks) or C(model_providers.databricks.auth) is not a table.
      - V(false) fails with a message naming the file, the line and column and the fix, and changes nothing.
      - V(true) first copies the file to a timestamped backup beside it (RV(backup_file), mode V(0600)). An
        unreadable file is then replaced by one holding only the Databricks configuration (with O(state=absent) it
        is deleted); a key of the wrong type is replaced by the table Codex expects.
    type: bool
    default: false
  backup:
    description:
      - Copy the file to a timestamped backup beside it (mode V(0600)) before changing or deleting it.
    type: bool
    default: false
requirements:
  - tomlkit
notes:
  - Codex layers other files over this one. A profile file C(~/.codex/<name>.config.toml) (C(codex --profile name)),
    C(-c key=value) options and the system's C(/etc/codex/managed_config.toml) win over it; C(/etc/codex/config.toml)
    loses to it.
  - The module does not check that O(auth_command) exists (the helper may be written later in the same play); use
    M(fmapi.coding_agents.codex_info) for that.
seealso:
  - module: fmapi.coding_agents.codex_info
  - module: fmapi.coding_agents.token_helper
  - name: Codex configuration
    description: config.toml, model providers and their command-backed auth.
    link: https://developers.openai.com/codex/config-advanced
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the text of config.toml before and after, with credential-looking values masked.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Point Codex at the workspace, its token coming from the token helper
  fmapi.coding_agents.codex_config:
    host: https://my-workspace.cloud.databricks.com
    auth_command: "{{ ansible_facts['user_dir'] }}/.local/share/fmapi-coding-agents/fmapi-token-helper"

- name: Use the AI Gateway route and another model
  fmapi.coding_agents.codex_config:
    host: https://my-workspace.cloud.databricks.com
    endpoint_style: ai-gateway
    model: databricks-gpt-5-mini
    auth_command: /home/dev/.local/share/fmapi-coding-agents/fmapi-token-helper

- name: A route of its own, with a header for the gateway's logs
  fmapi.coding_agents.codex_config:
    base_url: https://my-workspace.cloud.databricks.com/ai-gateway/codex/v1
    auth_command: /home/dev/.local/share/fmapi-coding-agents/fmapi-token-helper
    http_headers:
      X-Team: platform

- name: Remove it again (the user's own model and provider come back)
  fmapi.coding_agents.codex_config:
    state: absent
"""

RETURN = r"""
path:
  description: The configuration file, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.codex/config.toml
state_file:
  description: The sidecar recording what to give back, when it exists after the run; else V(null).
  returned: always
  type: str
  sample: /home/dev/.codex/.config.toml.fmapi-state.json
backup_file:
  description: The backup made before the file was changed (O(backup=true)) or repaired (O(repair=true)), or V(null).
  returned: always
  type: str
  sample: /home/dev/.codex/config.toml.4242.2025-01-01@12:00:00~
set_keys:
  description: The owned keys whose value was added or changed, as dotted names (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [model, model_provider, model_providers.databricks.base_url]
removed_keys:
  description:
    - The keys and tables removed, as dotted names (V(model_providers.databricks) for the whole table), also the
      refused keys taken out of the provider table.
  returned: always
  type: list
  elements: str
  sample: [model_providers.databricks.env_key]
restored_keys:
  description: The keys whose value before the setup was put back (O(state=absent)).
  returned: always
  type: list
  elements: str
  sample: [model]
repaired:
  description: What O(repair=true) replaced - V(file), or the dotted name of a key of the wrong type; empty when nothing.
  returned: always
  type: list
  elements: str
  sample: [file]
file_deleted:
  description: Whether the file was deleted because nothing but ours was in it.
  returned: always
  type: bool
  sample: false
config:
  description: The Databricks part of the configuration after the run (V({}) after O(state=absent)). Holds no secret.
  returned: always
  type: dict
  sample:
    model: databricks-gpt-5-5
    model_provider: databricks
    model_providers:
      databricks:
        name: Databricks
        base_url: https://my-workspace.cloud.databricks.com/serving-endpoints/codex/v1
        wire_api: responses
        auth:
          command: /home/dev/.local/share/fmapi-coding-agents/fmapi-token-helper
          args: []
          timeout_ms: 150000
          refresh_interval_ms: 300000
legacy_profile:
  description: The value of a top-level C(profile) key (which Codex 0.134 and later refuse), or V(null).
  returned: always
  type: str
  sample: fmapi
profiles:
  description: The names of the file's C([profiles.*]) tables (ignored by Codex 0.134 and later).
  returned: always
  type: list
  elements: str
  sample: [fmapi]
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

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _codex_config as cc
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    BackupError,
    atomic_write,
    ensure_directory,
    expand,
    mode_of,
    private_backup,
    read_bytes,
    remove_empty_folders,
    remove_file,
    write_target,
)


def _repair_hint(state: str) -> str:
    outcome = ("write a new file holding only the Databricks configuration" if state == "present"
               else "delete it (nothing of the Databricks configuration can be found in it)")
    return (" Nothing was changed. Fix the file by hand (Codex cannot load it either; `codex doctor` names the same "
            "place), or run again with repair=true to copy it to a timestamped backup beside it and %s." % outcome)


class CodexConfig:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self.path = expand(self.params["path"] or cc.config_file_path(os.environ))
        self.state_path = cc.state_file_path(self.path)
        self.scope = self.params["scope"]
        self.file_mode, self.directory_mode = managed.modes(self.scope, cc.CONFIG_MODE, cc.DIRECTORY_MODE)

    def desired(self) -> cc.Desired:
        """The validated values of state=present; ConfigError says what to fix."""
        params = self.params
        command = params["auth_command"] or ""
        tokens = ws.token_shaped_values(command)
        if tokens:
            self.module.no_log_values.update(tokens)
        if params["base_url"]:
            base_url = cc.validate_base_url(params["base_url"])
        else:
            base_url = cc.base_url_for(params["host"], params["endpoint_style"])
        try:
            model = ws.validate_model("model", params["model"])
        except ws.ValidationError as exc:
            raise cc.ConfigError("invalid_value", str(exc)) from exc
        return cc.Desired(
            model=model,
            base_url=base_url,
            command=cc.validate_command(command),
            timeout_ms=cc.validate_milliseconds("auth_timeout_ms", params["auth_timeout_ms"], cc.MIN_AUTH_TIMEOUT_MS,
                                                cc.MAX_AUTH_TIMEOUT_MS),
            refresh_interval_ms=cc.validate_milliseconds("refresh_interval_ms", params["refresh_interval_ms"], 0,
                                                         cc.MAX_REFRESH_INTERVAL_MS),
            http_headers=cc.validate_http_headers(params["http_headers"]),
        )

    @staticmethod
    def read(path: str) -> t.Optional[bytes]:
        try:
            return read_bytes(path)
        except OSError as exc:
            raise cc.ConfigError("unreadable", "Cannot read %s: %s" % (path, to_native(exc.strerror or exc))) from exc

    def repair_shape(self, parsed: cc.Parsed, repaired: t.List[str]) -> cc.Parsed:
        """``parsed`` without the keys of the wrong type (repair=true), or ConfigError (repair=false)."""
        problems = cc.shape_problems(parsed.data)
        if not problems:
            return parsed
        path, message = problems[0]
        if not self.params["repair"]:
            raise cc.ConfigError("bad_shape", "%s: %s.%s" % (self.path, message, _repair_hint(self.params["state"])))
        repaired.append(".".join(path))
        return cc.parse_config(cc.delete_key(parsed.text, path).encode("utf-8"), self.path)

    def run(self) -> t.Dict[str, t.Any]:
        params = self.params
        present = params["state"] == "present"
        if os.path.isdir(self.path):
            raise cc.ConfigError("invalid_value", "%s is a directory; path must name Codex's configuration file, e.g. "
                                 "%s/config.toml" % (self.path, self.path))
        desired = self.desired() if present else None
        raw = self.read(self.path)
        self.module.no_log_values.update(ws.token_shaped_values(raw.decode("utf-8", "replace") if raw else ""))
        state_raw = self.read(self.state_path)
        record = cc.parse_state(state_raw)

        repaired = []  # type: t.List[str]
        try:
            parsed = cc.parse_config(raw, self.path)
        except cc.ConfigError as exc:
            if not params["repair"] or exc.kind != "unreadable":
                raise cc.ConfigError(exc.kind, exc.message + "." + _repair_hint(params["state"])) from exc
            repaired.append("file")
            parsed = cc.parse_config(None, self.path)
            record = None
        self.module.no_log_values.update(value for value in cc.secret_values(parsed.data, parsed.text) if value)
        parsed = self.repair_shape(parsed, repaired)
        for note in cc.legacy_profile_notes(self.path, parsed.data):
            self.module.warn(note)
        info = cc.describe(parsed.data)

        file_deleted = False
        if present:
            edit = cc.edit_present(parsed, t.cast(cc.Desired, desired), record,
                                   raw is not None and "file" not in repaired, self.path)
            new_text = edit.text  # type: t.Optional[str]
        elif raw is None:
            edit = cc.Edit("", None)
            new_text = None
        elif "file" in repaired:
            edit = cc.Edit(None, None)
            new_text, file_deleted = None, True
        else:
            edit = cc.edit_absent(parsed, record, self.path)
            new_text = edit.text
            file_deleted = new_text is None
            if info["profiles_using_provider"]:
                self.module.warn("%s: the profiles %s use model_provider = \"%s\", which is gone now; `codex --profile` "
                                 "with them fails until they name another provider."
                                 % (self.path, ", ".join(info["profiles_using_provider"]), cc.PROVIDER_ID))
        for note in edit.notes:
            self.module.warn(note)

        new_raw = None  # type: t.Optional[bytes]
        if file_deleted and os.path.islink(self.path):
            # The dotfiles manager owns the link and its target: both stay, the target empty.
            new_raw, file_deleted = b"", False
        elif new_text is not None and (raw is None or new_text.encode("utf-8") != raw or repaired):
            new_raw = new_text.encode("utf-8")
        file_changed = new_raw is not None or (file_deleted and raw is not None)

        if present and edit.record is not None:
            new_state_raw = cc.render_state(edit.record)  # type: t.Optional[bytes]
            state_changed = cc.parse_state(new_state_raw) != record or state_raw is None
        else:
            new_state_raw = None
            state_changed = state_raw is not None

        result = {
            "changed": file_changed or state_changed,
            "path": self.path,
            "state_file": self.state_path if new_state_raw is not None else None,
            "backup_file": None,
            "set_keys": edit.set_keys,
            "removed_keys": edit.removed_keys,
            "restored_keys": edit.restored_keys,
            "repaired": repaired,
            "file_deleted": file_deleted,
            "config": desired.as_data() if desired is not None else {},
            "legacy_profile": info["legacy_profile"],
            "profiles": info["profiles"],
        }  # type: t.Dict[str, t.Any]
        if self.module._diff and file_changed:  # pylint: disable=protected-access
            result["diff"] = {
                "before": raw.decode("utf-8", "replace") if raw is not None else "",
                "after": new_raw.decode("utf-8") if new_raw is not None else "",
                "before_header": self.path if raw is not None else "%s (absent)" % self.path,
                "after_header": "%s (deleted)" % self.path if file_deleted else self.path,
            }
        if self.module.check_mode:
            return result

        try:
            if file_changed:
                if raw is not None and (params["backup"] or repaired):
                    result["backup_file"] = self.backup()
                if file_deleted:
                    remove_file(self.path)
                else:
                    target = write_target(self.path)
                    directory = os.path.dirname(target)
                    if not os.path.isdir(directory):
                        ensure_directory(directory, self.directory_mode)
                    atomic_write(self.module, self.path, t.cast(bytes, new_raw), mode_of(target) or self.file_mode)
            if state_changed:
                if new_state_raw is None:
                    remove_file(self.state_path)
                else:
                    atomic_write(self.module, self.state_path, new_state_raw, managed.state_mode(self.scope, cc.CONFIG_MODE))
            if file_deleted and self.scope == managed.SCOPE_MANAGED:
                result["removed_folders"] = remove_empty_folders(os.path.dirname(self.path), managed.FOLDER_LEVELS["codex"])
        except OSError as exc:
            self.module.fail_json(msg="Cannot write %s: %s" % (exc.filename or self.path, to_native(exc.strerror or exc)),
                                  path=self.path, backup_file=result["backup_file"])
        return result

    def backup(self) -> str:
        # The copy may hold credentials: as private as the file itself.
        try:
            return private_backup(self.module, self.path, cc.CONFIG_MODE)
        except BackupError as exc:
            raise cc.ConfigError("backup_failed", str(exc)) from exc


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            host=dict(type="str"),
            endpoint_style=dict(type="str", choices=list(ws.ENDPOINT_STYLES), default=ws.ENDPOINT_STYLE_SERVING_ENDPOINTS),
            base_url=dict(type="str"),
            model=dict(type="str", default=ws.DEFAULT_CODEX_MODEL),
            auth_command=dict(type="path"),
            auth_timeout_ms=dict(type="int", default=cc.DEFAULT_AUTH_TIMEOUT_MS),
            refresh_interval_ms=dict(type="int", default=cc.DEFAULT_REFRESH_INTERVAL_MS),
            http_headers=dict(type="dict", default={}),
            scope=dict(type="str", choices=list(managed.SCOPES), default=managed.SCOPE_USER),
            repair=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    if not cc.HAS_TOMLKIT:
        module.fail_json(msg=missing_required_lib(cc.TOMLKIT_REQUIREMENT), exception=cc.TOMLKIT_IMPORT_ERROR)
    if module.params["state"] == "present":
        if not module.params["host"] and not module.params["base_url"]:
            module.fail_json(msg="state is present but neither host nor base_url is given: give the workspace URL as "
                             "host (like %s), or the provider's URL as base_url." % ws.EXAMPLE_HOST)
        if not module.params["auth_command"]:
            module.fail_json(msg="state is present but auth_command is missing: give the path of the token helper "
                             "(fmapi.coding_agents.token_helper returns it as path).")
    config = CodexConfig(module)
    try:
        module.exit_json(**config.run())
    except cc.ConfigError as exc:
        module.fail_json(msg=exc.message, path=config.path)


if __name__ == "__main__":
    main()
