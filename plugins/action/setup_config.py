# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of fmapi.coding_agents.setup_config: reads the config file or URL where the
playbook runs, not on the laptop, and resolves every setup value by precedence."""

from __future__ import annotations

import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import open_url
from ansible.plugins.action import ActionBase

from ansible_collections.fmapi.coding_agents.plugins.module_utils._setup_config import (
    MAX_CONFIG_BYTES,
    ConfigError,
    resolve,
    validate_config_data,
)

ARGUMENT_SPEC = dict(
    values=dict(type="dict", default={}),
    config=dict(type="path"),
    config_url=dict(type="str"),
    ca_path=dict(type="path"),
    previous=dict(type="dict", default={}),
    require_host=dict(type="bool", default=True),
    timeout=dict(type="int", default=30),
)


def _parse(text: str, source: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is neither valid JSON nor valid YAML: {exc}") from None


class ActionModule(ActionBase):
    """Resolve the setup's values on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["config"] and args["config_url"]:
            raise AnsibleActionFail("give either config (a file) or config_url, not both")
        notes = []  # type: list
        try:
            config, source = {}, "config file"
            if args["config"]:
                config, source = self._read_file(args["config"], notes)
            elif args["config_url"]:
                config, source = self._read_url(args["config_url"], args["ca_path"], args["timeout"], notes)
            values, sources = resolve(args["values"], config, source, args["previous"], notes)
        except ConfigError as exc:
            raise AnsibleActionFail(str(exc)) from None
        if args["require_host"] and "host" not in values:
            raise AnsibleActionFail(
                "no workspace host: pass it with -e host=https://<workspace>.cloud.databricks.com "
                "(or put host in the config file given with -e config=FILE)")
        # What was corrected in a given value (a browser URL reduced to the workspace URL): said once, here.
        result.update(changed=False, config=values, sources=sources,
                      notes=[{"category": "Notes", "status": "WARN", "label": note.split(": ", 1)[0],
                              "value": note.split(": ", 1)[-1].strip(), "fix": ""} for note in dict.fromkeys(notes)])
        if notes:
            result["warnings"] = list(dict.fromkeys(notes))
        return result

    @staticmethod
    def _read_file(path: str, notes: list):
        source = f"config file {path}"
        path = os.path.abspath(os.path.expanduser(path))
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{source} is larger than {MAX_CONFIG_BYTES} bytes; is it the right file?")
        return validate_config_data(_parse(to_text(data, errors="surrogate_or_strict"), source), source, notes), source

    @staticmethod
    def _read_url(url: str, ca_path, timeout: int, notes: list):
        source = f"config URL {url}"
        if not url.lower().startswith("https://"):
            raise ConfigError(f"config_url must start with https:// (got {url!r}): a config fetched in clear text "
                              "could be changed on the way")
        try:
            response = open_url(url, timeout=timeout, validate_certs=True, ca_path=ca_path, follow_redirects="safe")
            data = response.read(MAX_CONFIG_BYTES + 1)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise ConfigError(f"cannot fetch the config URL {url}: {exc}") from None
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{source} is larger than {MAX_CONFIG_BYTES} bytes; is it the right URL?")
        return validate_config_data(_parse(to_text(data, errors="surrogate_or_strict"), source), source, notes), source
