# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which agent a serving endpoint is for (_workspace.endpoint_agent): the one rule list_models, validate_models
and the doctor share."""

from __future__ import annotations

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws

CLAUDE, CODEX, GEMINI = ws.AGENT_CLAUDE_CODE, ws.AGENT_CODEX, ws.AGENT_GEMINI
MESSAGES, RESPONSES, GENERATE = "anthropic/v1/messages", "openai/v1/responses", "gemini/v1/generateContent"
CHAT_COMPLETIONS = "mlflow/v1/chat/completions"


def foundation(name, api_types=None, display_name=None, task="llm/v1/chat", entity_name=None):
    """A Foundation Model API endpoint as GET /api/2.0/serving-endpoints returns it."""
    model = {"name": name, "display_name": display_name or name}
    if api_types is not None:
        model.update(ai_gateway_v2_supported=True, api_types=list(api_types))
    return {"name": name, "task": task, "endpoint_type": "FOUNDATION_MODEL_API",
            "config": {"served_entities": [{"name": name, "entity_name": entity_name or name,
                                            "foundation_model": model}]}}


def external(name, provider, model_name, **config):
    """An external-model endpoint."""
    return {"name": name, "task": "llm/v1/chat", "endpoint_type": "EXTERNAL_MODEL",
            "config": {"served_entities": [{"name": name, "external_model": dict(
                {"provider": provider, "name": model_name, "task": "llm/v1/chat"}, **config)}]}}


def answer(endpoint):
    found = ws.endpoint_agent(endpoint)
    return found.agent, found.agents, found.source


# ------------------------------------------------------------------------------------- 1. task
@pytest.mark.parametrize("task", ["llm/v1/embeddings", "llm/v1/completions", "agent/v1/responses"])
def test_an_endpoint_that_is_no_chat_endpoint_is_for_no_agent_whatever_its_name(task):
    endpoint = foundation("databricks-claude-embed", api_types=[MESSAGES], task=task)

    assert answer(endpoint) == (None, (), "task")
    assert ws.endpoint_agent(endpoint).api_types == (MESSAGES,)


# ------------------------------------------------------------------------------- 2. api_types
@pytest.mark.parametrize("api_types, agent", [
    ([MESSAGES, CHAT_COMPLETIONS], CLAUDE),
    ([RESPONSES, CHAT_COMPLETIONS], CODEX),
    ([GENERATE, CHAT_COMPLETIONS], GEMINI),
])
def test_the_api_the_workspace_lists_decides(api_types, agent):
    endpoint = foundation("team-model", api_types=api_types)

    assert answer(endpoint) == (agent, (agent,), "api_types")
    assert ws.endpoint_agent(endpoint).api_types == tuple(api_types)


def test_the_listed_api_beats_the_name_and_the_foundation_model():
    endpoint = foundation("databricks-claude-renamed", api_types=[RESPONSES], display_name="Claude Sonnet 9")

    assert answer(endpoint) == (CODEX, (CODEX,), "api_types")


def test_a_model_listing_only_chat_completions_is_for_no_agent():
    endpoint = foundation("databricks-meta-llama-3-3-70b-instruct", api_types=[CHAT_COMPLETIONS])

    assert answer(endpoint) == (None, (), "api_types")
    assert ws.serves_agent(ws.endpoint_agent(endpoint), CLAUDE) is False


def test_a_model_listing_several_agents_apis_is_for_its_family_and_serves_them_all():
    gemini = foundation("databricks-gemini-3-pro", api_types=[GENERATE, RESPONSES, CHAT_COMPLETIONS])
    unnamed = foundation("team-router", api_types=[GENERATE, RESPONSES, MESSAGES])

    assert answer(gemini) == (GEMINI, (CODEX, GEMINI), "api_types")
    # Without a family: the first agent in the collection's order.
    assert answer(unnamed) == (CLAUDE, (CLAUDE, CODEX, GEMINI), "api_types")


def test_api_types_of_every_served_entity_count_once():
    endpoint = foundation("split", api_types=[RESPONSES])
    endpoint["config"]["served_entities"].append(
        {"name": "b", "foundation_model": {"name": "b", "api_types": [RESPONSES, " " + CHAT_COMPLETIONS, 7, ""]}})

    assert ws.endpoint_agent(endpoint).api_types == (RESPONSES, CHAT_COMPLETIONS)


# -------------------------------------------------------------------------------- 3. provider
@pytest.mark.parametrize("provider, model_name, config, agent", [
    ("anthropic", "claude-sonnet-4-5", {}, CLAUDE),
    ("openai", "gpt-4o", {"openai_config": {"openai_api_type": "azure"}}, CODEX),
    ("openai", "some-deployment", {}, CODEX),
    ("google-cloud-vertex-ai", "gemini-2.5-pro", {}, GEMINI),
    ("google-cloud-vertex-ai", "claude-3-5-sonnet@20240620", {}, CLAUDE),
    ("google-cloud-vertex-ai", "my-tuned-model", {}, GEMINI),
    ("amazon-bedrock", "anthropic.claude-3-haiku", {"amazon_bedrock_config": {"bedrock_provider": "anthropic"}},
     CLAUDE),
    ("amazon-bedrock", "cohere.command-r", {"amazon_bedrock_config": {"bedrock_provider": "cohere"}}, None),
    ("cohere", "command-r-plus", {}, None),
    ("ai21labs", "j2-mid", {}, None),
    ("custom", "gpt-4.1-mini", {}, CODEX),
    ("databricks-model-serving", "o3-mini", {}, CODEX),
])
def test_an_external_models_provider_decides(provider, model_name, config, agent):
    endpoint = external("databricks-claude-looking-name", provider, model_name, **config)

    assert answer(endpoint) == (agent, (agent,) if agent else (), "provider")


def test_a_custom_provider_with_an_unknown_model_leaves_it_to_the_name():
    assert answer(external("team-claude-proxy", "custom", "house-model")) == (CLAUDE, (CLAUDE,), "name")
    assert answer(external("team-proxy", "custom", "house-model")) == (None, (), None)


# ------------------------------------------------------------------------- 4. foundation model
@pytest.mark.parametrize("endpoint, agent", [
    (foundation("team-chat", display_name="Claude Sonnet 4.5"), CLAUDE),
    (foundation("team-chat", display_name="GPT-5.2"), CODEX),
    (foundation("team-chat", display_name="House model", entity_name="system.ai.gemini-3-pro"), GEMINI),
])
def test_the_foundation_models_name_decides_where_no_api_is_listed(endpoint, agent):
    assert answer(endpoint) == (agent, (agent,), "foundation_model")


# ---------------------------------------------------------------------------------- 5. name
@pytest.mark.parametrize("name, agent", [
    ("databricks-claude-opus-4-6", CLAUDE),
    ("my-Anthropic-proxy", CLAUDE),
    ("databricks-gpt-5-5", CODEX),
    ("databricks-gpt-oss-120b", CODEX),
    ("databricks-o3-mini", CODEX),
    ("gpt4o-team", CODEX),
    ("team-codex-mini", CODEX),
    ("databricks-gemini-2-5-flash", GEMINI),
    ("DATABRICKS-GEMINI-3-PRO", GEMINI),
    ("databricks-meta-llama-3-3-70b-instruct", None),
    ("llama-2-7b-gptq", None),
    ("solo3-model", None),
    ("databricks-gte-large-en", None),
])
def test_the_endpoints_name_is_the_last_resort(name, agent):
    assert answer({"name": name}) == (agent, (agent,) if agent else (), "name" if agent else None)


def test_endpoint_objects_of_any_shape_do_not_break_it():
    for odd in ({}, {"name": None}, {"config": "x"}, {"config": {"served_entities": "x"}},
                {"config": {"served_entities": [None, {"foundation_model": "x", "external_model": []}]}}):
        assert answer(odd) == (None, (), None)


def test_the_compact_shape_carries_its_answer():
    compact = {"name": "databricks-claude-x", "agent": GEMINI, "agents": [GEMINI], "agent_source": "api_types",
               "api_types": [GENERATE]}

    assert ws.endpoint_agent(compact) == ws.EndpointAgent(GEMINI, (GEMINI,), "api_types", (GENERATE,))


# --------------------------------------------------------------------------- serves_agent, settings
def test_serves_agent_says_yes_no_or_unknown():
    claude = ws.endpoint_agent(foundation("databricks-claude-x", api_types=[MESSAGES]))
    gemini_by_name = ws.endpoint_agent({"name": "databricks-gemini-x"})
    unknown = ws.endpoint_agent({"name": "team-proxy"})
    embeddings = ws.endpoint_agent({"name": "databricks-gte", "task": "llm/v1/embeddings"})

    assert ws.serves_agent(claude, CLAUDE) is True
    assert ws.serves_agent(claude, CODEX) is False
    assert ws.serves_agent(gemini_by_name, CODEX) is False
    assert ws.serves_agent(unknown, CODEX) is None
    assert ws.serves_agent(embeddings, CLAUDE) is None


@pytest.mark.parametrize("setting, agent", [
    ("model", CLAUDE), ("opus", CLAUDE), ("sonnet", CLAUDE), ("haiku", CLAUDE),
    ("codex_model", CODEX), ("gemini_model", GEMINI), ("fallback", None), (None, None),
])
def test_each_model_setting_belongs_to_one_agent(setting, agent):
    assert ws.setting_agent(setting) == agent


def test_every_agent_has_an_api_a_family_settings_and_defaults():
    for agent in ws.AGENTS:
        assert ws.AGENT_API_TYPES[agent] and ws.AGENT_API_NAMES[agent] and ws.AGENT_MODEL_FAMILIES[agent]
        for setting in ws.AGENT_MODEL_SETTINGS[agent]:
            assert ws.endpoint_agent({"name": ws.DEFAULT_AGENT_MODELS[setting]}).agent == agent
