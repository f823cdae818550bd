"""Roles in the config: ``[provider]`` serves the agents, ``[opponent]`` and ``[mutator]`` the others.

An ``[opponent]`` / ``[mutator]`` table takes the endpoint keys (`ENDPOINT_KEYS`) plus ``pool`` and
``failover``. Left out, the role is the agent's, pool and failover included (then every call goes
where it always went). A table without ``name`` is the agent's endpoint with the keys it sets
changed (``model`` alone: another model on the same server); one with a different ``name`` starts
from that provider's defaults, like a failover entry, keeping the agent's ``thinking``. Pool entries
follow the same rule against their role's endpoint. `fleet_spec` turns all this into the
`negoray.llm.fleet.FleetSpec` the runtime builds its clients from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from negoray.llm.config import LLMConfig
from negoray.llm.fleet import ROLES, FleetSpec, RoleSpec, name_endpoints
from negoray.provider_config import ENDPOINT_KEYS, ProviderConfig, check_endpoint_table, check_failover_entry

ROLE_TABLE_KEYS = ENDPOINT_KEYS + ("pool", "failover")
"""Keys of an ``[opponent]`` or ``[mutator]`` table."""
ROLE_SECTIONS = ("opponent", "mutator")
"""The config's tables for the roles that are not the agent's (``[provider]``)."""


def derived_endpoint(base: ProviderConfig, table: Mapping[str, Any]) -> ProviderConfig:
    """The endpoint a role or pool table describes, relative to ``base`` (see the module docstring);
    it has no pool and no failover of its own."""
    keys = {k: v for k, v in table.items() if k in ENDPOINT_KEYS}
    if keys.get("name", base.name) != base.name:
        return ProviderConfig(**{"thinking": base.thinking, "profiles": base.profiles, **keys})
    return dataclasses.replace(base, failover=(), pool=(), **keys)


def role_provider(config: Any, role: str) -> ProviderConfig:
    """The ``[provider]``-shaped description of ``role``'s endpoint (with its own pool and failover)."""
    table = None if role == "agent" else getattr(config, role)
    if table is None:
        return config.provider
    return dataclasses.replace(derived_endpoint(config.provider, table), pool=tuple(table.get("pool", ())),
                               failover=tuple(table.get("failover", ())))


def role_chains(config: Any, role: str) -> list[list[LLMConfig]]:
    """``role``'s pool members, each an endpoint then its failover chain (the first: the role's own)."""
    own = role_provider(config, role)
    return [own.llm_configs()] + [derived_endpoint(own, entry).llm_configs()[:1] for entry in own.pool]


def fleet_spec(config: Any, prepare: Callable[[LLMConfig], LLMConfig] = lambda c: c) -> FleetSpec:
    """Every role's endpoints, named across the whole fleet; ``prepare`` sees each endpoint once
    (`negoray.experiment_setup` starts the embedded model and checks keys there)."""
    by_role = {role: [[prepare(c) for c in chain] for chain in role_chains(config, role)] for role in ROLES}
    named = iter(name_endpoints([chain for role in ROLES for chain in by_role[role]]))
    specs = {role: RoleSpec(tuple(next(named) for _ in by_role[role])) for role in ROLES}
    return FleetSpec(**specs)


def check_role_tables(config: Any, bad: Callable[[str, str, Any], Exception]) -> None:
    """``[provider] pool`` and the ``[opponent]`` / ``[mutator]`` tables, every key named in errors."""
    for i, entry in enumerate(config.provider.pool):
        _check_pool_entry(entry, f"provider.pool[{i}]", bad)
    for section in ROLE_SECTIONS:
        table = getattr(config, section)
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise bad(section, f"a table of {', '.join(ROLE_TABLE_KEYS)}", table)
        for key in table:
            if key not in ROLE_TABLE_KEYS:
                raise bad(f"{section}.{key}", f"a key of [{section}]: {', '.join(ROLE_TABLE_KEYS)}", table[key])
        for list_key in ("pool", "failover"):
            if not isinstance(table.get(list_key, ()), (list, tuple)):
                raise bad(f"{section}.{list_key}", "a list of endpoint tables", table[list_key])
        check_endpoint_table({k: v for k, v in table.items() if k in ENDPOINT_KEYS}, section, bad)
        for i, entry in enumerate(table.get("pool", ())):
            _check_pool_entry(entry, f"{section}.pool[{i}]", bad)
        for i, entry in enumerate(table.get("failover", ())):
            check_failover_entry(entry, f"{section}.failover[{i}]", bad)


def _check_pool_entry(entry: Any, key: str, bad: Callable[[str, str, Any], Exception]) -> None:
    if not isinstance(entry, Mapping) or not entry or set(entry) - set(ENDPOINT_KEYS):
        raise bad(key, f"a table of {', '.join(ENDPOINT_KEYS)} (name optional: default the role's provider)", entry)
    check_endpoint_table(entry, key, bad)
