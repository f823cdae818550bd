"""`negoray.fmt`: how numbers read in the plan, the report, the statistics and the progress view."""

import doctest
import math

from hypothesis import given
from hypothesis import strategies as st

from negoray import fmt


def test_the_docstring_examples():
    assert doctest.testmod(fmt).failed == 0


def test_known_values():
    assert fmt.json_number(3.0) == 3 and fmt.json_number(1 / 3) == 0.3333 and fmt.json_number(math.nan) is None
    assert fmt.decimal(None) == "n/a" and fmt.decimal(0.12345) == "0.123" and fmt.decimal(2, 2) == "2.00"
    assert fmt.hours(72) == "3.00 days" and fmt.hours(2.5) == "2.5h" and fmt.hours(1 / 7200) == "0.5 s"
    assert fmt.rate(561.2) == "561" and fmt.rate(12.46) == "12.5" and fmt.rate(0.183) == "0.18"
    assert fmt.usd(999.999) == "$1,000.00" and fmt.usd(1000.4) == "$1,000"


@given(st.integers(0, 10**12))
def test_whole_numbers_read_back(n):
    assert int(fmt.compact(float(n)).replace(",", "")) == n == int(fmt.integer(n).replace(",", ""))
