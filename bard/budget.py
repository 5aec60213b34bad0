"""A reply within a time budget on any machine: how many candidates this machine can sample, read
back and rank in the time, learnt from the responder's own replies.

A reply's time grows with its candidates (each is a row of every sampling step and of the read-back),
so the budget keeps the milliseconds each candidate cost in the last replies and sizes the next
batch to fit: a fast CPU keeps every candidate asked for, a slow one, or one busy beside a training
run, answers in time with fewer.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque

# Batches are whole groups of rows (oneDNN's CPU LSTM is slow for odd batch sizes), and a reply
# never has fewer than one group: below that, the best candidate is mostly a stock line.
GROUP = 16
# Replies remembered: the median of their cost forgets the first reply's kernel building at once,
# and follows a machine that becomes busy within a few replies.
REMEMBERED = 8


class CandidateBudget:
    def __init__(self, budget_ms: float):
        """`budget_ms`: the time a reply may take; 0 for no budget (always the candidates asked for)."""
        self.budget_ms = budget_ms
        self.costs: deque[float] = deque(maxlen=REMEMBERED)  # milliseconds per candidate
        self.lock = threading.Lock()  # the Discord bot replies from worker threads

    def candidates(self, wanted: int) -> int:
        """How many of the `wanted` candidates fit the budget: a multiple of GROUP, at least one
        group (or `wanted`, if fewer). All of them until a reply has been timed."""
        with self.lock:
            if not self.budget_ms or not self.costs:
                return wanted
            cost = statistics.median(self.costs)
        fit = int(self.budget_ms / cost) // GROUP * GROUP
        return min(wanted, max(fit, GROUP))

    def spent(self, candidates: int, milliseconds: float) -> None:
        """A reply with `candidates` candidates took `milliseconds`."""
        if candidates:
            with self.lock:
                self.costs.append(milliseconds / candidates)
