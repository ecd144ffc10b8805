#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: report
short_description: Print a dashboard or a table for a person to read
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Prints a report on the controller's output as plain lines (not as a JSON string), with coloured statuses
    on a terminal. C(status), C(doctor), C(list_models) and C(validate_models) use it.
  - A dashboard is a list of O(sections), each a title and rows of C(status), C(label), C(value) and an
    optional C(hint), printed as C(fix:) under the row. Statuses C(PASS), C(ACTIVE), C(READY) read as good,
    C(FAIL), C(EXPIRED), C(ERROR) as bad, C(WARN), C(NOT_READY) as a warning, anything else as neutral.
  - A table is O(columns) and O(rows); a row with C(marked) gets a C(>) in front.
  - With O(fail_on), the task fails after printing when any row has one of those statuses, so a playbook
    exits non-zero (for example a doctor with a C(FAIL)).
  - The title names the host when it is not C(localhost), so a run against several laptops stays readable.
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
  title:
    description: The report's heading.
    type: str
    default: ""
  sections:
    description:
      - Dashboard sections, each a dict with C(title), C(rows) and optionally C(empty), the line printed when
        C(rows) is empty.
      - Each row is a dict with C(status), C(label), C(value) and C(hint) (all optional).
      - Mutually exclusive with O(rows).
    type: list
    elements: dict
  checks:
    description:
      - Checks as the C(_info) modules return them, each a dict with C(category), C(status), C(label), C(value)
        and C(fix). They are printed as a dashboard, one section per category, in O(categories) order.
      - Mutually exclusive with O(sections) and O(rows).
    type: list
    elements: dict
  categories:
    description:
      - The order of the sections made from O(checks); categories not listed follow in the order first met.
      - By default V(Dependencies), V(Configuration), V(Profile), V(Auth), V(Connectivity), V(Models).
    type: list
    elements: str
  empty:
    description: For a category of O(categories) without checks, the line to print under its title.
    type: dict
    default: {}
  columns:
    description: Table headers. Required with O(rows).
    type: list
    elements: str
  rows:
    description:
      - Table rows, each a dict with C(cells) (a list), C(marked) (bool) and C(status_column) (the index of a
        cell coloured as a status).
    type: list
    elements: dict
  legend:
    description: A line printed under a table.
    type: str
    default: ""
  fail_on:
    description: Statuses that make the task fail after the report is printed.
    type: list
    elements: str
    default: []
  fail_msg:
    description: The failure message; by default it counts the rows with those statuses.
    type: str
"""

EXAMPLES = r"""
- name: Show the doctor's findings, and fail on any FAIL
  fmapi.coding_agents.report:
    title: FMAPI Doctor
    sections:
      - title: Dependencies
        rows:
          - {status: PASS, label: claude, value: 2.1.329 (Claude Code)}
          - {status: FAIL, label: databricks, value: not found, hint: ansible-playbook fmapi.coding_agents.setup}
    fail_on: [FAIL]

- name: Show a table
  fmapi.coding_agents.report:
    title: Serving endpoints
    columns: [ENDPOINT, STATE]
    rows:
      - {cells: [databricks-claude-sonnet-4-6, READY], marked: true, status_column: 1}
    legend: "> configured"
"""

RETURN = r"""
report:
  description: The report as printed, without colours.
  returned: unless the task fails because of O(fail_on)
  type: str
counts:
  description: How many dashboard rows have each status.
  returned: always
  type: dict
  sample: {PASS: 9, WARN: 1}
"""
