# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain-text rendering of status dashboards, doctor results and tables. Private to the collection.

Rendering is pure: it returns lines, with a ``colorize(text, status)`` hook so the caller decides
whether a terminal gets colours.
"""

from __future__ import annotations

import typing as t

GOOD = ("PASS", "ACTIVE", "READY", "OK")
BAD = ("FAIL", "EXPIRED", "ERROR", "MISSING")
NOTICE = ("WARN", "NOT_READY", "UPDATING")
QUIET = ("SKIP", "UNKNOWN", "INFO")
STATUS_WIDTH = 9


def status_class(status: str) -> str:
    """good, bad, notice or quiet: how a status should look."""
    upper = (status or "").upper()
    if upper in GOOD:
        return "good"
    if upper in BAD:
        return "bad"
    if upper in NOTICE:
        return "notice"
    return "quiet"


def _plain(text: str, _status: str) -> str:
    return text


def render_sections(title: str, sections: t.List[t.Dict[str, t.Any]],
                    colorize: t.Callable[[str, str], str] = _plain) -> t.List[str]:
    """A dashboard: a title, then per section its rows as ``STATUS  label  value`` with fix hints."""
    lines = [title, ""] if title else []
    label_width = max([len(str(row.get("label", ""))) for section in sections for row in section.get("rows", [])] + [0])
    for section in sections:
        lines.append(str(section.get("title", "")))
        rows = section.get("rows") or []
        if not rows and section.get("empty"):
            lines.append("  " + str(section["empty"]))
        for row in rows:
            status = str(row.get("status") or "")
            label = str(row.get("label", ""))
            value = "" if row.get("value") is None else str(row.get("value"))
            if status:
                head = "  " + colorize(status.ljust(STATUS_WIDTH), status)
            else:
                head = "  "
            lines.append((head + label.ljust(label_width) + ("  " + value if value else "")).rstrip())
            indent = "  " + (" " * STATUS_WIDTH if status else "")
            for number, hint_line in enumerate(str(row.get("hint") or "").splitlines()):
                lines.append(indent + ("fix: " if number == 0 else "     ") + hint_line)
        lines.append("")
    return lines


def render_table(title: str, columns: t.List[str], rows: t.List[t.Dict[str, t.Any]],
                 colorize: t.Callable[[str, str], str] = _plain, legend: str = "") -> t.List[str]:
    """A table with aligned columns; rows marked ``marked`` get a ``>`` in front.

    Each row is ``{"cells": [...], "marked": bool, "status_column": index or None}``.
    """
    widths = [len(column) for column in columns]
    for row in rows:
        for index, cell in enumerate(row.get("cells", [])):
            if index < len(widths):
                widths[index] = max(widths[index], len(str(cell)))
    lines = [title, ""] if title else []
    lines.append(("    " + "  ".join(column.ljust(widths[index]) for index, column in enumerate(columns))).rstrip())
    lines.append("    " + "  ".join("-" * width for width in widths))
    for row in rows:
        cells = []
        for index, cell in enumerate(row.get("cells", [])):
            text = str(cell).ljust(widths[index]) if index < len(widths) else str(cell)
            if index == row.get("status_column"):
                text = colorize(text, str(cell))
            cells.append(text)
        marker = "  > " if row.get("marked") else "    "
        lines.append((marker + "  ".join(cells)).rstrip())
    if legend:
        lines.extend(["", legend])
    lines.append("")
    return lines


def checks_to_sections(checks: t.List[t.Dict[str, t.Any]], categories: t.Sequence[str] = (),
                       empty: t.Optional[t.Dict[str, str]] = None) -> t.List[t.Dict[str, t.Any]]:
    """Sections of a dashboard from checks (``category``, ``status``, ``label``, ``value``, ``fix``).

    Sections come in ``categories`` order, then any other category in the order first met. A category
    of ``categories`` without checks is shown only when ``empty`` has a line for it.
    """
    order = list(categories)
    for item in checks:
        category = str(item.get("category") or "")
        if category not in order:
            order.append(category)
    sections = []
    for category in order:
        rows = [{"status": item.get("status"), "label": item.get("label"), "value": item.get("value"),
                 "hint": item.get("fix") or item.get("hint")}
                for item in checks if str(item.get("category") or "") == category]
        if rows or (empty or {}).get(category):
            section = {"title": category, "rows": rows}
            if not rows:
                section["empty"] = (empty or {})[category]
            sections.append(section)
    return sections


def count_statuses(sections: t.List[t.Dict[str, t.Any]]) -> t.Dict[str, int]:
    """How many rows have each status (upper case)."""
    counts: t.Dict[str, int] = {}
    for section in sections:
        for row in section.get("rows") or []:
            status = str(row.get("status") or "").upper()
            if status:
                counts[status] = counts.get(status, 0) + 1
    return counts
