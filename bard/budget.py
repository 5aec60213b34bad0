"""A reply within a time budget on any machine: how many candidates this machine can sample, read
back and rank in the time, learnt from the responder's own replies.

A reply's time is a fixed part (reading the message and the conversation) and a part that grows
with its candidates (each is a row of every sampling step and of the read-back). The budget keeps
both, as measured in the last replies, and sizes the next batch to fit: a fast CPU keeps every
candidate asked for, a slow one, or one busy beside a training run, answers in time with fewer.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque

from bard.sampling import ROW_MULTIPLE

# Batches are whole groups of rows (oneDNN's CPU LSTM is slow for odd batch sizes), and a reply
# never has fewer than one group: below that, the best candidate is mostly a stock line.
GROUP = ROW_MULTIPLE
# Replies remembered: their median follows a machine that becomes busy within a few replies, and
# one slow reply does not move it.
REMEMBERED = 8


class CandidateBudget:
    def __init__(self, budget_ms: float):
        """`budget_ms`: the time a reply may take; 0 for no budget (always the candidates asked for)."""
        self.budget_ms = budget_ms
        self.per_candidate: deque[float] = deque(maxlen=REMEMBERED)  # milliseconds
        self.fixed: deque[float] = deque(maxlen=REMEMBERED)  # milliseconds a reply costs however many
        self.warmed_up = False
        self.lock = threading.Lock()  # the Discord bot replies from worker threads

    def candidates(self, wanted: int) -> int:
        """How many of the `wanted` candidates fit the budget: a multiple of GROUP, at least one
        group (or `wanted`, if fewer). All of them until a reply after the first has been timed."""
        with self.lock:
            if not self.budget_ms or not self.per_candidate:
                return wanted
            per_candidate, fixed = statistics.median(self.per_candidate), statistics.median(self.fixed)
        fit = int((self.budget_ms - fixed) / per_candidate) // GROUP * GROUP
        return min(wanted, max(fit, GROUP))

    def spent(self, candidates: int, candidates_ms: float, fixed_ms: float) -> None:
        """A reply spent `candidates_ms` on `candidates` candidates (sampling, reading back,
        ranking) and `fixed_ms` on the rest. The process's first reply is not counted: it pays
        one-off costs (oneDNN and fbgemm build their kernels) two to three times over."""
        with self.lock:
            if not self.warmed_up:
                self.warmed_up = True
            elif candidates:
                self.per_candidate.append(candidates_ms / candidates)
                self.fixed.append(fixed_ms)
