#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: databricks_profile
short_description: Keep a Databricks CLI profile for OAuth user login in ~/.databrickscfg
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Makes sure the Databricks CLI configuration file (V(~/.databrickscfg)) has a C([<profile>]) section with
    C(host = <workspace URL>) and C(auth_type = databricks-cli), so that C(databricks auth login --profile <profile>)
    signs the developer in with OAuth (U2M) and C(databricks auth token --profile <profile>) hands out tokens.
    Or removes that section again.
  - "Within the profile, credentials of other authentication methods are removed, the same keys
    C(databricks auth login) clears itself: C(token) (a personal access token), C(username), C(password),
    C(client_id), C(client_secret) (OAuth M2M), C(azure_client_id), C(azure_client_secret),
    C(azure_tenant_id), C(azure_use_msi), C(azure_workspace_resource_id), C(azure_login_app_id),
    C(google_credentials), C(google_service_account), C(metadata_service_url), C(databricks_id_token_filepath),
    C(oidc_token_env), and the deprecated C(experimental_is_unified_host). Their names are returned in RV(removed_keys), never their values."
  - Keys the CLI adds itself (C(account_id), C(workspace_id), C(cluster_id), C(scopes), ...) and every other key
    stay.
  - Everything else in the file stays as it is, byte for byte (other profiles, comments, blank lines, key order,
    spacing, line endings, the C([DEFAULT]) and C([__settings__]) sections). A changed value replaces just the
    value on its line; an added key copies the layout of the section's other keys; a new section is appended
    with C(=) aligned, the way the Databricks CLI writes one. A new file starts like one the CLI creates.
  - Whether anything changes is decided on the parsed values (a host that differs only by a trailing slash or
    the case of its name is the same host). A file whose values would not change is not touched.
  - The file is read as the Databricks CLI reads it. A line the CLI cannot read either (neither C(key = value),
    a C([section]) header nor a comment) makes the module fail, naming the line, without changing anything.
  - Writes are atomic and give the file mode V(0600). A symlinked file (dotfiles managers) is written through,
    and the link stays.
options:
  profile:
    description:
      - The profile (section) name. Letters, digits, V(_) and V(-) only.
      - V(DEFAULT) and V(__settings__) are not profiles and are refused.
    type: str
    default: fmapi-claudecode-profile
  host:
    description:
      - The Databricks workspace URL, for example V(https://my-workspace.cloud.databricks.com).
      - Must start with V(https://). A URL copied from the browser (with a path, a query such as V(?o=...) or a
        fragment) is reduced to the workspace URL; credentials and characters no URL holds are rejected with an error
        that says what to give instead.
      - Required when O(state=present). When the profile exists with another host, the host is replaced and the
        old one returned in RV(previous_host).
    type: str
  path:
    description:
      - The Databricks CLI configuration file.
      - By default the file the Databricks CLI reads, E(DATABRICKS_CONFIG_FILE) when it is set, else
        V(~/.databrickscfg).
    type: path
  state:
    description:
      - V(present) creates or updates the profile (and the file when missing).
      - V(absent) removes every section of that name, with the comment lines directly above its header. The
        file stays, even when no profile is left in it.
    type: str
    choices: [present, absent]
    default: present
  backup:
    description:
      - Copy the file to a timestamped backup beside it (mode V(0600)) before changing it.
    type: bool
    default: false
notes:
  - The file holds credentials of other profiles. Their values (and any value of a key named like a token,
    secret, password or credential) are masked in the diff and never appear in results or messages.
  - Signing in is not part of this module. After it, C(databricks auth login --profile <profile>) takes the host
    from the profile.
  - With O(state=absent), a C(default_profile) in C([__settings__]) that names the profile is left alone; the
    module warns about it.
seealso:
  - name: Databricks configuration profiles
    description: The format of V(~/.databrickscfg) and how the CLI and SDKs read it.
    link: https://docs.databricks.com/aws/en/dev-tools/auth/config-profiles
  - name: OAuth user-to-machine authentication
    description: C(databricks auth login) and C(auth_type = databricks-cli).
    link: https://docs.databricks.com/aws/en/dev-tools/auth/oauth-u2m
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the file before and after, with credential values masked.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Make sure the FMAPI profile points at the workspace
  fmapi.coding_agents.databricks_profile:
    host: https://my-workspace.cloud.databricks.com
  register: databricks_profile_result

- name: Tell which stale credentials were dropped from the profile
  ansible.builtin.debug:
    msg: "Removed from the profile: {{ databricks_profile_result.removed_keys | join(', ') }}"
  when: databricks_profile_result.removed_keys | length > 0

- name: A profile of another name, with a backup of the file
  fmapi.coding_agents.databricks_profile:
    profile: analytics-dev
    host: https://analytics.cloud.databricks.com/
    backup: true

- name: Remove the profile (the rest of ~/.databrickscfg stays)
  fmapi.coding_agents.databricks_profile:
    profile: fmapi-claudecode-profile
    state: absent
"""

RETURN = r"""
path:
  description: The configuration file, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.databrickscfg
profile:
  description: The profile name.
  returned: always
  type: str
  sample: fmapi-claudecode-profile
host:
  description: The workspace URL of the profile after the run (normalized), null after O(state=absent).
  returned: always
  type: str
  sample: https://my-workspace.cloud.databricks.com
created:
  description: Whether the profile section was added (with O(state=present)).
  returned: always
  type: bool
  sample: false
previous_host:
  description: The host the profile had before, when this run replaced it with another one; otherwise null.
  returned: always
  type: str
  sample: https://old-workspace.cloud.databricks.com
removed_keys:
  description: Names of the conflicting credential keys removed from the profile. Never their values.
  returned: always
  type: list
  elements: str
  sample: [token]
removed:
  description: Whether the profile section was removed (with O(state=absent)).
  returned: always
  type: bool
  sample: false
backup_file:
  description: The backup made of the file before it was changed (O(backup=true)).
  returned: always
  type: str
  sample: /home/dev/.databrickscfg.4242.2025-01-01@12:00:00~
"""

import os
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _ini as ini
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    atomic_write,
    ensure_directory,
    expand,
    read_bytes,
    write_target,
)

AUTH_TYPE = "databricks-cli"
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
_RESERVED_SECTIONS = (ini.DEFAULT_SECTION, ini.SETTINGS_SECTION)

# The keys `databricks auth login` clears when it saves an OAuth profile (the SDK's credential
# attributes, databricks/cli libs/databrickscfg AuthCredentialKeys, plus the deprecated unified-host flag).
CONFLICTING_KEYS = (
    "token",
    "username",
    "password",
    "client_id",
    "client_secret",
    "metadata_service_url",
    "google_service_account",
    "google_credentials",
    "azure_workspace_resource_id",
    "azure_use_msi",
    "azure_client_secret",
    "azure_client_id",
    "azure_tenant_id",
    "azure_login_app_id",
    "databricks_id_token_filepath",
    "oidc_token_env",
    "experimental_is_unified_host",
)


def validate_profile(profile: t.Any) -> str:
    """The profile name, or ValueError saying what to fix."""
    profile = ws.validate_profile(profile)
    if profile in _RESERVED_SECTIONS:
        raise ValueError("profile %r is reserved by the Databricks CLI and is not a profile; choose another name"
                         % profile)
    return profile


class ProfileChange:  # pylint: disable=too-few-public-methods
    """What ensuring or removing the profile did to the document."""

    def __init__(self) -> None:
        self.created = False
        self.previous_host: t.Optional[str] = None
        self.removed_keys: t.List[str] = []
        self.removed = False


def ensure_profile(document: ini.IniDocument, profile: str, host: str) -> ProfileChange:
    """Make ``document`` hold the profile with ``host`` and U2M auth."""
    change = ProfileChange()
    if not document.has_section(profile):
        document.add_section(profile, [("host", host), ("auth_type", AUTH_TYPE)])
        change.created = True
        return change
    current = document.get(profile, "host")
    if not ws.same_host(current, host):
        if current is not None:
            change.previous_host = current
        document.set(profile, "host", host)
    if document.get(profile, "auth_type") != AUTH_TYPE:
        document.set(profile, "auth_type", AUTH_TYPE)
    for key in CONFLICTING_KEYS:
        if document.remove_key(profile, key):
            change.removed_keys.append(key)
    return change


def remove_profile(document: ini.IniDocument, profile: str) -> ProfileChange:
    """Take the profile out of ``document``."""
    change = ProfileChange()
    change.removed = document.remove_section(profile)
    return change


class DatabricksProfile:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self.path = expand(self.params["path"]) if self.params["path"] else ws.config_file_path(os.environ)

    def fail(self, msg: str, **kwargs: t.Any) -> None:
        self.module.fail_json(msg=msg, path=self.path, **kwargs)

    def run(self) -> t.Dict[str, t.Any]:
        params = self.params
        present = params["state"] == "present"
        try:
            profile = validate_profile(params["profile"])
            host = ws.normalize_host(params["host"]) if present else None
        except ValueError as exc:
            self.fail(to_native(exc))
        if os.path.isdir(self.path):
            self.fail("%s is a directory; path must name the Databricks CLI configuration file" % self.path)

        try:
            raw = read_bytes(self.path)
        except OSError as exc:
            self.fail("Cannot read %s: %s" % (self.path, to_native(exc)))
        try:
            text = raw.decode("utf-8") if raw is not None else ""
        except UnicodeDecodeError as exc:
            self.fail("%s is not UTF-8 text (byte %d); the Databricks CLI cannot read it either. Nothing was changed."
                      % (self.path, exc.start))
        try:
            document = ini.IniDocument(text)
        except ini.IniError as exc:
            self.fail("%s: %s. The Databricks CLI cannot read the file either; fix or remove that line. Nothing was "
                      "changed." % (self.path, exc.message))
        self.module.no_log_values.update(value for value in document.sensitive_values() if len(value) >= 4)

        sections_before = document.section_names()
        values_before = document.values(profile)
        if present:
            change = ensure_profile(document, profile, host)
        else:
            change = remove_profile(document, profile)
        changed = (raw is None and present) or document.section_names() != sections_before \
            or document.values(profile) != values_before
        new_text = document.render()

        if not present:
            default_profile = document.get(ini.SETTINGS_SECTION, "default_profile")
            if change.removed and default_profile == profile:
                self.module.warn("%s: [__settings__] default_profile still names the removed profile %r; the "
                                 "Databricks CLI falls back to [DEFAULT]. Change it with `databricks auth switch`."
                                 % (self.path, profile))

        result: t.Dict[str, t.Any] = {
            "changed": changed,
            "path": self.path,
            "profile": profile,
            "host": host,
            "created": change.created,
            "previous_host": change.previous_host,
            "removed_keys": change.removed_keys,
            "removed": change.removed,
            "backup_file": None,
        }
        if changed and self.module._diff:  # pylint: disable=protected-access
            before = ini.IniDocument(text).render(redact=True) if raw is not None else ""
            result["diff"] = {
                "before": before,
                "after": document.render(redact=True),
                "before_header": self.path if raw is not None else "%s (absent)" % self.path,
                "after_header": self.path,
            }
        if not changed or self.module.check_mode:
            return result

        try:
            if raw is not None and params["backup"]:
                result["backup_file"] = self.module.backup_local(self.path)
                os.chmod(result["backup_file"], FILE_MODE)
            directory = os.path.dirname(write_target(self.path))
            if not os.path.isdir(directory):
                ensure_directory(directory, DIRECTORY_MODE)
            atomic_write(self.module, self.path, new_text, FILE_MODE)
        except OSError as exc:
            self.fail("Cannot write %s: %s" % (self.path, to_native(exc)), backup_file=result["backup_file"])
        return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type="str", default=ws.DEFAULT_PROFILE),
            host=dict(type="str"),
            path=dict(type="path"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            backup=dict(type="bool", default=False),
        ),
        required_if=[("state", "present", ("host",))],
        supports_check_mode=True,
    )
    module.exit_json(**DatabricksProfile(module).run())


if __name__ == "__main__":
    main()
