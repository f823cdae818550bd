"""ResponseCache: key stability/sensitivity, exact hits, modes, concurrent writers, SIGKILL safety."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from negoray.chat import ChatParams, ChatReply
from negoray.llm.cache import CacheMode, CacheStats, ResponseCache, cache_key

REPO = Path(__file__).resolve().parents[2]

# -- keys -----------------------------------------------------------------------------------

roles = st.sampled_from(["system", "user", "assistant"])
messages_st = st.lists(
    st.fixed_dictionaries({"role": roles, "content": st.text(max_size=30)}), min_size=1, max_size=4
)
json_scalar = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
response_format_st = st.none() | st.dictionaries(
    st.text(max_size=6), json_scalar | st.lists(json_scalar, max_size=3), max_size=3
)
params_st = st.builds(
    ChatParams,
    temperature=st.floats(min_value=0.0, max_value=2.0, allow_nan=False),
    max_tokens=st.integers(1, 4096),
    seed=st.none() | st.integers(0, 2**31),
    replicate=st.integers(0, 100),
    response_format=response_format_st,
)
endpoint_st = st.sampled_from(
    ["http://localhost:1234/v1", "https://api.groq.com/openai/v1", "sim://"]
) | st.text(min_size=1, max_size=20)
model_st = st.text(min_size=1, max_size=20)


@given(endpoint_st, model_st, messages_st, params_st)
def test_key_is_stable_and_hex(endpoint, model, messages, params):
    k = cache_key(endpoint, model, messages, params)
    assert len(k) == 64 and int(k, 16) >= 0
    # Fresh copies, reversed dict order, tuple instead of list: same key.
    copies = [{"content": m["content"], "role": m["role"]} for m in messages]
    rf = None if params.response_format is None else dict(reversed(list(params.response_format.items())))
    assert cache_key(endpoint, model, tuple(copies), dataclasses.replace(params, response_format=rf)) == k


def test_key_ignores_dict_order_int_float_and_trailing_slash():
    msgs = [{"role": "user", "content": "hi"}]
    base = cache_key("http://h/v1", "m", msgs, ChatParams(temperature=1, response_format={"a": 1, "b": 2}))
    assert cache_key("http://h/v1/", "m", [{"content": "hi", "role": "user"}],
                     ChatParams(temperature=1.0, response_format={"b": 2, "a": 1})) == base
    # Extra message fields beyond role/content do not enter the key.
    assert cache_key("http://h/v1", "m", [{"role": "user", "content": "hi", "name": "x"}],
                     ChatParams(temperature=1, response_format={"a": 1, "b": 2})) == base


@given(st.data(), endpoint_st, model_st, messages_st, params_st)
@settings(max_examples=200)
def test_any_change_changes_the_key(data, endpoint, model, messages, params):
    k = cache_key(endpoint, model, messages, params)
    what = data.draw(st.sampled_from(
        ["endpoint", "model", "content", "role", "add_message", "temperature", "max_tokens", "seed",
         "replicate", "response_format"]))
    e2, m2, msgs2, p2 = endpoint, model, [dict(m) for m in messages], params
    if what == "endpoint":
        e2 = data.draw(endpoint_st)
        assume(e2.rstrip("/") != endpoint.rstrip("/"))
    elif what == "model":
        m2 = data.draw(model_st)
        assume(m2 != model)
    elif what in ("content", "role"):
        i = data.draw(st.integers(0, len(msgs2) - 1))
        new = data.draw(st.text(max_size=30) if what == "content" else roles)
        assume(new != msgs2[i][what])
        msgs2[i][what] = new
    elif what == "add_message":
        msgs2.append(data.draw(messages_st)[0])
    elif what == "temperature":
        t = data.draw(st.floats(min_value=0.0, max_value=2.0, allow_nan=False))
        assume(t != params.temperature)
        p2 = dataclasses.replace(params, temperature=t)
    elif what == "max_tokens":
        n = data.draw(st.integers(1, 4096))
        assume(n != params.max_tokens)
        p2 = dataclasses.replace(params, max_tokens=n)
    elif what == "seed":
        s = data.draw(st.none() | st.integers(0, 2**31))
        assume(s != params.seed)
        p2 = dataclasses.replace(params, seed=s)
    elif what == "replicate":
        r = data.draw(st.integers(0, 100))
        assume(r != params.replicate)
        p2 = dataclasses.replace(params, replicate=r)
    else:
        rf = data.draw(response_format_st)
        assume(rf != params.response_format)
        p2 = dataclasses.replace(params, response_format=rf)
    assert cache_key(e2, m2, msgs2, p2) != k


# -- single-process behaviour ---------------------------------------------------------------

def _reply(i: int = 0, **kw) -> ChatReply:
    base = dict(text=f"answer {i} ünïcode ✓", prompt_tokens=10 + i, completion_tokens=3 + i,
                latency_s=1.25, cache_hit=False, attempts=2, provider="groq", model="llama-3.1-8b",
                extra={"finish_reason": "stop"})
    base.update(kw)
    return ChatReply(**base)


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_exact_hit_round_trip_and_first_write_wins(tmp_path):
    path = tmp_path / "nested" / "dir" / "cache.sqlite"  # parent created on demand
    with ResponseCache(path) as cache:
        assert cache.get("k") is None
        r = _reply(1)
        cache.put("k", r)
        got = cache.get("k")
        assert got == dataclasses.replace(r, cache_hit=True, latency_s=0.0, attempts=0)
        cache.put("k", _reply(2))  # ignored: first write wins
        assert cache.get("k").text == r.text
        assert len(cache) == 1
        assert cache.stats() == CacheStats(hits=2, misses=1, writes=1)
    assert _integrity(path) == "ok"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        cols = {row[1] for row in conn.execute("PRAGMA table_info(responses)")}
    assert {"key", "text", "prompt_tokens", "completion_tokens", "provider", "model", "created_at"} <= cols


def test_reopen_persists_and_async_wrappers(tmp_path):
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as cache:

        async def go() -> ChatReply | None:
            await asyncio.gather(*(cache.aput(f"k{i}", _reply(i)) for i in range(20)))
            return await cache.aget("k7")

        assert asyncio.run(go()).text == _reply(7).text
    with ResponseCache(path) as again:
        assert len(again) == 20
        assert again.get("k19").prompt_tokens == 29


def test_read_only_never_writes_and_missing_file_errors(tmp_path):
    missing = tmp_path / "nope" / "cache.sqlite"
    with pytest.raises(FileNotFoundError, match="nope"):
        ResponseCache(missing, CacheMode.READ_ONLY)
    assert not missing.parent.exists()

    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as rw:
        rw.put("a", _reply(1))
    with ResponseCache(path, "ro") as ro:
        assert ro.get("a").text == _reply(1).text
        ro.put("b", _reply(2))
        assert ro.get("b") is None
        assert len(ro) == 1
        assert ro.stats() == CacheStats(hits=1, misses=1, writes=0)


def test_off_mode_never_touches_disk(tmp_path):
    path = tmp_path / "sub" / "c.sqlite"
    with ResponseCache(path, CacheMode.OFF) as off:
        off.put("a", _reply())
        assert off.get("a") is None
        assert len(off) == 0
    assert not path.parent.exists()


def test_threads_write_concurrently_and_close_all(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)

    def work(t: int) -> None:
        for i in range(50):
            cache.put(f"t{t}-{i}", _reply(i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(cache) == 400 and cache.stats().writes == 400
    cache.close()
    with pytest.raises(RuntimeError, match="closed"):
        cache.get("t0-0")
    assert _integrity(path) == "ok"


def test_pickles_as_path_and_mode(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        cache.put("a", _reply())
        clone = pickle.loads(pickle.dumps(cache))
        assert clone.get("a") is not None and clone.mode is CacheMode.READ_WRITE
        clone.close()


# -- several processes ----------------------------------------------------------------------

_WRITER = textwrap.dedent("""
    import sys
    from negoray.chat import ChatReply
    from negoray.llm.cache import ResponseCache
    path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cache = ResponseCache(path)
    print("ready", flush=True)
    i = 0
    while n < 0 or i < n:
        cache.put(f"{prefix}-{i}", ChatReply(text="x" * (i % 97), prompt_tokens=i, provider="p", model="m"))
        print(i, flush=True)
        i += 1
    cache.close()
""")


def _spawn_writer(path: Path, prefix: str, n: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(path), prefix, str(n)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def test_four_processes_write_one_file(tmp_path):
    path = tmp_path / "c.sqlite"
    procs = [_spawn_writer(path, f"p{j}", 200) for j in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert out.split()[-1] == "199"
    assert _integrity(path) == "ok"
    with ResponseCache(path, CacheMode.READ_ONLY) as ro:
        assert len(ro) == 800
        assert all(ro.get(f"p{j}-{i}") is not None for j in range(4) for i in range(200))


def test_sigkill_mid_write_loses_nothing_committed(tmp_path):
    path = tmp_path / "c.sqlite"
    total_reported = 0
    for round_, run_for in enumerate([0.5, 0.2, 0.35]):
        proc = _spawn_writer(path, f"r{round_}", -1)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout))  # drain the pipe
        reader.start()
        time.sleep(run_for)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(timeout=10)
        committed = [int(line) for line in lines if line.endswith("\n")]
        assert committed, "writer made no progress before the kill"
        total_reported += len(committed)

        assert _integrity(path) == "ok"
        with ResponseCache(path) as cache:  # the file opens (and accepts writes) after a kill
            assert len(cache) >= total_reported
            missing = [i for i in committed if cache.get(f"r{round_}-{i}") is None]
            assert not missing
