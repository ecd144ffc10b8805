#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: setup_config
short_description: Resolve the setup's values from the command line, a config file or URL, an earlier install and defaults
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Decides each value of the setup (C(host), C(profile), C(model), C(opus), C(sonnet), C(haiku), C(ttl),
    C(settings_location), C(agents), C(endpoint_style), C(codex_model), C(gemini_model), C(settings_scope)) from,
    highest precedence
    first, O(values) (what was given on the command line), the config file O(config) or the config URL
    O(config_url), O(previous) (what an earlier install wrote, M(fmapi.coding_agents.claude_code_info)'s return
    with C(agents), C(codex_model) and C(gemini_model) added), and the defaults.
  - Runs on the controller. The config file is read, and the config URL fetched, where the playbook runs.
  - "The config file is a JSON or YAML object with the keys C(version) (V(1)), C(host), C(profile), C(model),
    C(opus), C(sonnet), C(haiku), C(ttl), C(settings_location), C(agents), C(endpoint_style), C(codex_model),
    C(gemini_model) and C(settings_scope). An unknown key fails the task, naming the valid ones."
  - Every value is validated wherever it comes from, with the same rules every module of the collection applies.
    C(host) must start with V(https://); a URL copied from the browser (V(https://dbc-x.cloud.databricks.com/browse),
    an Azure URL with V(?o=...)) or an API base URL is reduced to the workspace URL, and RV(notes) and a warning say
    so. C(profile) is letters, digits, V(-) and V(_). C(ttl) is minutes from V(1) to V(60). Models are serving
    endpoint names. C(agents) is a list (or a comma-separated string) of V(claude_code), V(codex), V(gemini).
    C(endpoint_style) is V(serving-endpoints) or V(ai-gateway). C(settings_scope) is V(user) (each user's own
    settings files) or V(managed) (the agents' managed, enforced layer, root's). A value of the earlier install
    that is no longer valid is ignored and the next source applies.
  - Roles use it too, to check their own values before they install or write anything.
  - "Defaults: C(profile) V(fmapi-claudecode-profile), C(model) and C(opus) V(databricks-claude-opus-4-6),
    C(sonnet) V(databricks-claude-sonnet-4-6), C(haiku) V(databricks-claude-haiku-4-5), C(ttl) V(30),
    C(settings_location) V(home), C(agents) V([claude_code]), C(endpoint_style) V(serving-endpoints),
    C(codex_model) V(databricks-gpt-5-5), C(gemini_model) V(databricks-gemini-2-5-pro), C(settings_scope) V(user)."
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
  - fmapi.coding_agents.attributes.INFO_MODULE
attributes:
  action:
    support: full
    description: Runs on the controller as an action plugin.
  async:
    support: none
    description: Not an asynchronous task.
options:
  values:
    description:
      - Values given on the command line. Keys with a null or empty value count as not given.
    type: dict
    default: {}
  config:
    description: A JSON or YAML config file on the controller. Mutually exclusive with O(config_url).
    type: path
  config_url:
    description:
      - An V(https://) URL of a config file, fetched from the controller with certificate validation.
      - Mutually exclusive with O(config).
    type: str
  ca_path:
    description: A CA bundle to trust for O(config_url), beside the system's.
    type: path
  previous:
    description: What an earlier install wrote, as returned by M(fmapi.coding_agents.claude_code_info).
    type: dict
    default: {}
  require_host:
    description: Fail, saying how to pass it, when no source gives C(host).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for O(config_url).
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Read what an earlier install wrote
  fmapi.coding_agents.claude_code_info:
  register: previous_install

- name: Resolve the setup's values
  fmapi.coding_agents.setup_config:
    values:
      host: "{{ host | default(none) }}"
      profile: "{{ profile | default(none) }}"
      ttl: "{{ ttl | default(none) }}"
    config: "{{ config | default(omit) }}"
    config_url: "{{ config_url | default(omit) }}"
    previous: "{{ previous_install }}"
  register: setup

- name: Use them
  ansible.builtin.debug:
    msg: "{{ setup.config.host }} with profile {{ setup.config.profile }} ({{ setup.sources.profile }})"
"""

RETURN = r"""
config:
  description: The resolved values.
  returned: success
  type: dict
  sample:
    host: https://my-workspace.cloud.databricks.com
    profile: fmapi-claudecode-profile
    model: databricks-claude-opus-4-6
    opus: databricks-claude-opus-4-6
    sonnet: databricks-claude-sonnet-4-6
    haiku: databricks-claude-haiku-4-5
    ttl: 30
    settings_location: home
notes:
  description:
    - What was corrected in a given value, as checks (C(category) V(Notes), C(status) V(WARN), C(label), C(value))
      for M(fmapi.coding_agents.report).
  returned: success
  type: list
  elements: dict
  sample:
    - category: Notes
      status: WARN
      label: host from the command line
      value: >-
        https://dbc-1.cloud.databricks.com/browse was reduced to the workspace URL https://dbc-1.cloud.databricks.com:
        the part after the host name (/browse) is not part of it.
      fix: ""
sources:
  description:
    - Where each value came from; V(command line), V(config file <path>), V(config URL <url>),
      V(earlier install) or V(default).
  returned: success
  type: dict
  sample:
    host: command line
    profile: earlier install
    ttl: default
"""
