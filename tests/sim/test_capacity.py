"""sim-serve's capacity model: a collapse past a load (service times growing with the load) and an
LM Studio-like unload when overloaded, in virtual time; and the flags that set them."""

from __future__ import annotations

import argparse

import pytest

from negoray.commands import sim_serve
from negoray.sim.faults import Fault, FaultConfig, FaultModel


def test_service_times_grow_past_the_collapse_point():
    model = FaultModel(FaultConfig(latency_ms=300, latency_sigma=0, collapse_after=48, collapse_factor=1.0))
    assert model.service_time_s(0, load=48) == pytest.approx(0.3)
    assert model.service_time_s(0, load=96) == pytest.approx(0.6)  # twice the load: every request twice as slow
    assert model.service_time_s(0, load=72) == pytest.approx(0.45)
    assert FaultModel(FaultConfig(latency_ms=300, latency_sigma=0)).service_time_s(0, load=10_000) == pytest.approx(0.3)


def test_an_overload_unloads_the_model_for_a_while():
    model = FaultModel(FaultConfig(collapse_after=4, collapse_factor=0, overload_unload_s=10), start=0)
    assert model.decide(1.0, 10, load=4).fault is Fault.NONE
    assert model.decide(2.0, 10, load=5).fault is Fault.UNLOADED  # one too many: unloaded from now on
    assert model.decide(5.0, 10, load=1).fault is Fault.UNLOADED and model.unloaded(11.9)
    assert model.decide(12.0, 10, load=1).fault is Fault.NONE


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sim_serve.register(parser.add_subparsers())
    return parser.parse_args(["sim-serve", *argv])


def test_the_flags_set_the_capacity_model():
    config = sim_serve.config_from_args(_parse("--slots", "24", "--collapse-after", "48", "--collapse-factor", "2",
                                               "--overload-unload-s", "5"))
    assert (config.slots, config.collapse_after, config.collapse_factor, config.overload_unload_s) == (24, 48, 2.0, 5.0)


def test_an_unload_on_overload_needs_a_collapse_point(capsys):
    args = _parse("--overload-unload-s", "5")
    assert sim_serve.run(args, None) == 2
    assert "--overload-unload-s needs --collapse-after" in capsys.readouterr().err
