# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options shared by the collection's modules that talk to a Databricks workspace through databricks-sdk."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Doc fragment for the Databricks connection and authentication options."""

    DOCUMENTATION = r"""
options:
  host:
    description:
      - URL of the Databricks workspace, for example V(https://dbc-1234abcd-5678.cloud.databricks.com).
      - Must start with V(https://) (plain V(http://) is accepted for loopback addresses only). A trailing V(/) is ignored.
      - Required with O(token). With O(profile) it defaults to the C(host) of that profile in C(~/.databrickscfg);
        when both are given, O(host) wins and a warning says so if they differ.
    type: str
  profile:
    description:
      - Name of a Databricks CLI profile in C(~/.databrickscfg) of the user the module runs as, as written by
        C(databricks auth login --host HOST --profile PROFILE).
      - With O(auth_type=databricks-cli) (the default when O(profile) is given) every token comes from the real
        Databricks CLI (C(databricks auth token --profile PROFILE)), which refreshes the OAuth (U2M) session.
      - Mutually exclusive with O(token).
    type: str
  token:
    description:
      - A Databricks personal access token, or any other bearer token the workspace accepts (for example an OAuth
        access token obtained elsewhere). Used with O(host).
      - Never logged and never part of a result or an error message.
      - Mutually exclusive with O(profile).
    type: str
  auth_type:
    description:
      - How to authenticate.
      - V(databricks-cli) runs the Databricks CLI for a token of O(profile) (OAuth U2M). Default when O(profile) is
        given, unless that profile holds a personal access token (a C(token) and no other C(auth_type), as
        C(databricks configure) writes it).
      - V(pat) sends O(token) as a bearer token (default when O(token) is given); with O(profile) instead, the
        C(token) stored in that profile is used.
    type: str
    choices: [databricks-cli, pat]
  databricks_cli:
    description:
      - Path (or command name) of the Databricks CLI used with O(auth_type=databricks-cli).
      - By default it is looked up on E(PATH), then in V(/opt/homebrew/bin), V(/usr/local/bin), V(~/.local/bin)
        and V(~/bin), because the E(PATH) of a non-interactive Ansible connection is often shorter than a login
        shell's. The legacy Python C(databricks-cli) package is not usable and is skipped.
    type: path
  ca_file:
    description:
      - PEM file of the certificate authorities to trust for the workspace's TLS certificate, for example a
        corporate CA that inspects TLS traffic. It replaces the default trust store, so include the public roots
        too if the workspace is reached without TLS inspection.
      - Applied to databricks-sdk and to the Databricks CLI the SDK runs (as E(REQUESTS_CA_BUNDLE) and E(SSL_CERT_FILE)).
      - When not set, E(REQUESTS_CA_BUNDLE) or E(SSL_CERT_FILE) from the module's environment are honoured, and
        either one is passed on as the other so that the SDK and the CLI trust the same authorities.
    type: path
  timeout:
    description:
      - Seconds to wait for the workspace to accept a connection and for each answer (databricks-sdk
        C(http_timeout_seconds)).
      - The workspace is contacted once up front without retries, so an unreachable host (name not resolved,
        connection refused, no route while the VPN is down) fails within this time.
    type: int
    default: 20
  retry_timeout:
    description:
      - Upper bound, in seconds, on the time databricks-sdk spends retrying a request after transient failures
        (rate limiting, dropped connections) before giving up (databricks-sdk C(retry_timeout_seconds),
        whose own default is 300 seconds).
    type: int
    default: 30
notes:
  - Every C(DATABRICKS_*) environment variable (C(DATABRICKS_HOST), C(DATABRICKS_TOKEN),
    C(DATABRICKS_CONFIG_PROFILE), C(DATABRICKS_CONFIG_FILE), C(DATABRICKS_AUTH_TYPE), ...) is ignored, for the
    SDK and for the Databricks CLI it runs, so that the workspace and identity are exactly the ones given by the
    options. The one exception is C(DATABRICKS_AUTH_STORAGE), which only tells the CLI where its token cache is.
  - Profiles are always read from C(~/.databrickscfg) in the home directory of the user the module runs as.
  - "When the OAuth session of a profile has expired, the module fails and says which command renews it:
    C(databricks auth login --host HOST --profile PROFILE)."
requirements:
  - databricks-sdk >= 0.40.0 (Python) on the managed node
  - the Databricks CLI (v0.207.1 or newer) for O(auth_type=databricks-cli)
"""
