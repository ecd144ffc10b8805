#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: managed_profile
short_description: Write a macOS configuration profile (.mobileconfig) that enforces a coding agent's managed settings
version_added: 0.3.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Writes a macOS configuration profile, an XML property list, for one preference domain a coding agent reads its
    managed settings from, for an MDM tool (Jamf Pro, Kandji, Mosyle, Workspace ONE, Intune) to install on the
    Macs of a fleet. Nothing is installed here, and nothing needs root.
  - The profile is a V(Configuration) payload with C(PayloadScope) V(System) holding one payload whose
    C(PayloadType) is the preference domain itself (the custom settings form MDM tools and the agents' own
    examples use). macOS writes that payload's keys to C(/Library/Managed Preferences/<domain>.plist), where the
    agent reads them, above every setting of the user's.
  - For Claude Code (V(com.anthropic.claudecode)) the keys are the top-level keys of a managed settings file
    (C(apiKeyHelper), C(env), C(permissions) ...), nested objects as dictionaries and lists as arrays; give them in
    O(settings) or as the JSON file O(settings_file), for example the drop-in
    M(fmapi.coding_agents.claude_settings) wrote with C(scope=managed).
  - For Codex CLI (V(com.openai.codex)) the key is C(config_toml_base64), the bytes of a C(managed_config.toml) in
    base64 on one line; give the file as O(toml_file), for example the one M(fmapi.coding_agents.codex_config)
    wrote with C(scope=managed).
  - The UUIDs are derived from O(identifier) and O(domain), and the keys are written sorted, so the same input gives
    the same bytes. A profile that would not change is not written, and a re-run reports no change.
  - The file is written atomically with mode V(0644); a missing folder is created with mode V(0755).
options:
  path:
    description:
      - The C(.mobileconfig) file to write, for example C(profiles/com.anthropic.claudecode.mobileconfig).
    type: path
    required: true
  domain:
    description: The preference domain the agent reads.
    type: str
    required: true
    choices: [com.anthropic.claudecode, com.openai.codex]
  settings:
    description:
      - The preference keys, as a mapping. Values are strings, numbers, booleans, lists and mappings; V(null) has no
        property list form and fails the task, as does a key starting with C(Payload).
      - Exactly one of O(settings), O(settings_file) and O(toml_file) is required.
    type: dict
  settings_file:
    description:
      - A JSON file whose object becomes the preference keys, for example Claude Code's managed settings drop-in.
      - Read where the module runs.
    type: path
  toml_file:
    description:
      - A Codex CLI C(managed_config.toml) whose bytes become C(config_toml_base64). Only with O(domain=com.openai.codex).
      - The file must be valid TOML (checked where the module runs on Python 3.11 or newer), since Codex refuses the
        whole layer otherwise. Read where the module runs.
    type: path
  identifier:
    description:
      - The profile's C(PayloadIdentifier), in reverse-DNS form. MDM tools and macOS replace an installed profile by
        a new one with the same identifier.
      - The payload inside gets this identifier with C(.settings) appended.
      - Defaults to C(com.databricks.fmapi-coding-agents.<domain>).
    type: str
  organization:
    description: The C(PayloadOrganization) shown in System Settings, for example your company's name.
    type: str
    default: FMAPI coding agents
  display_name:
    description:
      - The C(PayloadDisplayName) shown in System Settings.
      - Defaults to V(Claude Code managed settings (Databricks FMAPI)) or V(Codex CLI managed configuration (Databricks FMAPI)).
    type: str
  description:
    description: The C(PayloadDescription) shown in System Settings. A sentence naming the domain by default.
    type: str
  removal_disallowed:
    description:
      - Sets C(PayloadRemovalDisallowed), so that a user cannot remove the profile. macOS honours it for profiles an
        MDM installed.
    type: bool
    default: false
notes:
  - Within Claude Code's managed tier only one source applies, the first of server-managed settings, these managed
    preferences, and the files in C(/Library/Application Support/ClaudeCode). A profile for
    V(com.anthropic.claudecode) must therefore carry every managed key, not only the ones of this collection.
seealso:
  - module: fmapi.coding_agents.claude_settings
  - module: fmapi.coding_agents.codex_config
  - name: Claude Code managed settings
    description: The delivery mechanisms of managed settings, macOS managed preferences among them.
    link: https://code.claude.com/docs/en/managed-settings
  - name: Codex managed configuration
    description: The C(com.openai.codex) preference domain and C(config_toml_base64).
    link: https://developers.openai.com/codex/enterprise/managed-configuration
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the property list text before and after.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: A profile for Claude Code from the managed drop-in written for macOS
  fmapi.coding_agents.managed_profile:
    path: emit/macos/profiles/com.anthropic.claudecode.mobileconfig
    domain: com.anthropic.claudecode
    settings_file: emit/macos/Library/Application Support/ClaudeCode/managed-settings.d/50-fmapi-coding-agents.json
    organization: Example Corp

- name: A profile for Codex CLI from its managed_config.toml
  fmapi.coding_agents.managed_profile:
    path: emit/macos/profiles/com.openai.codex.mobileconfig
    domain: com.openai.codex
    toml_file: emit/macos/etc/codex/managed_config.toml
    identifier: com.example.it.codex
    removal_disallowed: true

- name: A profile for Claude Code from keys given here
  fmapi.coding_agents.managed_profile:
    path: /srv/mdm/claude-code.mobileconfig
    domain: com.anthropic.claudecode
    settings:
      permissions:
        disableBypassPermissionsMode: disable
      env:
        DISABLE_AUTOUPDATER: "1"
"""

RETURN = r"""
path:
  description: The profile, as an absolute path.
  returned: always
  type: str
  sample: /srv/mdm/macos/profiles/com.anthropic.claudecode.mobileconfig
domain:
  description: The preference domain of its payload.
  returned: success
  type: str
  sample: com.anthropic.claudecode
identifier:
  description: The profile's C(PayloadIdentifier).
  returned: success
  type: str
  sample: com.databricks.fmapi-coding-agents.com.anthropic.claudecode
uuid:
  description: The profile's C(PayloadUUID), the same for the same O(identifier) and O(domain).
  returned: success
  type: str
  sample: 3F2C8A49-7C1B-5D0E-9A4B-0E1D2C3B4A59
payload_uuid:
  description: The C(PayloadUUID) of the preference payload inside it.
  returned: success
  type: str
  sample: 8B1E0F3A-2D4C-5E6F-8A9B-1C2D3E4F5A6B
preference_keys:
  description: The preference keys the profile sets, sorted.
  returned: success
  type: list
  elements: str
  sample: [apiKeyHelper, env, permissions]
"""

import os
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _mobileconfig as mc
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    expand,
    mode_of,
    read_bytes,
    replace_or_remove,
    write_target,
)

try:
    import tomllib
except ImportError:  # Python < 3.11: the file is not checked.
    tomllib = None  # pylint: disable=invalid-name


def _read(path: str, what: str) -> bytes:
    try:
        raw = read_bytes(path)
    except OSError as exc:
        raise mc.ProfileError("cannot read the %s %s: %s" % (what, path, to_native(exc.strerror or exc))) from None
    if raw is None:
        raise mc.ProfileError("the %s %s does not exist" % (what, path))
    return raw


def preference_settings(params: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The preference keys of the profile, from whichever of settings, settings_file and toml_file was given."""
    if params["toml_file"]:
        if params["domain"] != managed.CODEX_PREFERENCE_DOMAIN:
            raise mc.ProfileError("toml_file is for the domain %s (its config_toml_base64); %s takes settings or "
                                  "settings_file" % (managed.CODEX_PREFERENCE_DOMAIN, params["domain"]))
        path = expand(params["toml_file"])
        raw = _read(path, "TOML file")
        if tomllib is not None:
            try:
                tomllib.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise mc.ProfileError("%s is not valid TOML, which Codex would refuse: %s" % (path, exc)) from None
        return mc.settings_from_toml(raw)
    if params["settings_file"]:
        path = expand(params["settings_file"])
        return mc.settings_from_json(_read(path, "settings file"), path)
    return dict(params["settings"])


def run(module: AnsibleModule, path: str) -> t.Dict[str, t.Any]:
    params = module.params
    profile = mc.build(params["domain"], preference_settings(params), identifier=params["identifier"],
                       organization=params["organization"], display_name=params["display_name"],
                       description=params["description"], removal_disallowed=params["removal_disallowed"])
    content = mc.render(profile)
    if os.path.isdir(path):
        raise mc.ProfileError("%s is a directory; path must name the .mobileconfig file" % path)
    try:
        existing = read_bytes(path)
    except OSError as exc:
        raise mc.ProfileError("cannot read %s: %s" % (path, to_native(exc.strerror or exc))) from None
    content_changed = existing != content
    mode_changed = existing is not None and mode_of(path) != managed.FILE_MODE
    payload = profile["PayloadContent"][0]
    result: t.Dict[str, t.Any] = {
        "changed": content_changed or mode_changed,
        "path": path,
        "domain": params["domain"],
        "identifier": profile["PayloadIdentifier"],
        "uuid": profile["PayloadUUID"],
        "payload_uuid": payload["PayloadUUID"],
        "preference_keys": sorted(key for key in payload if not key.startswith(mc.RESERVED_PREFIX)),
    }
    if module._diff and content_changed:  # pylint: disable=protected-access
        result["diff"] = {
            "before": existing.decode("utf-8", errors="replace") if existing is not None else "",
            "after": content.decode("utf-8"),
            "before_header": path if existing is not None else "%s (absent)" % path,
            "after_header": path,
        }
    if module.check_mode or not result["changed"]:
        return result
    try:
        if content_changed:
            replace_or_remove(module, path, content, managed.FILE_MODE, managed.DIRECTORY_MODE)
        else:
            os.chmod(write_target(path), managed.FILE_MODE)
    except OSError as exc:
        module.fail_json(msg="Cannot write %s: %s" % (exc.filename or path, to_native(exc.strerror or exc)), path=path)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            domain=dict(type="str", required=True, choices=list(mc.DOMAINS)),
            settings=dict(type="dict"),
            settings_file=dict(type="path"),
            toml_file=dict(type="path"),
            identifier=dict(type="str"),
            organization=dict(type="str", default=mc.DEFAULT_ORGANIZATION),
            display_name=dict(type="str"),
            description=dict(type="str"),
            removal_disallowed=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("settings", "settings_file", "toml_file")],
        required_one_of=[("settings", "settings_file", "toml_file")],
        supports_check_mode=True,
    )
    path = expand(module.params["path"])
    try:
        module.exit_json(**run(module, path))
    except mc.ProfileError as exc:
        module.fail_json(msg=str(exc), path=path)


if __name__ == "__main__":
    main()
