"""bard.device: where bard computes, and how many threads it takes beside other work."""

import subprocess
import sys
import time

import pytest

from bard.device import others_running, threads_beside


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
