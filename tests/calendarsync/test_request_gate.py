"""The worker's budget of requests in flight (network.RequestGate), shared by its threads."""

from __future__ import annotations

import threading
import time

from shiftdesk.calendarsync.network import RequestGate


def test_the_budget_is_never_exceeded_and_a_big_step_is_not_starved():
    gate = RequestGate(4)
    in_use, peak, lock = [0], [0], threading.Lock()
    big_done = threading.Event()
    stop = threading.Event()

    def step(wanted: int, once: bool = False) -> None:
        while not stop.is_set():
            held = gate.acquire(wanted)
            with lock:
                in_use[0] += held
                peak[0] = max(peak[0], in_use[0])
            time.sleep(0.002)
            with lock:
                in_use[0] -= held
            gate.release(held)
            if once:
                big_done.set()
                return

    small = [threading.Thread(target=step, args=(1,)) for _ in range(6)]
    for t in small:
        t.start()
    time.sleep(0.05)  # the small steps keep the budget busy
    big = threading.Thread(target=step, args=(4, True))
    big.start()
    assert big_done.wait(5), "a step needing the whole budget waited forever behind small ones"
    stop.set()
    for t in [*small, big]:
        t.join(5)
    assert peak[0] <= 4


def test_asking_for_more_than_the_budget_gets_the_budget():
    gate = RequestGate(3)
    assert gate.acquire(10) == 3
    gate.release(3)
    assert gate.acquire(1) == 1
