# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The model filters: the list_models table (grouped by agent), the agents of a run and their model settings."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fmapi.coding_agents.plugins.filter.models import (
    FilterModule,
    agent_models,
    model_table,
    valid_agents,
)
from ansible_collections.fmapi.coding_agents.plugins.module_utils._report import render_table


def endpoint(name, ready="READY", state=None, endpoint_type="FOUNDATION_MODEL_API", task="llm/v1/chat"):
    """An endpoint in serving_endpoints_info's compact shape, as an older module returned it (no agent keys)."""
    return {"name": name, "ready": ready, "state": state or ready, "endpoint_type": endpoint_type, "task": task}


def classified(name, agent, agents=None, source="api_types", api_types=(), **keys):
    """An endpoint in the compact shape with serving_endpoints_info's answer of which agent it is for."""
    return dict(endpoint(name, **keys), agent=agent, agents=list(agents if agents is not None else [agent] if agent
                                                                 else []),
                agent_source=source, api_types=list(api_types))


ENDPOINTS = [
    endpoint("databricks-claude-haiku-4-5"),
    endpoint("databricks-claude-opus-4-6", ready="NOT_READY"),
    endpoint("databricks-claude-sonnet-4-6", state="READY (configuration update in progress)"),
    endpoint("databricks-gpt-5-2"),
    endpoint("my-Anthropic-proxy", endpoint_type="EXTERNAL_MODEL"),
    endpoint("databricks-gte-large-en", task="llm/v1/embeddings"),
]
CONFIGURED = {"model": "databricks-claude-opus-4-6", "opus": "databricks-claude-opus-4-6",
              "sonnet": "databricks-claude-sonnet-4-6", "haiku": "databricks-claude-haiku-4-5"}

# A workspace of the three agents, as serving_endpoints_info returns it.
WORKSPACE = [
    classified("databricks-claude-opus-4-6", "claude_code"),
    classified("databricks-claude-sonnet-4-6", "claude_code"),
    classified("databricks-gemini-2-5-pro", "gemini"),
    classified("databricks-gemini-3-pro", "gemini", agents=["codex", "gemini"]),
    classified("databricks-gpt-5-2", "codex"),
    classified("databricks-gpt-5-5", "codex", ready="NOT_READY"),
    classified("databricks-gte-large-en", None, source="task", task="llm/v1/embeddings"),
    classified("databricks-meta-llama-3-3-70b-instruct", None),
]
THREE = ["claude_code", "codex", "gemini"]
MODELS = {"model": "databricks-claude-opus-4-6", "opus": "databricks-claude-opus-4-6",
          "sonnet": "databricks-claude-sonnet-4-6", "haiku": "", "codex_model": "databricks-gpt-5-5",
          "gemini_model": "databricks-gemini-2-5-pro"}


def endpoint_rows(table):
    return [row for row in table["rows"] if not row.get("heading")]


def groups(table):
    """[(heading, [endpoint names])] in the order printed."""
    result = []
    for row in table["rows"]:
        if row.get("heading"):
            result.append((row["cells"][0].strip("- "), []))
        else:
            result[-1][1].append(row["cells"][0])
    return result


def printed(table):
    return render_table("", table["columns"], table["rows"], legend=table["legend"])


# ----------------------------------------------------------------------------- Claude Code only (the default)
def test_the_table_lists_claude_and_anthropic_endpoints_and_marks_the_configured_ones():
    table = model_table(ENDPOINTS, CONFIGURED)

    assert table["columns"] == ["ENDPOINT", "STATE", "TYPE", "TASK", "USED AS"]
    assert groups(table) == [("Claude Code", ["databricks-claude-haiku-4-5", "databricks-claude-opus-4-6",
                                              "databricks-claude-sonnet-4-6", "my-Anthropic-proxy"])]
    assert [(row["marked"], row["cells"]) for row in endpoint_rows(table)] == [
        (True, ["databricks-claude-haiku-4-5", "READY", "FOUNDATION_MODEL_API", "llm/v1/chat", "haiku"]),
        (True, ["databricks-claude-opus-4-6", "NOT_READY", "FOUNDATION_MODEL_API", "llm/v1/chat", "model, opus"]),
        (True, ["databricks-claude-sonnet-4-6", "READY (configuration update in progress)", "FOUNDATION_MODEL_API",
                "llm/v1/chat", "sonnet"]),
        (False, ["my-Anthropic-proxy", "READY", "EXTERNAL_MODEL", "llm/v1/chat", "-"]),
    ]
    assert all(row["status_column"] == 1 and row["agent"] == "claude_code" for row in endpoint_rows(table))
    assert "4 Claude endpoints of 6; -e all_models=true lists every endpoint." in table["legend"]
    assert table["legend"].startswith(
        "> configured for Claude Code; USED AS names the setting (model, opus, sonnet, haiku)")


def test_the_printed_table_starts_each_group_with_a_rule_named_after_the_agent():
    lines = printed(model_table(ENDPOINTS, CONFIGURED))

    assert [(line[:4], line[4:].split("  ")[0]) for line in lines[:5]] == [
        ("    ", "ENDPOINT"), ("    ", "----------------------------"), ("    ", "-- Claude Code -------------"),
        ("  > ", "databricks-claude-haiku-4-5"), ("  > ", "databricks-claude-opus-4-6")]
    # The rule is as wide as the endpoint names; the columns are not shifted by it.
    assert len(lines[2]) == len(lines[1][4:].split("  ")[0]) + 4
    assert lines[3].index("READY") == lines[0].index("STATE")


@pytest.mark.parametrize("all_models", [True, "true", "yes", "1"])
def test_all_models_lists_every_endpoint_grouped_by_agent(all_models):
    table = model_table(ENDPOINTS, CONFIGURED, all_models)

    assert groups(table) == [
        ("Claude Code", ["databricks-claude-haiku-4-5", "databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6",
                         "my-Anthropic-proxy"]),
        ("Codex CLI", ["databricks-gpt-5-2"]),
        ("Other (no coding agent)", ["databricks-gte-large-en"]),
    ]
    assert "6 serving endpoints." in table["legend"]


@pytest.mark.parametrize("all_models", [False, "false", "no", "0", ""])
def test_all_models_false_in_any_spelling_keeps_the_filter(all_models):
    assert len(endpoint_rows(model_table(ENDPOINTS, CONFIGURED, all_models))) == 4


def test_configured_models_the_workspace_lacks_are_named_in_the_legend():
    table = model_table(ENDPOINTS, dict(CONFIGURED, sonnet="databricks-claude-sonnet-9"))

    assert ("Configured but not in the workspace: databricks-claude-sonnet-9 (sonnet); "
            "ansible-playbook fmapi.coding_agents.validate_models explains.") in table["legend"]


def test_a_workspace_without_claude_endpoints_says_so():
    table = model_table([endpoint("databricks-gpt-5-2")], CONFIGURED)

    assert table["rows"] == []
    assert table["legend"] == ("No Claude endpoints among the 1 of this workspace; -e all_models=true lists every "
                               "endpoint.\nConfigured but not in the workspace: databricks-claude-opus-4-6 (model, "
                               "opus), databricks-claude-sonnet-4-6 (sonnet), databricks-claude-haiku-4-5 (haiku); "
                               "ansible-playbook fmapi.coding_agents.validate_models explains.")


@pytest.mark.parametrize("call", [
    lambda: model_table({"endpoints": []}, CONFIGURED),
    lambda: model_table([], ["model"]),
    lambda: model_table(None, CONFIGURED),
    lambda: model_table([], CONFIGURED, agents=["cursor"]),
])
def test_wrong_input_is_a_filter_error(call):
    with pytest.raises(AnsibleFilterError):
        call()


def test_the_filters_are_registered():
    assert FilterModule().filters() == {"model_table": model_table, "valid_agents": valid_agents,
                                        "agent_models": agent_models}


def test_unset_roles_mark_nothing_and_an_endpoint_used_twice_names_both_roles():
    table = model_table(ENDPOINTS, {"model": "databricks-claude-haiku-4-5", "opus": "", "sonnet": None,
                                    "haiku": "databricks-claude-haiku-4-5"})

    assert [row["cells"][4] for row in table["rows"] if row["marked"]] == ["model, haiku"]
    assert "Configured but not in the workspace" not in table["legend"]


def test_an_endpoint_without_state_or_type_shows_placeholders():
    table = model_table([{"name": "claude-proxy"}], {})

    assert endpoint_rows(table) == [{"cells": ["claude-proxy", "UNKNOWN", "-", "-", "-"], "marked": False,
                                     "status_column": 1, "agent": "claude_code"}]
    assert table["legend"].endswith("1 Claude endpoints of 1; -e all_models=true lists every endpoint.")


# ----------------------------------------------------------------------------- several agents
def test_each_selected_agent_gets_its_group_and_its_configured_models_marked():
    table = model_table(WORKSPACE, MODELS, agents=THREE)

    assert groups(table) == [
        ("Claude Code", ["databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6"]),
        ("Codex CLI", ["databricks-gpt-5-2", "databricks-gpt-5-5"]),
        ("Gemini CLI", ["databricks-gemini-2-5-pro", "databricks-gemini-3-pro"]),
    ]
    marked = {row["cells"][0]: (row["cells"][1], row["cells"][4]) for row in endpoint_rows(table) if row["marked"]}
    assert marked == {"databricks-claude-opus-4-6": ("READY", "model, opus"),
                      "databricks-claude-sonnet-4-6": ("READY", "sonnet"),
                      "databricks-gpt-5-5": ("NOT_READY", "codex_model"),
                      "databricks-gemini-2-5-pro": ("READY", "gemini_model")}
    assert table["legend"].splitlines() == [
        "> configured for Claude Code, Codex CLI and Gemini CLI; USED AS names the setting (model, opus, sonnet, "
        "haiku, codex_model, gemini_model)",
        "6 Claude, GPT and Gemini endpoints of 8; -e all_models=true lists every endpoint.",
    ]


def test_agents_given_as_a_comma_separated_string_show_only_their_groups():
    table = model_table(WORKSPACE, {"codex_model": "databricks-gpt-5-2"}, agents="codex")

    assert groups(table) == [("Codex CLI", ["databricks-gpt-5-2", "databricks-gpt-5-5"])]
    assert "2 GPT endpoints of 8" in table["legend"]


def test_a_model_set_to_another_agents_endpoint_is_listed_where_it_belongs_and_explained():
    table = model_table(WORKSPACE, {"codex_model": "databricks-gemini-2-5-pro"}, agents=["codex"])

    assert groups(table) == [("Codex CLI", ["databricks-gpt-5-2", "databricks-gpt-5-5"]),
                             ("Gemini CLI", ["databricks-gemini-2-5-pro"])]
    assert ("codex_model is databricks-gemini-2-5-pro, a Gemini endpoint: Codex CLI cannot use it; "
            "ansible-playbook fmapi.coding_agents.validate_models explains.") in table["legend"].splitlines()


def test_a_model_that_serves_no_agent_is_explained_and_one_that_also_serves_it_is_not():
    table = model_table(WORKSPACE, {"model": "databricks-meta-llama-3-3-70b-instruct",
                                    "codex_model": "databricks-gemini-3-pro"}, agents=THREE)

    lines = table["legend"].splitlines()
    assert ("model is databricks-meta-llama-3-3-70b-instruct, an endpoint for none of the coding agents: Claude Code "
            "cannot use it; ansible-playbook fmapi.coding_agents.validate_models explains.") in lines
    assert not any(line.startswith("codex_model is") for line in lines)
    assert ("Other (no coding agent)", ["databricks-meta-llama-3-3-70b-instruct"]) in groups(table)


def test_a_selected_agent_without_endpoints_is_named():
    table = model_table(WORKSPACE[:2], {}, agents=["claude_code", "gemini"])

    assert "No Gemini CLI endpoints (Gemini models) in this workspace." in table["legend"].splitlines()


# ----------------------------------------------------------------------------- valid_agents, agent_models
@pytest.mark.parametrize("value, agents", [
    (None, ["claude_code"]),
    ("", ["claude_code"]),
    ("gemini, claude_code", ["claude_code", "gemini"]),
    (["codex"], ["codex"]),
    (("gemini", "codex", "claude_code"), THREE),
])
def test_valid_agents(value, agents):
    assert valid_agents(value) == agents


@pytest.mark.parametrize("value, words", [
    (["claude_code", "cursor"], "Unknown agent 'cursor' in agents: choose from claude_code, codex, gemini."),
    ([], "agents must be a non-empty list of claude_code, codex, gemini."),
    (7, "agents must be a non-empty list"),
])
def test_invalid_agents_are_a_filter_error_naming_the_choices(value, words):
    with pytest.raises(AnsibleFilterError, match=words.replace(".", r"\.")):
        valid_agents(value)


def test_agent_models_gives_each_selected_agents_settings_with_the_collections_defaults():
    claude = {"model": "databricks-claude-opus-4-6", "opus": "", "sonnet": "databricks-claude-sonnet-4-6", "haiku": ""}

    assert agent_models(None, claude) == claude
    assert agent_models(THREE, claude, "", None) == dict(
        claude, codex_model="databricks-gpt-5-5", gemini_model="databricks-gemini-2-5-pro")
    assert agent_models("gemini,codex", claude, " databricks-gpt-5-2 ", "databricks-gemini-3-pro") == {
        "codex_model": "databricks-gpt-5-2", "gemini_model": "databricks-gemini-3-pro"}


@pytest.mark.parametrize("args, words", [
    ((["codex"], {}, "gpt 5; rm -rf"), "codex_model must be a serving endpoint name"),
    ((["gemini"], {}, "", ["x"]), "gemini_model must be a serving endpoint name"),
    ((["claude_code"], ["model"]), "agent_models expects Claude Code's models as a dict"),
    ((["codex", "vim"],), "Unknown agent 'vim'"),
])
def test_agent_models_refuses_what_cannot_be_a_model(args, words):
    with pytest.raises(AnsibleFilterError, match=words):
        agent_models(*args)
