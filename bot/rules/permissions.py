"""Who may do what: roles as the platform reports them joined with the roles the config lists."""

from __future__ import annotations

from collections.abc import Iterable


def effective_roles(platform_roles: Iterable[str], config_roles: Iterable[str]) -> frozenset[str]:
    return frozenset(platform_roles) | frozenset(config_roles)


def is_chair(roles: frozenset[str], chair_roles: Iterable[str]) -> bool:
    return any(role in roles for role in chair_roles)
