"""The hypotheses section: what the planned n runs (V7: 3) can show, what the V7 design confounds, and H1-H3."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from negoray.config import GROUPS, ExperimentConfig
from negoray.evolution.market import death_count
from negoray.evolution.settings import SOFTMAX_BEFORE_THE_SETTING
from negoray.fmt import decimal
from negoray.results.report.common import MARKET, TOURNAMENT, as_float, group_label, markdown_table, nanmean
from negoray.results.report.load import Results, RunResults
from negoray.results.schema import group_of
from negoray.results.stats import Comparison, hedges_j, hhi, min_detectable_d, permutations, power
from negoray.tasks.base import plural


def _comparison_table(comparisons: Sequence[Comparison]) -> list[str]:
    return markdown_table(["comparison", "mean a", "mean b", "a − b", "Welch t", "p (two-sided)", "p (one-sided)",
                           "exact permutation p (one-sided)", "Cohen's d", "Hedges' g"], [c.row() for c in comparisons])


_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def _caveat(data: Results) -> list[str]:
    planned = data.planned_runs
    sizes = sorted({len(data.tested(g)) or len(data.final_best(g)) for g in data.groups()} - {0})
    n = min(sizes) if sizes else planned
    unit = ("The unit of every test is a run (one seed): its best agent's mean score over the test scenarios, "
            f"or a per-run diversity measure. {plural(data.noun).capitalize()} within a run are not independent samples "
            "of a selection scheme, so they do not add to n.")
    if planned < 2:
        return [f"### What n = {planned} run per group can and cannot show", "", unit, "",
                f"- With {planned} run per group no test can be made (a t-test and a permutation test need 2 runs a "
                "side): the comparisons below show each run's values and direction only. Give `runs_per_group` >= 3 "
                "for a test.", ""]
    d_planned = min_detectable_d(planned, planned)
    splits = permutations(planned, planned)
    word = _WORDS.get(planned, str(planned))
    floor = ("never fall below α = 0.05 on its own" if 1 / splits >= 0.05
             else "fall below α = 0.05 only when the runs are completely or nearly separated")
    return [
        f"### What n = {planned} runs per group can and cannot show",
        "",
        unit,
        "",
        "- Every hypothesis is directional, so every verdict, the bar and the power below are one-sided "
        "(the two-sided Welch p is shown for reference only).",
        f"- With {planned} vs {planned} runs a one-sided t-test at α = 0.05 can only come out significant "
        f"when Cohen's d ≥ {d_planned:.2f} in the hypothesised direction (pooled degrees of freedom; Welch's test has "
        f"fewer, so the bar is higher). The chance of detecting a large effect (d = 0.8) is about "
        f"{power(0.8, planned, planned):.0%}, a very large one (d = 1.5) about "
        f"{power(1.5, planned, planned):.0%}."
        + _bar_now(n, planned),
        f"- The exact permutation test needs no normality: it ranks the observed difference among all "
        f"{splits} ways to split the {2 * planned} runs into two groups of "
        f"{planned}. Its smallest possible one-sided p is 1/{splits} = "
        f"{1 / splits:.2g}, reached only by complete separation (every run of one "
        f"group above every run of the other): at n = {planned} it can {floor}.",
        "- Cohen's d overstates effects of small samples; Hedges' g corrects it "
        f"(×{hedges_j(planned, planned):.2f} at {planned} vs {planned}). When neither sample varies (e.g. lineages 8, 8, 8 vs 1, 1, 1) d and Welch's t are undefined, "
        "and the report states the complete separation and its permutation p instead.",
        "- So a non-significant result is *not* evidence that the groups are equal; it says the experiment is "
        f"too small to tell. A significant one rests on {word} values per side and on the t-test's normality "
        f"assumption, which {word} values cannot check.",
        "- H3 makes three comparisons with C's runs on one side; against a Bonferroni-corrected α = 0.017 the bar is higher still.",
        f"- What n = {planned} can show: the direction and rough size of a difference (means, Cohen's d, the per-run "
        "values below), and whether the runs of one group all lie above or below those of another. Read the effect "
        "sizes and the per-run values, not only the p-values.",
        "",
    ]


def _bar_now(n: int, planned: int) -> str:
    """The caveat's sentence for the runs present, when they differ from the plan."""
    if n == planned:
        return ""
    if n < 2:
        return " With 1 run in the smallest group present now no test can be made (a t-test needs 2 runs a side)."
    return f" With the {n} runs per group present now the bar is d ≥ {min_detectable_d(n, n):.2f}."


def _setting(data: Results, key: str) -> Any:
    """A config value of the experiment (``market.softmax``), or the default where the results
    directory has no ``config.json``."""
    section, _, name = key.rpartition(".")
    saved = data.config.get(section, {}) if section else data.config
    if name in saved:
        return saved[name]
    return getattr(getattr(ExperimentConfig(), section) if section else ExperimentConfig(), name)


def _confounds(data: Results) -> list[str]:
    """What the V7 design itself confounds with the factors it compares."""
    pop, elites, generations = (_setting(data, k) for k in ("population", "elites", "generations"))
    fraction = _setting(data, "market.death_fraction")
    dead = death_count(pop, elites, fraction)
    return [
        "### What the design itself confounds",
        "",
        f"- Replacement rate and gating differ with the selection scheme: a market generation replaces {dead} of "
        f"{pop} agents (the bottom {fraction:.0%} by revenue, elites immune) and lets every child in ungated; a "
        f"tournament generation replaces {pop - elites} of {pop} (all but the {elites} elites) and lets a child in "
        "only if it passes gating against its parent. A market-vs-tournament difference (H2, H3) is therefore also "
        "a difference of how many agents change per generation and of whether children are filtered, not of the "
        "selection rule alone.",
        f"- {generations} generations are {generations} evaluations but only {generations - 1} rounds of variation: "
        "the last generation is evaluated and its best agent tested, it is not mutated. Fitness curves over "
        f"generations show {generations - 1} steps of evolution.",
        "",
    ]


def _client_choice(data: Results) -> list[str]:
    """How the market's clients chose: the HHI of the per-agent client counts against a uniform choice."""
    mode, temperature = _setting(data, "market.softmax"), _setting(data, "market.temperature")
    older = bool(data.config) and "softmax" not in data.config.get("market", {})
    if older:  # written before [market] softmax existed, when the inverse form was the only one
        mode = SOFTMAX_BEFORE_THE_SETTING
    out = [f"Client choice: softmax `{mode}` at temperature {temperature} "
           + ("(the original V7 form, p ∝ exp((u − max u) / T): higher T = more exploratory)." if mode == "standard"
              else "(an option, p ∝ exp(T · u): T read as a sharpness, not the original's form).")
           + (" These results predate the `[market] softmax` setting; the code then always used this form." if older
              else ""), ""]
    counts: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for a in data.agents:
        group = a["group"] or group_of(a["run_id"])
        if a.get("market_clients") is not None and group in MARKET:
            counts[(group, a["run_id"], a["generation"])].append(a["market_clients"])
    if not counts:
        return out + ["No client assignments (agents.market_clients) recorded yet.", ""]
    rows = []
    for g in MARKET:
        per_gen = {k: v for k, v in counts.items() if k[0] == g and sum(v)}
        if not per_gen:
            continue
        n_agents = round(nanmean(len(v) for v in per_gen.values()))
        n_clients = round(nanmean(sum(v) for v in per_gen.values()))
        uniform = 1 / n_agents + (1 - 1 / n_agents) / n_clients  # E[HHI] of n_clients uniform draws
        first = nanmean(hhi(v) for k, v in per_gen.items() if k[2] == 0)
        later = nanmean(hhi(v) for k, v in per_gen.items() if k[2] > 0)
        rows.append([group_label(g), len({k[1] for k in per_gen}), f"{1 / n_agents:.3f}", f"{uniform:.3f}",
                     decimal(first), decimal(later), decimal(1 / later if later else float("nan"), 1)])
    out += markdown_table(["group", "runs", "HHI if shared equally (1/N)", "HHI of a uniform random choice",
                           "HHI, generation 0 (random)", "HHI, later generations (softmax)", "effective agents chosen"], rows)
    out += ["The HHI of the per-agent client counts is 1/N when every agent has as many clients as the others and "
            "1 when one agent has them all; a softmax choice that stays close to the uniform random choice's HHI "
            "puts little selection pressure on the agents through their clients.", ""]
    return out


def _h1(data: Results) -> list[str]:
    out = ["### H1: reflective mutation beats random under tournament selection (A > D on test)", ""]
    a, d = data.tested("A"), data.tested("D")
    if a and d:
        c = Comparison.of("H1 test score", "A", a, "D", d)
        out += [c.sentence(), ""] + _comparison_table([c])
    else:
        out += ["Cannot be computed on the test split yet: "
                + ("; ".join(f"group {g} has no test scores" for g, v in (("A", a), ("D", d)) if not v)) + ".", ""]
    fa, fd = data.final_best("A"), data.final_best("D")
    if fa and fd:
        c = Comparison.of("H1 last-generation best dev fitness", "A", fa, "D", fd)
        out += ["For reference, on the best dev fitness of the last generation (in-sample: selection maximised "
                "this very number, so it flatters every group):", ""] + _comparison_table([c])
    return out


def _h2(data: Results) -> list[str]:
    out = ["### H2: market selection keeps more diversity than tournament selection", ""]
    market = [r for g in MARKET for r in data.runs_of(g) if r.gens]
    tourn = [r for g in TOURNAMENT for r in data.runs_of(g) if r.gens]
    if not market or not tourn:
        out += ["Cannot be computed yet: needs finished generations from both a market group (B, C) and a "
                f"tournament group (A, D); have {len(market)} market and {len(tourn)} tournament run(s).", ""]
    else:
        def values(runs: Sequence[RunResults], f: Callable[[RunResults], float]) -> list[float]:
            return [v for r in runs if not math.isnan(v := f(r))]

        measures: list[tuple[str, Callable[[RunResults], float], str]] = [
            ("distinct lineages, last generation", lambda r: r.lineages(r.last), "greater"),
            ("distinct lineages, mean over generations", lambda r: r.over_generations(r.lineages), "greater"),
            ("lineage HHI, last generation", lambda r: r.lineage_hhi.get(r.last, float("nan")), "less"),
            ("prompt similarity, last generation", lambda r: r.final("prompt_similarity"), "less"),
            ("prompt similarity, mean over generations",
             lambda r: r.over_generations(lambda g: as_float(r.gens[g].get("prompt_similarity"))), "less"),
        ]
        comparisons = [Comparison.of(f"{label} (market {'>' if way == 'greater' else '<'} tournament)", "market",
                                     values(market, f), "tournament", values(tourn, f), way)  # type: ignore[arg-type]
                       for label, f, way in measures]
        for a, b in (("C", "A"), ("B", "D")):
            ra, rb = data.runs_of(a), data.runs_of(b)
            if ra and rb:
                comparisons.append(Comparison.of(f"distinct lineages, last generation ({a} > {b}, same mutation)", a,
                                                 values(ra, lambda r: r.lineages(r.last) if r.gens else float("nan")), b,
                                                 values(rb, lambda r: r.lineages(r.last) if r.gens else float("nan"))))
        shown = [c for c in comparisons if c.n_a or c.n_b]
        out += [f"Market runs: {len(market)}; tournament runs: {len(tourn)} (pooled over mutation operators).", ""]
        out += _comparison_table(shown)
        out += [c.sentence() for c in shown[:1]] + [""]
    rows = []
    for g in MARKET:
        runs = [r for r in data.runs_of(g) if r.gens]
        first = [as_float(r.gens[min(r.gens)].get("market_gini")) for r in runs]
        last = [r.final("market_gini") for r in runs]
        first_h = [as_float(r.gens[min(r.gens)].get("market_hhi")) for r in runs]
        last_h = [r.final("market_hhi") for r in runs]
        if any(not math.isnan(v) for v in first + last + first_h + last_h):
            rows.append([group_label(g), len(runs), decimal(nanmean(first)), decimal(nanmean(last)), decimal(nanmean(first_h)), decimal(nanmean(last_h))])
    if rows:
        out += ["Revenue concentration exists only in the market groups (tournaments have no revenue), so it is "
                "described, not compared; the lineage HHI above is the concentration measure both schemes share.", ""]
        out += markdown_table(["group", "runs", "Gini, first generation", "Gini, last", "HHI, first generation", "HHI, last"], rows)
    else:
        out += ["No market revenue concentration (market_gini / market_hhi) recorded yet.", ""]
    return out + _client_choice(data)


def _h3(data: Results) -> list[str]:
    out = ["### H3: market selection with reflective mutation (C) is the best group", ""]
    tested = {g: data.tested(g) for g in GROUPS if data.tested(g)}
    if "C" not in tested or len(tested) < 2:
        missing = [g for g in GROUPS if g not in tested]
        out += ["Cannot be computed on the test split yet: no test scores for " + ", ".join(missing) + ".", ""]
    else:
        ranking = sorted(tested, key=lambda g: statistics.fmean(tested[g]), reverse=True)
        out += ["Group ranking by mean test score: "
                + " > ".join(f"{g} ({statistics.fmean(tested[g]):.3f})" for g in ranking) + ".", ""]
        comparisons = [Comparison.of(f"H3 C > {g} (test score)", "C", tested["C"], g, tested[g]) for g in ranking if g != "C"]
        out += _comparison_table(comparisons)
        best = ranking[0] == "C"
        all_sig = all(c.significant_at(0.05 / 3) for c in comparisons) and len(comparisons) == len(GROUPS) - 1
        out += [("C has the highest mean test score" if best else f"C is not the best group on the test split ({ranking[0]} is)")
                + ("; every comparison passes a Bonferroni-corrected one-sided α = 0.017." if best and all_sig
                   else "; H3 would need C above every other group with significant differences, which this data does not show."
                   if best else "."), ""]
    finals = {g: data.final_best(g) for g in GROUPS if data.final_best(g)}
    if "C" in finals and len(finals) > 1:
        out += ["For reference, on the best dev fitness of the last generation (in-sample):", ""]
        out += _comparison_table([Comparison.of(f"C > {g} (dev fitness)", "C", finals["C"], g, finals[g]) for g in finals if g != "C"])
    return out


def hypotheses_section(data: Results) -> list[str]:
    """The whole ``## Hypotheses`` section."""
    return ["## Hypotheses", ""] + _caveat(data) + _confounds(data) + _h1(data) + _h2(data) + _h3(data)
