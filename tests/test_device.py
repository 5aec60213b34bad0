"""bard.device: where bard computes, and how many threads it takes beside other work."""

import subprocess
import sys
import time

import pytest

import torch

from bard.device import bf16_is_native, others_running, threads_beside


def test_threads_fall_to_one_only_beside_other_work():
    assert threads_beside(0, 2) == 2 and threads_beside(None, 2) == 2
    assert threads_beside(1, 2) == 1 and threads_beside(3, 8) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_others_running_sees_a_busy_process():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert others_running() >= 1
    finally:
        spinner.kill()
        spinner.wait()


def test_bfloat16_by_name_stops_with_one_line_on_a_cpu_without_it(monkeypatch):
    from bard.device import resolve_precision, training_precision
    from bard.errors import BardError

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    cpu = torch.device("cpu")
    assert not bf16_is_native(cpu)
    assert resolve_precision("auto", cpu) == "float32" and resolve_precision("float32", cpu) == "float32"
    with pytest.raises(BardError, match="no.*set the precision to auto or float32") as stop:
        resolve_precision("bfloat16", cpu)
    assert "\n" not in str(stop.value)
    with pytest.raises(BardError, match="set the precision to auto or float32"):
        training_precision("bfloat16", cpu)  # the trainer's path, which once passed bfloat16 through


def test_int8_is_chosen_where_it_pays_and_refused_where_it_cannot_run():
    from bard.device import int8_pays, sampling_precision
    from bard.errors import BardError

    cpu = torch.device("cpu")
    if int8_pays(cpu):
        assert sampling_precision("auto", cpu) == "int8" and sampling_precision("int8", cpu) == "int8"
    assert sampling_precision("auto", cpu, quantizable=False) in ("float32", "bfloat16")
    assert sampling_precision("float32", cpu) == "float32"
    with pytest.raises(BardError, match="int8 runs on x86 CPUs only, not on cuda"):
        sampling_precision("int8", torch.device("cuda"))
    assert sampling_precision("auto", torch.device("cuda")) == "float32"
