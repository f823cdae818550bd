"""The experiment report: ``report.md`` plus PNG figures, from the Parquet results (and the
experiment's ``config.json`` for the settings it states, V7's defaults where there is none).

It works on a partial experiment: what is missing (groups, runs without a finished generation,
runs behind the others, the test phase, the seed baselines) is listed at the top, and every
figure or test that cannot be computed yet is skipped with a line saying why.

Modules: `load` (`load_results`: the results as typed data, for notebooks too), `figures`,
`hypotheses` (the caveats, the design's confounds, H1-H3), `sections` (the other sections),
`write` (`write_report`), `common` (labels, colours, NaN-aware means, Markdown tables).
"""

from negoray.results.report.figures import FIGURES
from negoray.results.report.load import Results, RunResults, load_results
from negoray.results.report.write import write_report

__all__ = ["FIGURES", "Results", "RunResults", "load_results", "write_report"]
