#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: claude_settings_info
short_description: Read what an earlier FMAPI install wrote to a Claude Code settings file
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Reads a Claude Code settings file and the token helper script its C(apiKeyHelper) runs, and returns the
    Databricks settings an earlier install (M(fmapi.coding_agents.claude_settings),
    M(fmapi.coding_agents.token_helper) or the original setup script) left there, so that a new run can offer
    them as defaults.
  - The workspace URL comes from C(env.ANTHROPIC_BASE_URL) without its V(/serving-endpoints/anthropic) or
    V(/ai-gateway/anthropic) suffix, and otherwise from the helper's metadata line. The profile and the
    Databricks CLI path come from the helper's metadata line (written by M(fmapi.coding_agents.token_helper));
    the helper is read, never run.
  - Reports leftovers of older setup scripts in RV(legacy).
  - Never fails on a broken settings file or helper; it reports the problem as a warning and in
    RV(settings_error), and leaves the decision to the caller. Never returns a token.
options:
  path:
    description:
      - The Claude Code settings file to read.
    type: path
    default: ~/.claude/settings.json
  helper_path:
    description:
      - The token helper script to read the metadata from.
      - By default the script the settings' C(apiKeyHelper) command runs (the command itself, or the script
        given to C(sh), C(bash) and similar).
    type: path
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
  - fmapi.coding_agents.attributes.INFO_MODULE
seealso:
  - module: fmapi.coding_agents.claude_settings
"""

EXAMPLES = r"""
- name: Read what an earlier install configured
  fmapi.coding_agents.claude_settings_info:
  register: claude_previous

- name: Use it as defaults for this run
  ansible.builtin.set_fact:
    fmapi_host: "{{ fmapi_host | default(claude_previous.host, true) }}"
    fmapi_profile: "{{ fmapi_profile | default(claude_previous.profile, true) | default('fmapi-claudecode-profile', true) }}"

- name: Read a project's settings file
  fmapi.coding_agents.claude_settings_info:
    path: /home/dev/src/app/.claude/settings.json
"""

RETURN = r"""
installed:
  description:
    - Whether the settings file holds an FMAPI configuration, that is a C(ANTHROPIC_BASE_URL) ending in one of
      the Databricks suffixes, or an C(apiKeyHelper) whose script carries FMAPI metadata.
  returned: always
  type: bool
  sample: true
settings_path:
  description: The settings file read, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.claude/settings.json
settings_exists:
  description: Whether the settings file exists.
  returned: always
  type: bool
  sample: true
settings_valid:
  description: Whether the settings file could be read as a JSON object (V(true) when it is missing).
  returned: always
  type: bool
  sample: true
settings_error:
  description: Why the settings file could not be read (file, line and column), or V(null).
  returned: always
  type: str
  sample: "/home/dev/.claude/settings.json is not valid JSON: Expecting ',' delimiter at line 3, column 5"
host:
  description: The workspace URL, or V(null) when none was found.
  returned: always
  type: str
  sample: https://my-workspace.cloud.databricks.com
gateway:
  description: V(serving-endpoints) or V(ai-gateway), as O(fmapi.coding_agents.claude_settings#module:gateway) takes it; V(null) when unknown.
  returned: always
  type: str
  sample: serving-endpoints
base_url:
  description: C(env.ANTHROPIC_BASE_URL) as written, or V(null).
  returned: always
  type: str
  sample: https://my-workspace.cloud.databricks.com/serving-endpoints/anthropic
profile:
  description: The Databricks CLI profile the helper uses, from its metadata line, or V(null).
  returned: always
  type: str
  sample: fmapi-claudecode-profile
databricks_cli:
  description: The Databricks CLI the helper runs, from its metadata line, or V(null).
  returned: always
  type: str
  sample: /usr/local/bin/databricks
model:
  description: C(env.ANTHROPIC_MODEL), or V(null).
  returned: always
  type: str
  sample: databricks-claude-opus-4-6
opus:
  description: C(env.ANTHROPIC_DEFAULT_OPUS_MODEL), or V(null).
  returned: always
  type: str
  sample: databricks-claude-opus-4-6
sonnet:
  description: C(env.ANTHROPIC_DEFAULT_SONNET_MODEL), or V(null).
  returned: always
  type: str
  sample: databricks-claude-sonnet-4-6
haiku:
  description: C(env.ANTHROPIC_DEFAULT_HAIKU_MODEL), or V(null).
  returned: always
  type: str
  sample: databricks-claude-haiku-4-5
ttl_minutes:
  description:
    - The token reuse time in minutes, from C(env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS), or from the helper's
      metadata line when the settings have no TTL.
    - V(null) when neither has one, or the settings' value is not a whole number of minutes from 1 to 60 (a
      warning says so).
  returned: always
  type: int
  sample: 30
deny_web_search:
  description: Whether C(permissions.deny) lists V(WebSearch).
  returned: always
  type: bool
  sample: true
api_key_helper:
  description: The C(apiKeyHelper) command, or V(null).
  returned: always
  type: str
  sample: /home/dev/.claude/fmapi-key-helper.sh
helper_path:
  description: The helper script (O(helper_path), or the one C(apiKeyHelper) runs), or V(null).
  returned: always
  type: str
  sample: /home/dev/.claude/fmapi-key-helper.sh
helper_exists:
  description: Whether RV(helper_path) is an existing file.
  returned: always
  type: bool
  sample: true
helper_metadata:
  description:
    - The metadata line of the helper script, V({}) when it has none. Keys that look like credentials are left out.
  returned: always
  type: dict
  sample: {"version": 1, "profile": "fmapi-claudecode-profile", "host": "https://my-workspace.cloud.databricks.com"}
legacy:
  description: Leftovers of older setup scripts. Values of legacy tokens are never shown.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: V(anthropic_auth_token), V(fmapi_meta) or V(pat_cache).
      type: str
    path:
      description: The file that holds it, or the file itself.
      type: str
    description:
      description: What it is and why it should go.
      type: str
  sample:
    - name: anthropic_auth_token
      path: /home/dev/.claude/settings.json
      description: env.ANTHROPIC_AUTH_TOKEN is present (value not shown); it overrides apiKeyHelper.
"""

import os
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import expand, read_bytes
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import (
    read_helper_metadata,
    read_legacy_helper_values,
)

_METADATA_SECRET_WORDS = ("token", "secret", "password", "credential", "key")


def _string(value: t.Any) -> t.Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _safe_metadata(metadata: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    return dict((key, value) for key, value in metadata.items()
                if not any(word in str(key).lower() for word in _METADATA_SECRET_WORDS))


class SettingsReader:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module

    def warn(self, message: str) -> None:
        self.module.warn(message)

    def read(self, path: str) -> t.Tuple[t.Optional[bytes], t.Optional[str]]:
        try:
            return read_bytes(path), None
        except OSError as exc:
            return None, "Cannot read %s: %s" % (path, to_native(exc))

    def run(self) -> t.Dict[str, t.Any]:
        settings_path = expand(self.module.params["path"])
        result: t.Dict[str, t.Any] = dict(
            changed=False, installed=False, settings_path=settings_path, settings_exists=False,
            settings_valid=True, settings_error=None, host=None, gateway=None, base_url=None, profile=None,
            databricks_cli=None, model=None, opus=None, sonnet=None, haiku=None, ttl_minutes=None,
            deny_web_search=False, api_key_helper=None, helper_path=None, helper_exists=False,
            helper_metadata={}, legacy=[],
        )
        data: t.Dict[str, t.Any] = {}
        if os.path.isdir(settings_path):
            raw, error = None, "%s is a directory, not a settings file" % settings_path
        else:
            raw, error = self.read(settings_path)
        result["settings_exists"] = raw is not None
        if raw is not None:
            self.module.no_log_values.update(cs.secret_values_in_text(cs.decode_for_display(raw)))
            try:
                data = cs.parse_settings(raw, settings_path).data
            except cs.SettingsError as exc:
                error = exc.message
        if error:
            result["settings_valid"] = False
            result["settings_error"] = error
            self.warn(error + "; no earlier settings could be read from it.")
        self.module.no_log_values.update(cs.secret_values(data))

        env = data.get(cs.ENV)
        if cs.ENV in data and not isinstance(env, dict):
            self.warn("%s: 'env' is a JSON %s, not an object; it was ignored."
                      % (settings_path, cs.json_type_name(env)))
        env = env if isinstance(env, dict) else {}

        result["base_url"] = _string(env.get(cs.ENV_BASE_URL))
        result["host"], result["gateway"] = cs.split_base_url(result["base_url"])
        for name, key in (("model", cs.ENV_MODEL), ("opus", cs.ENV_OPUS), ("sonnet", cs.ENV_SONNET),
                          ("haiku", cs.ENV_HAIKU)):
            result[name] = _string(env.get(key))
        if cs.ENV_HELPER_TTL in env:
            result["ttl_minutes"] = cs.ttl_minutes_from_ms(env[cs.ENV_HELPER_TTL])
            if result["ttl_minutes"] is None:
                self.warn("%s: env.%s is %r, not a whole number of minutes from %d to %d; ignored."
                          % (settings_path, cs.ENV_HELPER_TTL, env[cs.ENV_HELPER_TTL], cs.MIN_TTL_MINUTES,
                             cs.MAX_TTL_MINUTES))
        permissions = data.get(cs.PERMISSIONS)
        deny = permissions.get(cs.DENY) if isinstance(permissions, dict) else None
        result["deny_web_search"] = isinstance(deny, list) and cs.WEB_SEARCH_TOOL in deny
        result["api_key_helper"] = _string(data.get(cs.API_KEY_HELPER))

        helper_path = self.module.params["helper_path"]
        helper_path = expand(helper_path) if helper_path else cs.helper_path_from_command(result["api_key_helper"])
        if helper_path and not os.path.isabs(helper_path):
            helper_path = None
        result["helper_path"] = helper_path
        metadata = self.read_helper(helper_path, result)

        metadata_host = _string(metadata.get("host"))
        if result["host"] is None and metadata_host:
            result["host"] = metadata_host.rstrip("/")
        elif metadata_host and result["host"] and metadata_host.rstrip("/") != result["host"]:
            self.warn("The helper %s was made for %s, but %s points Claude Code at %s; the settings file wins."
                      % (helper_path, metadata_host, settings_path, result["host"]))
        if result["ttl_minutes"] is None and cs.ENV_HELPER_TTL not in env:
            metadata_ttl = metadata.get("ttl_minutes")
            if isinstance(metadata_ttl, int) and not isinstance(metadata_ttl, bool) \
                    and cs.MIN_TTL_MINUTES <= metadata_ttl <= cs.MAX_TTL_MINUTES:
                result["ttl_minutes"] = metadata_ttl
        result["profile"] = _string(metadata.get("profile"))
        result["databricks_cli"] = _string(metadata.get("databricks_cli"))
        result["helper_metadata"] = _safe_metadata(metadata)
        result["installed"] = result["gateway"] is not None or bool(metadata)
        result["legacy"] = self.legacy(settings_path, data, env, helper_path)
        return result

    def read_helper(self, helper_path: t.Optional[str], result: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        if not helper_path:
            return {}
        if not os.path.isfile(helper_path):
            if result["api_key_helper"] or self.module.params["helper_path"]:
                self.warn("The token helper %s does not exist; its profile cannot be read." % helper_path)
            return {}
        result["helper_exists"] = True
        raw, error = self.read(helper_path)
        if error or raw is None:
            self.warn(error or "Cannot read %s" % helper_path)
            return {}
        text = raw.decode("utf-8", "replace")
        self.module.no_log_values.update(cs.secret_values_in_text(text))
        # A helper of the original setup script carries no metadata line; its profile and host
        # are still what the user chose, and a re-run should keep them.
        return read_helper_metadata(text) or read_legacy_helper_values(text)

    @staticmethod
    def legacy(settings_path: str, data: t.Dict[str, t.Any], env: t.Dict[str, t.Any],
               helper_path: t.Optional[str]) -> t.List[t.Dict[str, str]]:
        found = []
        if cs.LEGACY_AUTH_TOKEN in env:
            found.append(dict(
                name="anthropic_auth_token", path=settings_path,
                description="env.%s is present (value not shown); it overrides apiKeyHelper and should be removed."
                % cs.LEGACY_AUTH_TOKEN,
            ))
        if cs.LEGACY_META in data:
            found.append(dict(
                name="fmapi_meta", path=settings_path,
                description="%s is a leftover of an older setup script; Claude Code does not use it." % cs.LEGACY_META,
            ))
        directories = []
        for directory in (os.path.dirname(helper_path) if helper_path else None, os.path.dirname(settings_path)):
            if directory and directory not in directories:
                directories.append(directory)
        for directory in directories:
            cache = os.path.join(directory, cs.LEGACY_PAT_CACHE)
            if os.path.lexists(cache):
                found.append(dict(
                    name="pat_cache", path=cache,
                    description="A personal access token cache of an older token helper; it should be deleted "
                    "(and the token revoked).",
                ))
        return found


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default=cs.DEFAULT_SETTINGS_PATH),
            helper_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**SettingsReader(module).run())


if __name__ == "__main__":
    main()
