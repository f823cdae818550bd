"""How much of the machine an endpoint's tasks take by default."""

from negoray.llm.providers import PROVIDERS
from negoray.runtime.ray_backend import endpoint_slots_for, task_cpus_for


def test_only_the_in_process_sim_takes_a_whole_cpu_per_task():
    assert task_cpus_for("sim") == 1.0
    assert {task_cpus_for(p) for p in ("local", "vllm", "groq", "custom")} == {0.25}


def test_a_serial_local_server_gets_few_slots_a_cloud_provider_many():
    assert endpoint_slots_for(PROVIDERS["local"]) == 8
    assert endpoint_slots_for(PROVIDERS["groq"]) == 128
    assert endpoint_slots_for(PROVIDERS["vllm"]) == 256
