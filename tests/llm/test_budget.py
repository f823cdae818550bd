"""`Budget.reached`: the one budget check (the client's `Budget.check` and the experiment's stop)."""

import pytest

from negoray.llm.cost import Budget, UsageLedger
from negoray.llm.errors import BudgetExceeded


def test_either_cap_is_reached_at_or_above_it():
    assert Budget().reached(1e9, 1e9) is None
    assert Budget(max_usd=1.0).reached(0.99, 10**9) is None
    assert Budget(max_usd=1.0).reached(1.0, 0) == "$1.0000 spent of max_usd = $1.0000"
    assert Budget(max_tokens=100).reached(0.0, 100) == "100 tokens used of max_tokens = 100"
    assert Budget(max_usd=1.0, max_tokens=100).reached(0.5, 99) is None


def test_check_raises_with_the_same_words():
    ledger = UsageLedger()
    ledger.record("p", "A1", 60, 40, 0.0, cache_hit=False)
    Budget(max_tokens=101).check(ledger)
    with pytest.raises(BudgetExceeded, match="budget reached: 100 tokens used of max_tokens = 100"):
        Budget(max_tokens=100).check(ledger)
