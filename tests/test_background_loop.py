"""`BackgroundLoop`: synchronous callers share one event loop in a daemon thread."""

import asyncio
import threading

import pytest

from negoray.background_loop import BackgroundLoop


def test_coroutines_from_several_threads_run_on_one_loop():
    background = BackgroundLoop("test-background")
    loops, names = [], []

    async def where() -> None:
        loops.append(asyncio.get_running_loop())
        names.append(threading.current_thread().name)

    threads = [threading.Thread(target=background.run, args=(where(),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loops) == 4 and all(loop is background.loop for loop in loops)
    assert set(names) == {"test-background"}
    background.stop()


def test_a_result_and_an_exception_come_back_to_the_caller():
    background = BackgroundLoop("test-background")

    async def answer() -> int:
        return 42

    async def fail() -> None:
        raise ValueError("boom")

    assert background.run(answer()) == 42
    with pytest.raises(ValueError, match="boom"):
        background.run(fail())
    background.stop()
    background.stop()  # idempotent


def test_it_works_from_code_that_already_runs_a_loop():
    """A notebook cell runs inside a loop; the shim still answers (on its own loop)."""
    background = BackgroundLoop("test-background")

    async def inner() -> str:
        return "ok"

    async def notebook_cell() -> str:
        return background.run(inner())  # a plain synchronous call, as a shim makes it

    assert asyncio.run(notebook_cell()) == "ok"
    background.stop()
