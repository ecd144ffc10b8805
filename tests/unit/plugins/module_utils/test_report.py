"""Rendering of dashboards and tables."""

from __future__ import annotations

from ansible_collections.fmapi.coding_agents.plugins.module_utils._report import (
    checks_to_sections,
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


# ------------------------------------------------------------------------------- checks to sections

CHECKS = [
    {"category": "Models", "status": "PASS", "label": "opus", "value": "READY", "fix": ""},
    {"category": "Dependencies", "status": "FAIL", "label": "databricks", "value": "not found", "fix": "run setup"},
    {"category": "Custom", "status": "INFO", "label": "note", "value": "x", "hint": "an older hint key"},
    {"category": "Dependencies", "status": "PASS", "label": "claude", "value": "2.1.329", "fix": ""},
    {"category": "Later", "status": "WARN", "label": "w", "value": "", "fix": ""},
]


def test_sections_come_in_the_given_category_order_then_in_the_order_first_met():
    sections = checks_to_sections(CHECKS, ["Dependencies", "Auth", "Models"])

    assert [section["title"] for section in sections] == ["Dependencies", "Models", "Custom", "Later"]
    assert sections[0]["rows"] == [
        {"status": "FAIL", "label": "databricks", "value": "not found", "hint": "run setup"},
        {"status": "PASS", "label": "claude", "value": "2.1.329", "hint": None},
    ]
    assert sections[2]["rows"][0]["hint"] == "an older hint key"


def test_a_category_without_checks_shows_only_with_an_empty_line():
    sections = checks_to_sections(CHECKS, ["Dependencies", "Auth", "Connectivity", "Models"],
                                  {"Auth": "not checked: no profile", "Models": "unused"})

    assert [section["title"] for section in sections] == ["Dependencies", "Auth", "Models", "Custom", "Later"]
    assert sections[1] == {"title": "Auth", "rows": [], "empty": "not checked: no profile"}
    assert "empty" not in sections[2], "a category with checks shows its checks"


def test_checks_render_as_a_dashboard():
    lines = render_sections("FMAPI Doctor", checks_to_sections(CHECKS[:2], ["Dependencies", "Models"]))

    assert lines == ["FMAPI Doctor", "",
                     "Dependencies", "  FAIL     databricks  not found", "           fix: run setup", "",
                     "Models", "  PASS     opus        READY", ""]


def test_no_checks_no_sections():
    assert checks_to_sections([], ["Dependencies"]) == []
    assert checks_to_sections([], ["Dependencies"], {"Dependencies": "nothing"}) == [
        {"title": "Dependencies", "rows": [], "empty": "nothing"}]
