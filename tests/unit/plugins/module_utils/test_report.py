"""Rendering of dashboards and tables."""

from __future__ import annotations

from ansible_collections.fmapi.coding_agents.plugins.module_utils._report import (
    count_statuses,
    render_sections,
    render_table,
    status_class,
)

SECTIONS = [
    {"title": "Dependencies", "rows": [
        {"status": "PASS", "label": "claude", "value": "2.1.329"},
        {"status": "FAIL", "label": "databricks", "value": "not found", "hint": "run setup\nor brew install databricks"},
    ]},
    {"title": "Models", "rows": [], "empty": "no models configured"},
]


def test_sections_align_labels_and_put_fixes_under_their_row():
    lines = render_sections("FMAPI Doctor", SECTIONS)
    assert lines[:2] == ["FMAPI Doctor", ""]
    assert "  PASS     claude      2.1.329" in lines
    assert "  FAIL     databricks  not found" in lines
    fix = lines.index("  FAIL     databricks  not found") + 1
    assert lines[fix] == "           fix: run setup"
    assert lines[fix + 1] == "                or brew install databricks"
    assert "  no models configured" in lines


def test_colour_hook_sees_each_status():
    seen = []
    render_sections("", SECTIONS, lambda text, status: seen.append(status) or text)
    assert seen == ["PASS", "FAIL"]


def test_counts():
    assert count_statuses(SECTIONS) == {"PASS": 1, "FAIL": 1}


def test_table_marks_rows_and_aligns_columns():
    lines = render_table("Endpoints", ["NAME", "STATE"], [
        {"cells": ["databricks-claude-sonnet-4-6", "READY"], "marked": True, "status_column": 1},
        {"cells": ["x", "NOT_READY"], "status_column": 1},
    ], legend="> configured")
    assert "  > databricks-claude-sonnet-4-6  READY" in lines
    assert "    x                             NOT_READY" in lines
    assert lines[-2] == "> configured"


def test_status_classes():
    assert [status_class(s) for s in ("PASS", "expired", "WARN", "SKIP", "")] == ["good", "bad", "notice", "quiet", "quiet"]
