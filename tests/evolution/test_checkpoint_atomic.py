"""Checkpoints are saved atomically: a crash at any moment of a save leaves the previous checkpoint
readable (the new state is written to a temporary file, fsynced, then put in place by os.replace)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from negoray.evolution.genome import Genome, Origin
from negoray.evolution.loop import RunState
from negoray.evolution import checkpoint
from negoray.evolution.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def state(generation, prompt="be firm"):
    population = [Genome(f"A1-g{generation}-{i}", "A1", generation, prompt * 50, Origin.SEED, lineage="firm")
                  for i in range(8)]
    return RunState("A1", "A", 1, generation, population, {}, None, False)


def test_a_saved_checkpoint_loads_as_it_was(tmp_path):
    save_checkpoint(tmp_path, state(3))
    assert load_checkpoint(tmp_path, "A1") == state(3)
    assert load_checkpoint(tmp_path, "B1") is None


@pytest.mark.parametrize("where", ["json.dump", "os.fsync", "os.replace"])
def test_a_crash_inside_a_save_leaves_the_old_checkpoint(tmp_path, monkeypatch, where):
    save_checkpoint(tmp_path, state(1))
    real_dump = json.dump

    def crash(*args, **kwargs):
        if where == "json.dump":  # half the new file is written, then the process dies
            real_dump({"run_id": "A1", "population": [{"half": True}]}, args[1])
        raise KeyboardInterrupt("killed mid-save")

    module, name = where.split(".")
    monkeypatch.setattr(getattr(checkpoint, module), name, crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, state(2))
    monkeypatch.undo()
    assert load_checkpoint(tmp_path, "A1") == state(1)
    save_checkpoint(tmp_path, state(2))  # the next save works and replaces it
    assert load_checkpoint(tmp_path, "A1") == state(2)


def test_a_process_killed_while_saving_leaves_a_readable_checkpoint(tmp_path):
    saver = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_checkpoint_atomic import state
        from negoray.evolution.checkpoint import save_checkpoint
        g = 0
        while True:
            save_checkpoint(Path({str(tmp_path)!r}), state(g))
            if g == 0:
                print("saved", flush=True)
            g += 1
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", saver], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline() == "saved\n"  # saving in a loop now: kill it wherever it is
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    loaded = load_checkpoint(tmp_path, "A1")
    assert loaded is not None and loaded == state(loaded.generation)
    assert checkpoint_path(tmp_path, "A1").exists()
