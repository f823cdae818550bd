"""Finding the provider error that stopped a remote task, through Ray's wrapping."""

from __future__ import annotations

import ray

from negoray.llm.errors import FatalProviderError


def fatal_cause(err: BaseException | None) -> FatalProviderError | None:
    """The `FatalProviderError` behind ``err``: raised in an evaluation task, it reaches the driver
    wrapped once per hop (task -> Population actor -> driver) in a `ray.exceptions.RayTaskError`
    whose ``cause`` is the next one down. None if a different failure is behind it."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, FatalProviderError) and not isinstance(err, ray.exceptions.RayError):
            return err
        err = getattr(err, "cause", None) or err.__cause__ or err.__context__
    return None
