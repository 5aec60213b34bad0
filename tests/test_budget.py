"""The reply budget: candidates sized from the responder's own timings."""

import dataclasses

import pytest

from bard.budget import GROUP, CandidateBudget
from bard.config import load_config
from bard.responder import Responder


def test_every_candidate_until_a_reply_is_timed_and_without_a_budget():
    assert CandidateBudget(400).candidates(64) == 64
    unbounded = CandidateBudget(0)
    unbounded.spent(64, 60_000)
    assert unbounded.candidates(64) == 64


def test_candidates_fit_the_budget_in_whole_groups():
    budget = CandidateBudget(400)
    budget.spent(64, 800)  # 12.5 ms a candidate: 32 fit in 400 ms
    assert budget.candidates(64) == 32
    assert budget.candidates(20) == 20  # never more than asked for
    budget.spent(32, 4000)
    budget.spent(16, 4000)  # a machine that became very slow: still one group
    assert budget.candidates(64) == GROUP
    fast = CandidateBudget(400)
    fast.spent(64, 100)
    assert fast.candidates(64) == 64 and fast.candidates(400) == 256


def test_one_slow_reply_does_not_shrink_the_next():
    budget = CandidateBudget(400)
    budget.spent(64, 3000)  # the first reply builds kernels
    budget.spent(64, 300)
    budget.spent(64, 320)
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
    first = hurried.reply(conversation, "Good morrow, my lord.")
    second = hurried.reply(conversation, "What news from the court?")
    assert len(first.candidates) == 64 and len(second.candidates) == GROUP
    assert second.to_dict()["n_candidates"] == GROUP and not second.fallback
    # A seed asks for the same replies every time: every candidate, whatever the budget.
    seeded = with_budget(shipped, 1, seed=0)
    conversation = seeded.new_conversation()
    assert [len(seeded.reply(conversation, m).candidates) for m in ("Hail!", "Speak.")] == [64, 64]
    assert len(hurried.reply(hurried.new_conversation(), "Speak.", seed=3).candidates) == 64
