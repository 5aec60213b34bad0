"""The reply budget: candidates sized from the responder's own timings."""

import dataclasses

import pytest

from bard.budget import GROUP, CandidateBudget
from bard.config import load_config
from bard.responder import Responder


def warmed(budget_ms):
    budget = CandidateBudget(budget_ms)
    budget.spent(64, 5000, 5000)  # the first reply builds kernels: not counted
    return budget


def test_every_candidate_until_a_reply_after_the_first_is_timed_and_without_a_budget():
    assert CandidateBudget(400).candidates(64) == 64
    assert warmed(400).candidates(64) == 64  # the slow first reply shrinks nothing
    unbounded = warmed(0)
    unbounded.spent(64, 60_000, 100)
    assert unbounded.candidates(64) == 64


def test_candidates_fit_the_budget_in_whole_groups():
    budget = warmed(400)
    budget.spent(64, 640, 80)  # 10 ms a candidate and 80 ms besides: 32 fit in 400 ms
    assert budget.candidates(64) == 32
    assert budget.candidates(20) == 20  # never more than asked for
    budget.spent(32, 4000, 80)
    budget.spent(16, 4000, 80)  # a machine that became very slow: still one group
    assert budget.candidates(64) == GROUP
    fast = warmed(400)
    fast.spent(64, 64, 16)
    assert fast.candidates(64) == 64 and fast.candidates(400) == 384


def test_a_smaller_batch_grows_back_when_the_machine_is_fast_again():
    # The fixed part is kept apart, so a reply of 48 candidates does not look dearer per candidate
    # than one of 64 and hold the responder at 48.
    budget = warmed(400)
    for _ in range(5):
        budget.spent(48, 48 * 4.5, 100)
    assert budget.candidates(64) == 64  # 100 + 64 x 4.5 = 388 ms fits


def test_one_slow_reply_does_not_shrink_the_next():
    budget = warmed(400)
    budget.spent(64, 300, 20)
    budget.spent(64, 3000, 20)  # a hiccup
    budget.spent(64, 320, 20)
    assert budget.candidates(64) == 64


@pytest.fixture(scope="module")
def shipped():
    return Responder.load(load_config(None))


def with_budget(responder, budget_ms, seed=None):
    config = load_config(None)
    config.responder = dataclasses.replace(config.responder, budget_ms=budget_ms)
    return Responder(responder.model, responder.vocab, responder.lexicon, responder.sentiment, config, seed=seed,
                     verbatim=responder.verbatim)


def test_a_responder_over_its_budget_samples_fewer_candidates(shipped):
    hurried = with_budget(shipped, 1)  # no machine replies in a millisecond
    conversation = hurried.new_conversation()
    replies = [hurried.reply(conversation, m) for m in ("Good morrow, my lord.", "What news?", "Speak, speak!")]
    assert [len(r.candidates) for r in replies] == [64, 64, GROUP]  # the first reply is not counted
    assert replies[2].to_dict()["n_candidates"] == GROUP and not replies[2].fallback
    # A seed asks for the same replies every time: every candidate, whatever the budget.
    seeded = with_budget(shipped, 1, seed=0)
    conversation = seeded.new_conversation()
    assert [len(seeded.reply(conversation, m).candidates) for m in ("Hail!", "Speak.")] == [64, 64]
    assert len(hurried.reply(hurried.new_conversation(), "Speak.", seed=3).candidates) == 64
