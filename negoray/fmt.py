"""Number formatting shared by the planner, the report, the statistics and the progress view.

Each helper is how one kind of number reads everywhere it is printed::

    >>> compact(1234.0), compact(2.50), tokens(194.6e6), usd(1530.4), hours(0.5), decimal(float("nan"))
    ('1,234', '2.5', '194.60M', '$1,530', '30.0 min', 'n/a')
"""

from __future__ import annotations

import math
from typing import Any


def json_number(v: Any) -> Any:
    """Integral floats as ints, other floats rounded to 4 places, NaN and infinities as None
    (JSON-friendly); anything else unchanged."""
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        if v.is_integer():
            return int(v)
        return round(v, 4)
    return v


def decimal(x: float | None, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals; "n/a" for None or NaN."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def compact(v: float) -> str:
    """Thousands separated, without trailing zeros: 1,234 / 2.5 / 0.25."""
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")


def integer(v: float) -> str:
    """Rounded to a whole number, thousands separated."""
    return f"{v:,.0f}"


def tokens(v: float) -> str:
    """A token count: 194.60M, 1.5K, 900."""
    if v >= 1e6:
        return f"{v / 1e6:,.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:,.1f}K"
    return f"{v:,.0f}"


def usd(v: float) -> str:
    """Dollars: cents under $1,000, whole dollars above."""
    return f"${v:,.2f}" if v < 1000 else f"${v:,.0f}"


def hours(h: float) -> str:
    """Hours, with days when it is two days or more; seconds/minutes when under an hour."""
    if h >= 48:
        return f"{h / 24:,.2f} days"
    if h >= 1:
        return f"{h:,.1f}h"
    if h * 60 >= 1:
        return f"{h * 60:,.1f} min"
    return f"{h * 3600:,.1f} s"


def rate(per_s: float) -> str:
    """A per-second rate with as many decimals as it needs to read: 120 / 4.5 / 0.25."""
    return f"{per_s:.0f}" if per_s >= 100 else f"{per_s:.1f}" if per_s >= 1 else f"{per_s:.2f}"
