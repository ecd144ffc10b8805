#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""List the serving endpoints of a Databricks workspace and check the models a coding agent is configured with."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: serving_endpoints_info
short_description: List a Databricks workspace's serving endpoints and check configured model names
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Lists the model serving endpoints of a Databricks workspace (for example the Foundation Model API endpoints
    C(databricks-claude-sonnet-4-6)), all of them, following the server's pagination when it paginates.
  - Or reads only the endpoints named in O(name).
  - Returns each endpoint in a compact shape (name, readiness, configuration update state, task, endpoint type,
    served entities and foundation models, and the coding agent it is for), sorted by name, optionally filtered by
    a glob (O(name_pattern)) and a JMESPath expression (O(query)).
  - "Tells Claude, GPT and Gemini endpoints apart: each endpoint's RV(endpoints[].agent) is V(claude_code) (Claude
    models: Anthropic Messages API), V(codex) (GPT models: OpenAI Responses API), V(gemini) (Gemini models: Gemini
    API) or V(null) (embeddings and other models). What decides, the first that says: the endpoint's C(task) (not
    a chat endpoint: V(null)); the APIs the workspace lists for its foundation model
    (C(config.served_entities[].foundation_model.api_types)); an external model's provider; the foundation model's
    name; the endpoint's name (C(databricks-claude-*), C(databricks-gpt-*), C(databricks-o3-*), C(*codex*),
    C(databricks-gemini-*))."
  - Checks the endpoint names the coding agents are configured with (O(validate)) and reports, for each, whether it
    exists, serves the API of the agent the setting is for, and is ready, with a hint on what to do otherwise.
    Failed checks do not fail the module unless O(fail_on_invalid=true), so that a doctor can report every finding
    at once.
  - Talks to the workspace with databricks-sdk, as the developer's Databricks CLI login (O(profile)) or with a
    token (O(host) and O(token)). Errors (expired login, missing permission, wrong host, no network, untrusted TLS
    certificate, missing CLI) fail the module with a message that says what to do.
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
  - fmapi.coding_agents.attributes.INFO_MODULE
  - fmapi.coding_agents.databricks_auth
attributes:
  check_mode:
    support: full
  diff_mode:
    support: N/A
  idempotent:
    support: full
options:
  name:
    description:
      - Read only these endpoints (C(GET /api/2.0/serving-endpoints/NAME) each) instead of listing all of them.
      - Names that do not exist are returned in RV(missing); they do not fail the module.
      - When O(validate) names any endpoint, the whole workspace is listed once instead, and RV(endpoints) is
        narrowed to these names.
    type: list
    elements: str
    aliases: [names]
  name_pattern:
    description:
      - Keep only endpoints whose name matches this shell-style glob (V(*), V(?), V([seq])), case-sensitively,
        for example V(databricks-claude-*).
    type: str
  query:
    description:
      - A L(JMESPath,https://jmespath.org/) expression applied to the list of endpoints (in the shape of
        RV(endpoints), after O(name) and O(name_pattern)), for example
        V([?task=='llm/v1/chat' && starts_with(name, 'databricks-claude')]).
      - It must select endpoints, that is produce a list of objects; project fields afterwards in Jinja
        (for example C(map(attribute='name'))).
      - Needs the Python library C(jmespath) on the managed node.
    type: str
  include_raw:
    description:
      - Add each endpoint as the REST API returned it, under RV(endpoints[].raw).
    type: bool
    default: false
  validate:
    description:
      - "Endpoint names to check, keyed by the role they play, for example
        C({model: databricks-claude-sonnet-4-6, opus: databricks-claude-opus-4-6, haiku: databricks-claude-haiku-4-5})."
      - An empty value means the role is not configured; it is reported as V(SKIP).
      - "The keys V(model), V(opus), V(sonnet) and V(haiku) are Claude Code's settings, V(codex_model) Codex CLI's and
        V(gemini_model) Gemini CLI's (the variables of the setup playbook): their endpoint must serve that agent's API,
        or the check is V(FAIL) (for example a Gemini endpoint as V(codex_model)). Other keys are not checked for an
        agent unless O(role_agents) names one."
      - Results are in RV(validation), in the order given. Checks are made against the whole workspace, not the
        filtered RV(endpoints).
    type: dict
  role_agents:
    description:
      - Which agent (V(claude_code), V(codex) or V(gemini)) a key of O(validate) configures, where it is not one of
        the setup's settings, or to override them. With an empty value the key is not checked for an agent.
    type: dict
  report_errors:
    description:
      - When the workspace cannot be reached, refuses the login, or the login is missing, do not fail; return the
        problem in RV(error) and as a failed C(Connectivity) check in RV(checks), with the configured models as
        V(SKIP). For doctors and setups that report every finding and go on.
    type: bool
    default: false
  probe_ai_gateway:
    description:
      - Also ask the workspace once whether it serves the AI Gateway routes (C(GET /api/ai-gateway/v2/endpoints),
        one item), and return the answer in RV(ai_gateway). For O(validate) or O(name) the endpoints are listed as
        well; without them only the probe runs.
    type: bool
    default: false
    version_added: 0.2.0
  fail_on_invalid:
    description:
      - Fail the module when a check of O(validate) has status V(FAIL) (the endpoint does not exist, or serves
        another agent's API).
        V(WARN) results never fail it.
      - With V(false), the findings are only reported in RV(validation) and RV(validation_failed).
    type: bool
    default: false
requirements:
  - jmespath (Python) on the managed node, only when O(query) is used
notes:
  - "Endpoints are listed with C(GET /api/2.0/serving-endpoints) through the SDK's API client rather than
    the SDK's C(serving_endpoints.list) method, which drops C(endpoint_type) and the foundation models'
    C(api_types) and C(ai_gateway_v2_supported)."
seealso:
  - name: Databricks serving endpoints REST API
    description: The API this module reads.
    link: https://docs.databricks.com/api/workspace/servingendpoints/list
  - name: Databricks CLI authentication
    description: How C(databricks auth login) creates the profile this module logs in with.
    link: https://docs.databricks.com/dev-tools/cli/authentication.html
"""

EXAMPLES = r"""
- name: List the workspace's serving endpoints as the developer's CLI login
  fmapi.coding_agents.serving_endpoints_info:
    profile: fmapi-claudecode-profile
  register: serving

- name: Show the ready Claude chat endpoints
  ansible.builtin.debug:
    msg: "{{ serving.endpoints | selectattr('ready', 'equalto', 'READY') | map(attribute='name') | list }}"

- name: Only Claude chat endpoints, with a JMESPath filter
  fmapi.coding_agents.serving_endpoints_info:
    profile: fmapi-claudecode-profile
    query: "[?task=='llm/v1/chat' && starts_with(name, 'databricks-claude')]"
  register: claude_endpoints

- name: Check the models Claude Code is configured with (a doctor reports, it does not stop)
  fmapi.coding_agents.serving_endpoints_info:
    profile: fmapi-claudecode-profile
    name_pattern: "databricks-claude-*"
    validate:
      model: databricks-claude-sonnet-4-6
      opus: databricks-claude-opus-4-6
      sonnet: databricks-claude-sonnet-4-6
      haiku: databricks-claude-haiku-4-5
  register: model_check

- name: Report what needs fixing
  ansible.builtin.debug:
    msg: "{{ item.role }}: {{ item.status }} {{ item.message }} {{ item.hint }}"
  loop: "{{ model_check.validation }}"
  when: item.status in ['FAIL', 'WARN']

- name: Check the models of all three agents (each must serve its agent's API)
  fmapi.coding_agents.serving_endpoints_info:
    profile: fmapi-claudecode-profile
    validate:
      model: databricks-claude-opus-4-6
      codex_model: databricks-gpt-5-5
      gemini_model: databricks-gemini-2-5-pro
  register: model_check

- name: The endpoints Codex CLI can use
  ansible.builtin.debug:
    msg: "{{ model_check.endpoints | selectattr('agent', 'equalto', 'codex') | map(attribute='name') | list }}"

- name: Stop an install when a configured model does not exist
  fmapi.coding_agents.serving_endpoints_info:
    profile: fmapi-claudecode-profile
    name: [databricks-claude-opus-4-6]
    validate:
      opus: databricks-claude-opus-4-6
    fail_on_invalid: true

- name: With a personal access token, trusting a corporate TLS-inspection CA
  fmapi.coding_agents.serving_endpoints_info:
    host: https://dbc-1234abcd-5678.cloud.databricks.com
    token: "{{ databricks_token }}"
    ca_file: /etc/ssl/certs/corporate-ca.pem
    name_pattern: "databricks-*"
"""

RETURN = r"""
checks:
  description:
    - The connectivity check and one check per O(validate) entry, as the C(doctor) playbook prints them with
      M(fmapi.coding_agents.report), each with C(category) (V(Connectivity) or V(Models)), C(status), C(label),
      C(value) and C(fix).
  returned: always
  type: list
  elements: dict
  sample:
    - {category: Connectivity, status: PASS, label: Workspace,
       value: https://my-workspace.cloud.databricks.com answered (42 serving endpoints), fix: ""}
    - {category: Models, status: FAIL, label: sonnet, value: "Endpoint 'databricks-claude-sonnet-9' does not exist.",
       fix: "Pick one of: databricks-claude-sonnet-4-6."}
error:
  description: With O(report_errors=true), why the workspace could not be asked; V(null) when it answered.
  returned: always
  type: str
endpoints:
  description:
    - The serving endpoints, after O(name), O(name_pattern) and O(query), sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Endpoint name, the model name a client sends.
      type: str
      sample: databricks-claude-sonnet-4-6
    ready:
      description: Whether the endpoint serves requests (V(READY) or V(NOT_READY)); V(null) if the API did not say.
      type: str
      sample: READY
    config_update:
      description:
        - State of the latest configuration change (V(NOT_UPDATING), V(IN_PROGRESS), V(UPDATE_FAILED),
          V(UPDATE_CANCELED)); V(null) if the API did not say.
      type: str
      sample: NOT_UPDATING
    state:
      description: One-line summary of RV(endpoints[].ready) and RV(endpoints[].config_update).
      type: str
      sample: READY (configuration update in progress)
    task:
      description: What the endpoint does, for example V(llm/v1/chat) or V(llm/v1/embeddings); V(null) if unknown.
      type: str
      sample: llm/v1/chat
    endpoint_type:
      description: Kind of endpoint, for example V(FOUNDATION_MODEL_API) or V(EXTERNAL_MODEL); V(null) if unknown.
      type: str
      sample: FOUNDATION_MODEL_API
    served_entities:
      description: Names of the entities (models) the endpoint serves.
      type: list
      elements: str
      sample: [databricks-claude-sonnet-4-6]
    foundation_models:
      description: Names of the foundation models among them.
      type: list
      elements: str
      sample: [databricks-claude-sonnet-4-6]
    creator:
      description: Who created the endpoint (V(null) if not reported).
      type: str
      sample: system
    agent:
      description:
        - The coding agent the endpoint is for, V(claude_code), V(codex) or V(gemini); V(null) for embeddings and
          other models, and for an endpoint nothing is known about (see RV(endpoints[].agent_source)).
      type: str
      sample: claude_code
    agents:
      description:
        - Every agent whose API the endpoint serves; where the workspace lists several APIs for it, more than
          RV(endpoints[].agent).
      type: list
      elements: str
      sample: [claude_code]
    agent_source:
      description:
        - What decided RV(endpoints[].agent), the first that says, V(task) (not a chat endpoint), V(api_types),
          V(provider) (an external model's), V(foundation_model), V(name); V(null) when nothing did.
      type: str
      sample: api_types
    api_types:
      description:
        - The APIs the workspace lists for the endpoint's foundation model, for example V(anthropic/v1/messages),
          V(openai/v1/responses), V(gemini/v1/generateContent), V(mlflow/v1/chat/completions); empty where it lists
          none.
      type: list
      elements: str
      sample: [anthropic/v1/messages, mlflow/v1/chat/completions]
    raw:
      description: The endpoint as the REST API returned it.
      type: dict
      returned: O(include_raw=true)
count:
  description: Number of entries in RV(endpoints).
  returned: success
  type: int
  sample: 11
missing:
  description: Names given in O(name) that the workspace does not have (or does not show to this login).
  returned: success
  type: list
  elements: str
  sample: []
validation:
  description: One check per entry of O(validate), in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    role:
      description: The key of O(validate).
      type: str
      sample: opus
    endpoint:
      description: The endpoint name checked (V(null) when not configured).
      type: str
      sample: databricks-claude-opus-4-6
    agent:
      description: The agent the role configures (see O(validate) and O(role_agents)); V(null) when none.
      type: str
      sample: claude_code
    endpoint_agent:
      description: The agent the endpoint is for (RV(endpoints[].agent)); V(null) when it does not exist or is for none.
      type: str
      sample: claude_code
    status:
      description:
        - V(PASS) the endpoint exists, serves the agent's API and is ready.
        - V(WARN) it exists but is not ready, its configuration update is in progress or failed, it is not a
          chat endpoint, or it is another family's model for which the workspace also lists the agent's API.
        - V(FAIL) it does not exist (or is not visible to this login), or it serves another agent's API (or none of
          theirs) and not the one of the agent the role is for.
        - V(SKIP) the role is not configured.
      type: str
      sample: PASS
    message:
      description: What was found.
      type: str
      sample: Endpoint 'databricks-claude-opus-4-6' exists and is READY.
    hint:
      description: What to do about it; empty when nothing needs doing.
      type: str
      sample: "Pick an existing endpoint, for example one of: databricks-claude-opus-4-5, databricks-claude-opus-4-6."
ai_gateway:
  description:
    - With O(probe_ai_gateway), whether the workspace serves the AI Gateway routes (V(true)), does not (V(false), it
      answered 404), or could not tell (V(null), any other answer; a warning says which).
  returned: when O(probe_ai_gateway=true) and the workspace answered
  type: bool
  sample: true
validation_failed:
  description: Whether any check of RV(validation) has status V(FAIL).
  returned: success
  type: bool
  sample: false
host:
  description: The workspace URL that was queried (also returned by failures once the URL is known).
  returned: success
  type: str
  sample: https://dbc-1234abcd-5678.cloud.databricks.com
"""

import difflib
import fnmatch
import traceback
import typing as t
from urllib.parse import quote

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _checks as ck
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._databricks_sdk import (
    DatabricksSdkModule,
    WorkspaceError,
    http_status,
)

JMESPATH_IMPORT_ERROR = None  # type: t.Optional[str]
try:
    import jmespath
    from jmespath.exceptions import JMESPathError
except ImportError:
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_JMESPATH = True

LIST_PATH = "/api/2.0/serving-endpoints"
CHAT_TASK = ws.CHAT_TASK
# A runaway server (a page token that never ends) must not keep the module busy forever.
MAX_PAGES = 10000
MAX_SUGGESTIONS = 6

PASS = "PASS"
WARN = "WARN"
FAIL = "FAIL"
SKIP = "SKIP"

HEALTHY_CONFIG_UPDATES = (None, "NOT_UPDATING", "UPDATE_CANCELED")
_CONFIG_UPDATE_WORDS = {
    "IN_PROGRESS": "configuration update in progress",
    "UPDATE_FAILED": "last configuration update failed",
    "UPDATE_CANCELED": "last configuration update canceled",
}


class EndpointListingError(Exception):
    """The workspace's answers cannot be turned into a list of endpoints."""


class QueryError(Exception):
    """The JMESPath query is invalid or does not select endpoints."""


# ----------------------------------------------------------------------------- reading
def list_all_endpoints(api_client: t.Any, max_pages: int = MAX_PAGES) -> t.List[t.Dict[str, t.Any]]:
    """Every endpoint of the workspace, following ``next_page_token`` (raw API objects, in server order)."""
    endpoints = {}  # type: t.Dict[str, t.Dict[str, t.Any]]
    unnamed = []  # type: t.List[t.Dict[str, t.Any]]
    seen_tokens = set()  # type: t.Set[str]
    page_token = None  # type: t.Optional[str]
    for _page in range(max_pages):
        answer = api_client.do("GET", LIST_PATH, query={"page_token": page_token} if page_token else {})
        if not isinstance(answer, dict):
            raise EndpointListingError(
                "GET %s answered %s instead of an object with 'endpoints'" % (LIST_PATH, type(answer).__name__))
        page = answer.get("endpoints") or []
        if not isinstance(page, list):
            raise EndpointListingError("GET %s answered 'endpoints' that is not a list" % LIST_PATH)
        for endpoint in page:
            if not isinstance(endpoint, dict):
                continue
            # A list that changes while it is paged can repeat an endpoint: keep its latest form once.
            if isinstance(endpoint.get("name"), str):
                endpoints[endpoint["name"]] = endpoint
            else:
                unnamed.append(endpoint)
        page_token = answer.get("next_page_token") or None
        if not page_token:
            return list(endpoints.values()) + unnamed
        if page_token in seen_tokens:
            raise EndpointListingError(
                "GET %s returned the page token %r twice; the listing would never end" % (LIST_PATH, page_token))
        seen_tokens.add(page_token)
    raise EndpointListingError("GET %s still had more pages after %d pages; giving up" % (LIST_PATH, max_pages))


def probe_ai_gateway(api_client: t.Any, warn: t.Callable[[str], None]) -> t.Optional[bool]:
    """Whether the workspace serves the AI Gateway routes: its v2 endpoint list answers (True) or is not there
    (404: False). Any other answer cannot tell (None), and ``warn`` says why."""
    path, _sep, query = ws.AI_GATEWAY_PROBE.partition("?")
    try:
        api_client.do("GET", path, query=dict(part.split("=", 1) for part in query.split("&") if part))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        if http_status(exc) == 404:
            return False
        warn("Could not tell whether the workspace serves the AI Gateway routes (%s): the serving-endpoints routes "
             "are used. Set endpoint_style to ai-gateway or serving-endpoints to choose." % _one_line(exc))
        return None
    return True


def is_missing_endpoint(error: BaseException) -> bool:
    """Whether an SDK error says the requested endpoint does not exist (not that the URL is wrong)."""
    return getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


def get_endpoints_by_name(api_client: t.Any, names: t.Sequence[str]
                          ) -> t.Tuple[t.List[t.Dict[str, t.Any]], t.List[str]]:
    """The named endpoints (raw) and the names that do not exist."""
    found = []
    missing = []
    for name in dict.fromkeys(names):
        try:
            answer = api_client.do("GET", "%s/%s" % (LIST_PATH, quote(name, safe="")))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if is_missing_endpoint(exc):
                missing.append(name)
                continue
            raise
        if not isinstance(answer, dict):
            raise EndpointListingError("GET %s/%s answered %s instead of an endpoint object"
                                       % (LIST_PATH, name, type(answer).__name__))
        found.append(answer)
    return found, missing


# ----------------------------------------------------------------------------- shaping
def _text(value: t.Any) -> t.Optional[str]:
    return value if isinstance(value, str) and value else None


def state_summary(ready: t.Optional[str], config_update: t.Optional[str]) -> str:
    """One line such as ``READY`` or ``NOT_READY (configuration update in progress)``."""
    summary = ready or "UNKNOWN"
    words = _CONFIG_UPDATE_WORDS.get(config_update or "")
    if words is None and config_update and config_update != "NOT_UPDATING":
        words = "configuration update %s" % config_update
    return "%s (%s)" % (summary, words) if words else summary


def compact_endpoint(raw: t.Dict[str, t.Any], include_raw: bool = False) -> t.Dict[str, t.Any]:
    """The documented compact shape of one endpoint object of the REST API."""
    state = raw.get("state") if isinstance(raw.get("state"), dict) else {}
    ready = _text(state.get("ready"))
    config_update = _text(state.get("config_update"))
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    entities = config.get("served_entities") or config.get("served_models") or []
    served_entities = []
    foundation_models = []
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict):
            continue
        entity_name = _text(entity.get("name")) or _text(entity.get("entity_name")) or _text(entity.get("model_name"))
        if entity_name and entity_name not in served_entities:
            served_entities.append(entity_name)
        model = entity.get("foundation_model")
        model_name = _text(model.get("name")) if isinstance(model, dict) else None
        if model_name and model_name not in foundation_models:
            foundation_models.append(model_name)
    result = {
        "name": _text(raw.get("name")),
        "ready": ready,
        "config_update": config_update,
        "state": state_summary(ready, config_update),
        "task": _text(raw.get("task")),
        "endpoint_type": _text(raw.get("endpoint_type")),
        "served_entities": served_entities,
        "foundation_models": foundation_models,
        "creator": _text(raw.get("creator")),
    }  # type: t.Dict[str, t.Any]
    served = ws.endpoint_agent(raw)
    result.update(agent=served.agent, agents=list(served.agents), agent_source=served.source,
                  api_types=list(served.api_types))
    if include_raw:
        result["raw"] = raw
    return result


def sort_by_name(endpoints: t.List[t.Dict[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """Endpoints sorted by name (nameless ones last)."""
    return sorted(endpoints, key=lambda endpoint: (endpoint.get("name") is None, str(endpoint.get("name") or "")))


# ----------------------------------------------------------------------------- filtering
def filter_by_pattern(endpoints: t.List[t.Dict[str, t.Any]], pattern: t.Optional[str]) -> t.List[t.Dict[str, t.Any]]:
    """Endpoints whose name matches the glob (all when no pattern)."""
    if not pattern:
        return list(endpoints)
    return [endpoint for endpoint in endpoints if fnmatch.fnmatchcase(endpoint.get("name") or "", pattern)]


def compile_query(query: str) -> t.Any:
    """The parsed JMESPath expression; QueryError explains a syntax error."""
    try:
        return jmespath.compile(query)
    except JMESPathError as exc:
        raise QueryError("query %r is not a valid JMESPath expression: %s" % (query, _one_line(exc)))


def apply_query(endpoints: t.List[t.Dict[str, t.Any]], query: str) -> t.List[t.Dict[str, t.Any]]:
    """The endpoints a JMESPath expression selects; QueryError explains a bad expression or result."""
    compiled = compile_query(query)
    try:
        result = compiled.search(endpoints)
    except JMESPathError as exc:
        raise QueryError("query %r could not be evaluated: %s" % (query, _one_line(exc)))
    if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
        raise QueryError(
            "query %r must select endpoints (a list of objects, e.g. [?task=='llm/v1/chat']) but produced %s; "
            "project fields afterwards in Jinja, e.g. map(attribute='name')" % (query, _describe(result)))
    return result


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _describe(value: t.Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        kinds = sorted({type(item).__name__ for item in value if not isinstance(item, dict)})
        return "a list containing %s" % ", ".join(kinds)
    return "a single %s" % type(value).__name__


# ----------------------------------------------------------------------------- validation
def _usable(endpoints: t.Sequence[t.Dict[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """Healthy chat endpoints (ones that would PASS)."""
    return [e for e in endpoints
            if e.get("name") and e.get("ready") == "READY" and e.get("task") in (None, CHAT_TASK)
            and e.get("config_update") in HEALTHY_CONFIG_UPDATES]


def _suggestions(role: str, wanted: str, endpoints: t.Sequence[t.Dict[str, t.Any]],
                 agent: t.Optional[str] = None) -> t.List[str]:
    """Healthy chat endpoints that could replace ``wanted``, the most alike first.

    For a setting of an agent, only endpoints for that agent; otherwise Claude endpoints first, then any.
    """
    usable = [e["name"] for e in _usable(endpoints) if not agent or e.get("agent") == agent]
    family = [word for word in (role or "").lower().replace("_", "-").split("-") if len(word) > 2]
    if agent:
        tiers = [[name for name in usable if any(word in name for word in family)], usable]
    else:
        tiers = [[name for name in usable if "claude" in name and any(word in name for word in family)],
                 [name for name in usable if "claude" in name],
                 usable]
    for candidates in tiers:
        if candidates:
            close = difflib.get_close_matches(wanted, candidates, n=len(candidates), cutoff=0.0)
            return close[:MAX_SUGGESTIONS]
    return []


def _pick_hint(role: str, wanted: str, endpoints: t.Sequence[t.Dict[str, t.Any]], lead: str,
               agent: t.Optional[str] = None) -> str:
    choices = [name for name in _suggestions(role, wanted, endpoints, agent) if name != wanted]
    if not choices:
        which = ("ready chat endpoint for %s (a %s model)" % (ws.AGENT_LABELS[agent], ws.AGENT_MODEL_FAMILIES[agent])
                 if agent else "ready chat endpoint")
        return ("%s This workspace has no %s to use instead: ask a workspace admin to enable the Foundation Model "
                "APIs or to create a serving endpoint." % (lead, which)).strip()
    return ("%s Pick one of: %s." % (lead, ", ".join(choices))).strip()


def _evidence(endpoint: t.Mapping[str, t.Any]) -> str:
    """Why the endpoint is taken for what it serves, for messages."""
    source = endpoint.get("agent_source")
    if source == ws.AGENT_SOURCE_API_TYPES:
        return "the workspace lists its APIs: %s" % ", ".join(endpoint.get("api_types") or [])
    return {ws.AGENT_SOURCE_PROVIDER: "by its external model's provider",
            ws.AGENT_SOURCE_FOUNDATION_MODEL: "by its foundation model",
            ws.AGENT_SOURCE_NAME: "by its name"}.get(source, "")


def _wrong_agent(role: str, name: str, endpoint: t.Mapping[str, t.Any], endpoints: t.Sequence[t.Dict[str, t.Any]],
                 agent: str) -> t.Optional[t.Dict[str, t.Any]]:
    """The check of an endpoint that serves another agent's API than ``agent`` needs (None when it does not)."""
    served = ws.endpoint_agent(endpoint)
    primary = served.agent
    label, family, api = ws.AGENT_LABELS[agent], ws.AGENT_MODEL_FAMILIES[agent], ws.AGENT_API_NAMES[agent]
    needs = "%s needs a %s model (%s)." % (role, family, api)
    suits = ws.serves_agent(served, agent)
    if suits is None or (suits and primary in (None, agent)):
        # Nothing is known about it (a custom endpoint), it is no chat endpoint (the chat check says so), or it fits.
        return None
    if suits:
        return dict(role=role, endpoint=name, status=WARN, agent=agent, endpoint_agent=primary,
                    message="Endpoint '%s' is a %s model (for %s); the workspace lists the %s for it too, so %s "
                            "may work with it, but it is made for %s models." % (
                                name, ws.AGENT_MODEL_FAMILIES[primary], ws.AGENT_LABELS[primary], api, label, family),
                    hint=_pick_hint(role, name, endpoints, "", agent))
    if primary:
        found = "serves %s (a %s model, %s), not %s" % (
            ws.AGENT_LABELS[primary], ws.AGENT_MODEL_FAMILIES[primary], _evidence(endpoint), label)
    else:
        found = "serves none of the coding agents' APIs (%s), so not %s" % (_evidence(endpoint), label)
    return dict(role=role, endpoint=name, status=FAIL, agent=agent, endpoint_agent=primary,
                message="Endpoint '%s' %s: %s" % (name, found, needs),
                hint=_pick_hint(role, name, endpoints, "", agent))


def check_model(role: str, wanted: t.Any, by_name: t.Mapping[str, t.Dict[str, t.Any]],
                endpoints: t.Sequence[t.Dict[str, t.Any]], host: str,
                agent: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """One entry of ``validation``; ``agent`` is the agent the setting configures (None: not checked for it)."""
    entry = _check_model(role, wanted, by_name, endpoints, host, agent)
    entry.setdefault("agent", agent)
    endpoint = by_name.get(entry["endpoint"] or "")
    entry.setdefault("endpoint_agent", endpoint.get("agent") if endpoint else None)
    return entry


def _check_model(role: str, wanted: t.Any, by_name: t.Mapping[str, t.Dict[str, t.Any]],  # noqa: C901
                 endpoints: t.Sequence[t.Dict[str, t.Any]], host: str,
                 agent: t.Optional[str]) -> t.Dict[str, t.Any]:
    # pylint: disable=too-many-return-statements
    name = wanted.strip() if isinstance(wanted, str) else wanted
    if not name:
        return dict(role=role, endpoint=None, status=SKIP, message="No endpoint is configured for %s." % role,
                    hint="")
    endpoint = by_name.get(name)
    if endpoint is None:
        alike = [other for other, found in by_name.items()
                 if not agent or agent in (found.get("agents") or []) or found.get("agent_source") is None]
        close = difflib.get_close_matches(name, alike, n=1, cutoff=0.85)
        lead = ("Did you mean '%s'?" % close[0]) if close else "Configure an endpoint that exists."
        return dict(role=role, endpoint=name, status=FAIL,
                    message="Endpoint '%s' does not exist in %s (or is not visible to this login)." % (name, host),
                    hint=_pick_hint(role, name, endpoints, lead, agent))
    wrong = _wrong_agent(role, name, endpoint, endpoints, agent) if agent else None
    if wrong and wrong["status"] == FAIL:
        return wrong
    ready = endpoint.get("ready")
    update = endpoint.get("config_update")
    task = endpoint.get("task")
    if ready != "READY":
        return dict(role=role, endpoint=name, status=WARN,
                    message="Endpoint '%s' exists but is not ready (state %s)." % (name, endpoint.get("state")),
                    hint=_pick_hint(role, name, endpoints,
                                    "Wait until it is READY (see Serving in the workspace), or use another.", agent))
    if task and task != CHAT_TASK:
        return dict(role=role, endpoint=name, status=WARN,
                    message="Endpoint '%s' is a %s endpoint, not a chat model (%s)." % (name, task, CHAT_TASK),
                    hint=_pick_hint(role, name, endpoints, "A coding agent needs a chat endpoint.", agent))
    if wrong:
        return wrong
    if update == "IN_PROGRESS":
        return dict(role=role, endpoint=name, status=WARN,
                    message="Endpoint '%s' is READY, but a configuration update is in progress." % name,
                    hint="Requests are served by the current configuration meanwhile; check again once the "
                         "update has finished.")
    if update == "UPDATE_FAILED":
        return dict(role=role, endpoint=name, status=WARN,
                    message="Endpoint '%s' is READY, but its last configuration update failed." % name,
                    hint="It keeps serving its previous configuration; ask the endpoint's owner to look at the "
                         "failed update under Serving in the workspace.")
    message = "Endpoint '%s' exists and is READY." % name
    if update == "UPDATE_CANCELED":
        message = ("Endpoint '%s' exists and is READY (its last configuration update was canceled; it serves the "
                   "previous configuration)." % name)
    return dict(role=role, endpoint=name, status=PASS, message=message, hint="")


def role_agent(role: str, role_agents: t.Optional[t.Mapping[str, t.Any]] = None) -> t.Optional[str]:
    """The agent a key of ``validate`` configures: as ``role_agents`` says, else by the setting's name."""
    if role_agents and role in role_agents:
        return role_agents[role] or None
    return ws.setting_agent(role)


def validate_models(wanted: t.Mapping[str, t.Any], endpoints: t.Sequence[t.Dict[str, t.Any]],
                    host: str, role_agents: t.Optional[t.Mapping[str, t.Any]] = None) -> t.List[t.Dict[str, t.Any]]:
    """The ``validation`` list for ``wanted`` (role -> endpoint name) against all endpoints (compact)."""
    by_name = {endpoint["name"]: endpoint for endpoint in endpoints if endpoint.get("name")}
    return [check_model(str(role), name, by_name, endpoints, host, role_agent(str(role), role_agents))
            for role, name in (wanted or {}).items()]


def model_checks(validation: t.Sequence[t.Dict[str, t.Any]]) -> t.List[t.Dict[str, str]]:
    """One check of category Models per entry of ``validation``."""
    checks = []
    for entry in validation:
        fix = entry["hint"]
        if entry["status"] in (FAIL, WARN):
            switch = "To switch: %s -e %s=<endpoint>" % (ck.SETUP_COMMAND, entry["role"])
            fix = "%s\n%s" % (fix, switch) if fix else switch
        checks.append(ck.check(ck.MODELS, entry["status"], entry["role"], entry["message"], fix))
    return checks


def unreachable_checks(message: str, wanted: t.Mapping[str, t.Any],
                       host: t.Optional[str] = None) -> t.List[t.Dict[str, str]]:
    """The checks when the workspace could not be asked: Connectivity FAIL with its fix, every model SKIP."""
    lowered = message.lower()
    if "auth login" in lowered:
        fix = "Log in again: %s" % ck.REAUTH_COMMAND
    elif "http 403" in lowered:
        fix = ("The login works but lacks a permission: ask a workspace admin for access to Model Serving (CAN QUERY "
               "on the serving endpoints)")
    elif "internal problem" in lowered or "http 5" in lowered or "rate-limiting" in lowered:
        fix = ("The workspace's side, not this laptop's: try again later, and tell the workspace admins if it persists "
               "(with the time it failed)")
    elif "404" in lowered or "does not look like a databricks workspace" in lowered:
        fix = "Check the workspace URL: it should be the one your browser shows for the workspace (https://...)"
    elif "certificate" in lowered or "tls" in lowered:
        fix = "Trust your organisation's CA: point SSL_CERT_FILE and REQUESTS_CA_BUNDLE at a PEM bundle with it"
    elif "not in" in lowered and "profile" in lowered:
        fix = ck.SETUP_COMMAND
    else:
        fix = ("Check that %s is your workspace URL and that this machine reaches it: connect to the VPN or "
               "network the workspace is on, and check proxy settings (HTTPS_PROXY, NO_PROXY)"
               % (host or "the workspace URL"))
    checks = [ck.check(ck.CONNECTIVITY, ck.FAIL, "Workspace", message, fix)]
    for role, name in (wanted or {}).items():
        checks.append(ck.check(ck.MODELS, ck.SKIP, str(role), "%s: needs a working connection (see Connectivity)" % name
                               if name else "not configured"))
    return checks


def bad_validate_entries(wanted: t.Mapping[str, t.Any]) -> t.List[str]:
    """Roles of ``validate`` whose value is not a name."""
    return [str(role) for role, name in (wanted or {}).items() if name is not None and not isinstance(name, str)]


def bad_role_agents(role_agents: t.Mapping[str, t.Any]) -> t.List[str]:
    """Keys of ``role_agents`` whose value is neither an agent nor empty."""
    return [str(role) for role, agent in (role_agents or {}).items() if agent and agent not in ws.AGENTS]


# ----------------------------------------------------------------------------- module
def run_module() -> None:
    """Module entry point."""
    sdk_module = DatabricksSdkModule(
        argument_spec=dict(
            name=dict(type="list", elements="str", aliases=["names"]),
            name_pattern=dict(type="str"),
            query=dict(type="str"),
            include_raw=dict(type="bool", default=False),
            validate=dict(type="dict"),
            role_agents=dict(type="dict"),
            report_errors=dict(type="bool", default=False),
            fail_on_invalid=dict(type="bool", default=False),
            probe_ai_gateway=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    sdk_module.require_sdk()
    params = sdk_module.params
    wanted = params["validate"] or {}
    bad_roles = bad_validate_entries(wanted)
    if bad_roles:
        sdk_module.fail_json(msg="validate must map each role to one endpoint name (a string) or an empty value; "
                                 "fix: %s" % ", ".join(bad_roles))
    role_agents = params["role_agents"] or {}
    bad_agents = bad_role_agents(role_agents)
    if bad_agents:
        sdk_module.fail_json(msg="role_agents must map each role to one of %s (or an empty value: not checked for an "
                                 "agent); fix: %s" % (", ".join(ws.AGENTS), ", ".join(bad_agents)))
    if params["query"]:
        if not HAS_JMESPATH:
            sdk_module.fail_json(msg=missing_required_lib("jmespath", reason="for the query option"),
                                 exception=JMESPATH_IMPORT_ERROR)
        try:
            compile_query(params["query"])  # a typo should not wait for the workspace
        except QueryError as exc:
            sdk_module.fail_json(msg=str(exc))
    names = [name for name in (params["name"] or []) if name]
    wants_listing = not names or any(isinstance(name, str) and name.strip() for name in wanted.values())
    only_probe = params["probe_ai_gateway"] and not names and not wanted

    sdk_module.report_errors = params["report_errors"]
    try:
        access = sdk_module.access
        with sdk_module.workspace_client("list serving endpoints") as client:
            ai_gateway = probe_ai_gateway(client.api_client, sdk_module.warn) if params["probe_ai_gateway"] else None
            try:
                if only_probe:
                    raw_endpoints, missing = [], []
                elif wants_listing:
                    raw_endpoints = list_all_endpoints(client.api_client)
                    missing = []  # type: t.List[str]
                else:
                    raw_endpoints, missing = get_endpoints_by_name(client.api_client, names)
            except EndpointListingError as exc:
                raise WorkspaceError("%s did not answer like a Databricks workspace: %s. Check host."
                                     % (access.host, exc), access.host) from None
    except WorkspaceError as exc:
        if not params["report_errors"]:
            sdk_module.fail_json(msg=exc.message, host=exc.host)
        sdk_module.exit_json(changed=False, endpoints=[], count=0, missing=[], validation=[], validation_failed=False,
                             host=exc.host, error=exc.message, checks=unreachable_checks(exc.message, wanted, exc.host))

    every_endpoint = [compact_endpoint(raw, params["include_raw"]) for raw in raw_endpoints]
    selected = every_endpoint
    if wants_listing and names:
        present = {endpoint["name"] for endpoint in every_endpoint}
        selected = [endpoint for endpoint in every_endpoint if endpoint["name"] in names]
        missing = [name for name in dict.fromkeys(names) if name not in present]
    selected = filter_by_pattern(selected, params["name_pattern"])
    if params["query"]:
        try:
            selected = apply_query(selected, params["query"])
        except QueryError as exc:
            sdk_module.fail_json(msg=str(exc), host=access.host)
    selected = sort_by_name(selected)

    validation = validate_models(wanted, every_endpoint, access.host, role_agents)
    validation_failed = any(entry["status"] == FAIL for entry in validation)
    result = dict(
        changed=False,
        endpoints=selected,
        count=len(selected),
        missing=missing,
        validation=validation,
        validation_failed=validation_failed,
        host=access.host,
        error=None,
        checks=[ck.check(ck.CONNECTIVITY, ck.PASS, "Workspace", "%s answered as %s (%d serving endpoints)"
                         % (access.host, access.identity(), len(every_endpoint)))] + model_checks(validation),
    )
    if params["probe_ai_gateway"]:
        result["ai_gateway"] = ai_gateway
    if validation_failed and params["fail_on_invalid"]:
        failures = ["%s: %s %s" % (entry["role"], entry["message"], entry["hint"])
                    for entry in validation if entry["status"] == FAIL]
        sdk_module.fail_json(msg="%d configured model(s) cannot be used. %s" % (len(failures), " | ".join(failures)),
                             **result)
    sdk_module.exit_json(**result)


def main() -> None:
    """Run the module."""
    run_module()


if __name__ == "__main__":
    main()
