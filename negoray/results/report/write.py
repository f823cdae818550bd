"""`write_report`: ``report.md`` and ``figures/*.png`` for a results directory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from negoray.results.report.endpoints import endpoint_section
from negoray.results.report.figures import DRAW, FIGURES, OPTIONAL_FIGURES
from negoray.results.report.hypotheses import hypotheses_section
from negoray.results.report.load import load_results, outcome_mix, outcomes_shown
from negoray.results.report.sections import (diversity_section, gating_section, missing_section, outcome_section,
                                            runs_section, test_section, usage_section)
from negoray.results.report.task import results_task, task_sections
from negoray.tasks.base import RECORD_NOUN, plural, record_noun


log = logging.getLogger("negoray.results.report")


def write_report(results_dir: Path | str) -> Path:
    """Write ``results_dir/report.md`` and ``results_dir/figures/*.png``; returns the report's path."""
    root = Path(results_dir)
    data = load_results(root)
    task, unbuilt = results_task(root, data.config)
    if task is not None:
        data.noun = record_noun(task)
    elif not data.negotiation:
        data.noun = RECORD_NOUN
    figures = root / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, str | None] = {}
    captions = dict(FIGURES)
    if not data.negotiation:
        shown = " / ".join(outcomes_shown(outcome_mix(data)))
        captions["outcomes"] = f"Outcome mix ({shown}) per group and phase"
    optional = {name: draw for name, (_, draw, present) in OPTIONAL_FIGURES.items() if present(data)}
    captions.update({name: OPTIONAL_FIGURES[name][0] for name in optional})
    for name in [*DRAW, *OPTIONAL_FIGURES]:
        path = figures / f"{name}.png"
        path.unlink(missing_ok=True)  # a figure that can no longer be drawn must not linger from an old report
        draw = DRAW.get(name) or optional.get(name)
        if draw is None:
            continue  # an optional figure with nothing to draw: nothing is missing either
        try:
            drawn[name] = draw(data, path)
        except Exception as e:  # a report on a partial experiment must not die on one figure
            log.exception("figure %s failed", name)
            drawn[name] = f"failed: {type(e).__name__}: {e}"

    def fig(name: str) -> list[str]:
        why = drawn.get(name)
        if why is None:
            return [f"![{captions[name]}](figures/{name}.png)", "", f"*{captions[name]}.*", ""]
        return [f"*Figure `{name}` skipped: {why}.*", ""]

    sections: list[tuple[str, Callable[[], list[str]]]] = [
        ("runs", lambda: runs_section(data)),
        ("curves", lambda: ["## Fitness over generations", ""] + fig("generation_curves")),
        ("test", lambda: test_section(data) + fig("test_scores")),
        ("hypotheses", lambda: hypotheses_section(data)),
        ("gating", lambda: gating_section(data) + fig("gating")),
        ("diversity", lambda: diversity_section(data) + fig("diversity") + fig("market_concentration")),
        ("outcomes", lambda: outcome_section(data) + fig("outcomes")),
        ("usage", lambda: usage_section(data) + fig("usage")),
        ("endpoints", lambda: endpoint_section(root, data.noun)),
        ("concurrency", lambda: ["## Concurrency", ""] + fig("concurrency") if data.concurrency else []),
        ("task", lambda: task_sections(root, task) if task is not None else []),
    ]
    n_neg = len(data.negotiations)
    lines = [
        f"# {'V7' if task is None or task.name == 'negotiation' else task.name} results: {root.resolve().name}",
        "",
        f"{len([r for r in data.runs.values() if r.gens])} run(s) with finished generations in "
        f"{len(data.groups())} group(s); {len(data.generations)} generation row(s), {n_neg:,} {plural(data.noun)}, "
        f"{int(sum(u['calls'] for u in data.usage.values())):,} LLM calls.",
        "",
        "## What is missing",
        "",
    ]
    missing = missing_section(data, list(task.seed_strategies()) if task is not None else None)
    if unbuilt:
        missing.append(f"The task could not be built from config.json ({unbuilt}): the seed baselines are not "
                       "checked and its own sections are left out.")
    skipped = [f"Figure `{n}` skipped: {why}." for n, why in drawn.items() if why is not None]
    lines += [f"- {m}" for m in missing + skipped] if missing or skipped else ["Nothing: every group, run, generation, the test phase and the baselines are present."]
    lines.append("")
    for name, build in sections:
        try:
            lines += build()
        except Exception as e:
            log.exception("report section %s failed", name)
            lines += [f"*Section `{name}` could not be computed: {type(e).__name__}: {e}.*", ""]
    report = root / "report.md"
    tmp = root / ".report.md.tmp"
    tmp.write_text("\n".join(lines).rstrip() + "\n")
    tmp.replace(report)
    return report
