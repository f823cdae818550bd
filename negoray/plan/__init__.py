"""The planner: call and token volumes of an experiment, and its cost and minimum wall time per provider.

Pure computation from an `ExperimentConfig`, a set of `Assumptions` and provider profiles
(`ProviderSpec`); `negoray plan` prints it. The volume model follows what `Evolution.step` really
does in one generation:

- **eval**: population x dev negotiations;
- after every generation but the last, **mutation**: tournament groups replace population - elites
  agents, market groups replace `death_count` agents (round-half-up(death_fraction x population),
  at least 1), one mutation call each;
- **gating** (tournament groups only): each child *and its parent* play ``gating_scenarios`` val
  scenarios;
- in the last generation, **test**: the best agent plays the test split;
- once per experiment, **baseline**: the 8 seed strategies play the test split.

A negotiation makes ``calls_per_negotiation`` calls on average (at most 2 x max_rounds: it ends
early on acceptance). Prompt tokens per call are measured by building negoray's real prompts
(`system_prompt` + `turn_prompt`) and counting them with `messages_tokens`. Another task is planned
from its own calls where it gives them (`negoray.tasks.base.PlannedTask`: calls per evaluation, typical
requests and replies, counted the same way) and worded with its own noun (classify: a classification).

The wall time per provider is a lower bound: the largest of calls / RPM, tokens / TPM,
calls / requests-per-day, completion tokens / server throughput (local servers), and the
critical path of calls that must follow one another (per generation: one negotiation's calls, one
mutation call, one gating negotiation's calls; runs are independent, so the experiment's critical
path is one run's).

``user_assumptions`` reproduces the hand-made table in ``v7-architecture-and-scalability.md``
(10 calls a negotiation, 300 tokens a call, gating = the child only on 10 scenarios, mutation and
gating in all 10 generations and in every group, no test or baseline): 5,406 calls per
generation, 54,060 per run, 648,720 for 12 runs, 194,616,000 tokens. `differences` sets their
figures next to ours, each with the reason.

Modules: `assumptions` (what one negotiation and call cost), `volumes` (by phase, generation, run),
`costs` (per provider: dollars and the bounds on wall time), `fleet` (per role and endpoint of the
config's roles and pools: `fleet_plan`), `build` (`make_plan`), `users_table`
(`differences`), `check` (``--check``: the plan against a results directory).
"""

from negoray.evolution.backend import NEGOTIATION_PHASES
from negoray.llm.providers import PROVIDERS, ProviderSpec
from negoray.plan.assumptions import (COMPLETION_TOKENS, MUTATION_DIAGNOSIS_TOKENS, TYPICAL_CALL_FRACTION,
                                      USER_CALLS_PER_NEGOTIATION, USER_GATING_SCENARIOS, USER_TOKENS_PER_CALL,
                                      Assumptions, PlanError, TaskShape, default_calls_per_negotiation, for_task,
                                      make_assumptions, measure_mutation_tokens, measure_prompt_tokens, per_record)
from negoray.plan.build import DEFAULT_PROVIDERS, GroupPlan, Plan, make_plan, resolve_providers
from negoray.plan.check import CheckResult, CheckRow, check, ratio
from negoray.plan.fleet import EndpointPlan, FleetPlan, fleet_plan
from negoray.plan.costs import (BOUNDS, DEFAULT_STREAM, STREAM_SPEEDS, ProviderPlan, StreamSpeed, call_latency,
                                cost_usd, critical_path_s, provider_plan, stream_speed)
from negoray.plan.users_table import USER_TABLE, Difference, differences, implied_output_tokens, user_shape
from negoray.plan.volumes import (PHASES, Breakdown, Volume, add_breakdowns, baseline_breakdown, empty_breakdown,
                                  gating_negotiations, generation_breakdown, mutation_slots, mutation_volume,
                                  negotiations_volume, run_breakdown, selection_of, total)

__all__ = [
    "BOUNDS", "COMPLETION_TOKENS", "DEFAULT_PROVIDERS", "DEFAULT_STREAM", "MUTATION_DIAGNOSIS_TOKENS",
    "NEGOTIATION_PHASES", "PHASES", "PROVIDERS", "STREAM_SPEEDS", "TYPICAL_CALL_FRACTION", "USER_CALLS_PER_NEGOTIATION",
    "USER_GATING_SCENARIOS", "USER_TABLE", "USER_TOKENS_PER_CALL", "Assumptions", "Breakdown", "CheckResult",
    "CheckRow", "Difference", "EndpointPlan", "FleetPlan", "fleet_plan", "GroupPlan", "Plan", "PlanError", "ProviderPlan",
    "ProviderSpec", "StreamSpeed", "TaskShape",
    "Volume", "add_breakdowns", "baseline_breakdown", "call_latency", "check", "cost_usd", "critical_path_s",
    "default_calls_per_negotiation", "differences", "for_task", "empty_breakdown", "gating_negotiations", "generation_breakdown",
    "implied_output_tokens", "make_assumptions", "make_plan", "measure_mutation_tokens", "measure_prompt_tokens",
    "mutation_slots", "mutation_volume", "negotiations_volume", "per_record", "provider_plan", "ratio",
    "resolve_providers",
    "run_breakdown", "selection_of", "stream_speed", "total", "user_shape",
]
