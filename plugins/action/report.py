# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of fmapi.coding_agents.report: prints a dashboard or table for a person."""

from __future__ import annotations

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.color import stringc
from ansible.utils.display import Display

from ansible_collections.fmapi.coding_agents.plugins.module_utils._checks import CATEGORIES
from ansible_collections.fmapi.coding_agents.plugins.module_utils._report import (
    checks_to_sections,
    count_statuses,
    render_sections,
    render_table,
    status_class,
)

display = Display()

COLORS = {"good": C.COLOR_OK, "bad": C.COLOR_ERROR, "notice": C.COLOR_WARN, "quiet": C.COLOR_SKIP}

ARGUMENT_SPEC = dict(
    title=dict(type="str", default=""),
    sections=dict(type="list", elements="dict"),
    checks=dict(type="list", elements="dict"),
    categories=dict(type="list", elements="str"),
    empty=dict(type="dict", default={}),
    columns=dict(type="list", elements="str"),
    rows=dict(type="list", elements="dict"),
    legend=dict(type="str", default=""),
    fail_on=dict(type="list", elements="str", default=[]),
    fail_msg=dict(type="str"),
)


def _colorize(text: str, status: str) -> str:
    return stringc(text, COLORS[status_class(status)])


class ActionModule(ActionBase):
    """Render and print; fail afterwards when a status in fail_on occurs."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC,
            mutually_exclusive=[("sections", "rows", "checks")],
            required_one_of=[("sections", "rows", "checks")],
            required_together=[("columns", "rows")],
        )
        host = (task_vars or {}).get("inventory_hostname", "")
        title = args["title"]
        if title and host and host != "localhost":
            title = f"{title}  ({host})"
        if args["checks"] is not None:
            args["sections"] = checks_to_sections(args["checks"], args["categories"] or CATEGORIES, args["empty"])
        if args["sections"] is not None:
            lines = render_sections(title, args["sections"], _colorize)
            counts = count_statuses(args["sections"])
        else:
            lines = render_table(title, args["columns"], args["rows"], _colorize, args["legend"])
            counts = {}
        # Printed as it is, not as a JSON string, so the dashboard reads at a glance.
        display.display("\n" + "\n".join(lines))
        text = "\n".join(render_plain(args, title))
        failing = {status.upper(): counts.get(status.upper(), 0) for status in args["fail_on"]}
        failed = sum(failing.values())
        result.update(changed=False, counts=counts)
        if failed:
            # The report is on the screen already; the failure line stays short.
            result["failed"] = True
            result["msg"] = args["fail_msg"] or (
                f"{failed} check(s) with status {', '.join(status for status, n in failing.items() if n)}; "
                "see the fix under each one above")
        else:
            result["report"] = text
        return result


def render_plain(args, title):
    """The same report without colours, for the task result (AWX job output, registered variables)."""
    if args["sections"] is not None:
        return render_sections(title, args["sections"])
    return render_table(title, args["columns"], args["rows"], legend=args["legend"])
