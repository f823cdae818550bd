"""What every task's mutation request shares: the markers a prompt is quoted and answered between
(`negoray.evolution.mutation.extract_strategy` reads them) and the header of the request's task.
A task words the rest (negotiation: `negoray.tasks.negotiation.mutation`)."""

from __future__ import annotations

import re

TASK_HEADER = "## Task"
BEGIN, END = "<<<STRATEGY", "STRATEGY>>>"
QUOTED_PROMPT = re.compile(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), re.S)
"""The parent prompt as a mutation request quotes it (group 1), exactly as written here."""
