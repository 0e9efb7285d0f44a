"""The rules of the Fabric control plane, free of HTTP handlers: principals and tokens,
accounts, organizations and roles, settings, budgets, usage, API keys, permissions, OAuth
clients, TOTP, assets, galleries, providers, webhooks delivery, schedules and the audit log.

Modules here use ``_infra`` (and the engine's store kinds); they never import ``_routes``.
"""
