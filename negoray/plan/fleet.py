"""Planning a fleet: calls, tokens and dollars per role and endpoint, and the minimum wall time with
pooled capacity (`fleet_plan`).

Negotiation calls split between the agent role and the opponent role (the agent moves first: half
of the calls each, rounded the agent's way no further; a task without a counterpart: all the agent's),
mutation calls go to the mutator role. A
role's endpoints share its volume in proportion to their capacity in calls/s -- the least of RPM,
TPM / tokens per call, requests a day, ``max_concurrency`` / latency and server throughput /
completion tokens, the binding one named -- which is how the pool spreads work, so a pool finishes
when its summed capacity has served the role. Roles with the same endpoints share that capacity.
The experiment's minimum wall time is the largest of the roles' times and the critical path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from negoray.config import ExperimentConfig
from negoray.llm.fleet import ROLES, FleetSpec, RoleSpec
from negoray.llm.providers import ProviderSpec
from negoray.plan.assumptions import Assumptions
from negoray.plan.costs import call_latency, cost_usd, critical_path_s
from negoray.plan.volumes import Breakdown, Volume, total

NEGOTIATION_SHARE = {"agent": 0.5, "opponent": 0.5}
"""The part of the negotiation calls each side makes."""
AGENT_ONLY = {"agent": 1.0, "opponent": 0.0}
"""A task without a counterpart: the agent makes every evaluation call."""


@dataclass(frozen=True)
class EndpointPlan:
    role: str
    endpoint: str
    model: str
    volume: Volume
    cost_usd: float
    calls_per_s: float | None
    """Its capacity (None: no limit known, e.g. the sim)."""
    binding: str
    """The constraint that sets its capacity."""

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "endpoint": self.endpoint, "model": self.model, **self.volume.to_dict(),
                "cost_usd": round(self.cost_usd, 4),
                "calls_per_s": None if self.calls_per_s is None else round(self.calls_per_s, 4),
                "binding": self.binding}


@dataclass(frozen=True)
class FleetPlan:
    endpoints: list[EndpointPlan]
    hours_by_roles: dict[str, float]
    """Hours each group of roles sharing endpoints needs at its pooled capacity (key: "agent+opponent")."""
    critical_path_h: float

    @property
    def hours(self) -> float:
        return max([self.critical_path_h, *self.hours_by_roles.values()])

    @property
    def binding(self) -> str:
        """What sets the minimum wall time, in words."""
        if not self.hours_by_roles or math.isclose(self.hours, self.critical_path_h):
            return "critical path"
        roles = max(self.hours_by_roles, key=self.hours_by_roles.__getitem__)
        limits = ", ".join(f"{e.endpoint}: {e.binding}" for e in self.endpoints if e.role == roles)
        return f"{roles} pooled capacity ({limits})"

    @property
    def cost_usd(self) -> float:
        return sum(e.cost_usd for e in self.endpoints)

    def to_dict(self) -> dict[str, Any]:
        return {"endpoints": [e.to_dict() for e in self.endpoints], "cost_usd": round(self.cost_usd, 4),
                "hours": round(self.hours, 4), "binding": self.binding,
                "hours_by_roles": {k: round(v, 4) for k, v in self.hours_by_roles.items()},
                "critical_path_hours": round(self.critical_path_h, 4)}


def capacity(spec: ProviderSpec, a: Assumptions, tokens_per_call: float, completion_tokens: float) -> tuple[float | None, str]:
    """An endpoint's calls/s and the constraint that sets it."""
    latency = call_latency(spec, completion_tokens, a)
    limits = {
        "RPM": spec.rpm / 60 if spec.rpm else None,
        "TPM": spec.tpm / 60 / tokens_per_call if spec.tpm and tokens_per_call else None,
        "requests/day": spec.rpd / 86400 if spec.rpd else None,
        "concurrency": spec.max_concurrency / latency if latency > 0 and spec.name != "sim" else None,
        "server throughput": spec.throughput_tps / completion_tokens if spec.throughput_tps and completion_tokens else None,
    }
    known = {k: v for k, v in limits.items() if v is not None}
    if not known:
        return None, "none (CPU-bound)"
    name = min(known, key=known.__getitem__)
    return known[name], name


def role_volumes(breakdown: Breakdown, counterpart: bool = True) -> dict[str, Volume]:
    """Each role's share of the experiment's volume (``counterpart``: the task has one, V7's opponent)."""
    negotiating = total({p: v for p, v in breakdown.items() if p != "mutation"})
    share = NEGOTIATION_SHARE if counterpart else AGENT_ONLY
    return {"agent": negotiating.scaled(share["agent"]),
            "opponent": negotiating.scaled(share["opponent"]),
            "mutator": breakdown.get("mutation", Volume())}


def fleet_plan(config: ExperimentConfig, fleet: FleetSpec, breakdown: Breakdown, a: Assumptions) -> FleetPlan:
    volumes = role_volumes(breakdown, a.counterpart)
    groups: dict[str, tuple[RoleSpec, Volume]] = {}  # roles with the same endpoints, one capacity
    for role in ROLES:
        spec = fleet.role(role)
        key = next((k for k, (s, _) in groups.items() if s == spec), None)
        if key is None:
            groups[role] = (spec, volumes[role])
        else:
            groups[f"{key}+{role}"] = (spec, groups.pop(key)[1] + volumes[role])
    endpoints: list[EndpointPlan] = []
    hours: dict[str, float] = {}
    for roles, (spec, volume) in groups.items():
        if not volume.calls:
            continue
        per_call = volume.tokens / volume.calls
        completion = volume.completion_tokens / volume.calls
        caps = [(chain[0], *capacity(chain[0].config.spec(), a, per_call, completion)) for chain in spec.members]
        known = [c for _, c, _ in caps if c is not None]
        pooled = sum(known) if len(known) == len(caps) else None
        for e, cap, binding in caps:
            share = 1 / len(caps) if pooled is None else cap / pooled
            s = e.config.spec()
            endpoints.append(EndpointPlan(roles, e.name, s.default_model, volume.scaled(share),
                                          cost_usd(volume.scaled(share), s), cap, binding))
        if pooled:
            hours[roles] = volume.calls / pooled / 3600
    critical = max(critical_path_s(config, fleet.role(r).primary.config.spec(), a) for r in ROLES) / 3600
    return FleetPlan(endpoints, hours, critical)
