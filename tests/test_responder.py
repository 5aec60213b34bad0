"""The responder on the shipped models: real sampling, real lexicon, real sentiment classifier."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from bard.config import load_config
from bard.responder import (COPY, FALLBACKS, GREETING_WEIGHT, OPENING_WEIGHT, OVERLAP_WEIGHT, Candidate, Responder,
                            Turn, answer_openings, clean_message, cut_speech, last_sentence)
from bard.sampling import prime
from bard.scoring import mood_fit, repetition, user_mood


@pytest.fixture(scope="module")
def responder():
    return Responder.load(load_config(None), seed=0)


def with_config(responder, **changes):
    config = load_config(None)
    config.responder = dataclasses.replace(config.responder, **changes)
    return Responder(responder.model, responder.vocab, responder.lexicon, responder.sentiment, config, seed=0,
                     verbatim=responder.verbatim)


def test_the_message_is_framed_as_a_speech_the_persona_answers(responder):
    assert responder.user_speech("What news, Horatio?", "hamlet") == "\n\n   hor. what news, horatio?"
    assert responder.user_speech("the king sleeps", "macbeth") == "\n\n   lady. the king sleeps."
    assert responder.user_speech("   ", "hamlet") == ""
    reply = responder.reply(responder.new_conversation(), "What news from Denmark?", seed=1)
    # A fresh start, and the message's most telling word taken up as a question; never the user's
    # modern phrase. "love" is taken up as the plays spell it. (Prototypes are off by default.)
    assert reply.seeds == ["", "denmark? "]
    assert responder.seeds("what is love") == ["", "loue? "] and responder.seeds("and so") == [""]
    assert responder.seeds("I heard thunder") == [""]  # "thunder? ..." would be cut as a stage direction
    assert {c.seed for c in reply.candidates} == set(reply.seeds)
    assert len(reply.candidates) == load_config(None).responder.candidates


@pytest.mark.parametrize("message, positive, expected", [
    ("Good evening, my friend.", 0.5, {"good euen, ": GREETING_WEIGHT}),
    ("Hi there, how do you do?", 0.5, {"good morrow, ": GREETING_WEIGHT}),
    ("Farewell, I must be going now.", 0.5, {"farewell, ": GREETING_WEIGHT}),
    ("I must go now, adieu!", 0.5, {"farewell, ": GREETING_WEIGHT}),
    ("Tell me, what is love?", 0.5, {"loue is ": OPENING_WEIGHT}),
    ("What\u2019s love??", 0.5, {"loue is ": OPENING_WEIGHT}),
    ("Why did she say goodbye?", 0.5, {"because ": OPENING_WEIGHT}),
    ("My heart is broken.", 0.04, {"alas, ": OPENING_WEIGHT}),
    ("I\u2019m so sad.", 0.01, {"alas, ": OPENING_WEIGHT}),
    # A greeting word inside a sentence, a pronoun or stop word defined, joy, a feeling not sure
    # enough, other questions and commands: no opening.
    ("I had a good day at work.", 0.9, {}),
    ("I never get a good night's sleep.", 0.5, {}),
    ("This is which?", 0.5, {}),
    ("What is it?", 0.5, {}),
    ("We won the battle!", 0.95, {}),
    ("My heart is broken.", 0.06, {}),
    ("Do you like pizza?", 0.5, {}),
    ("Pour me some wine.", 0.5, {}),
])
def test_answers_open_as_the_plays_open_them(responder, message, positive, expected):
    assert answer_openings(message, positive, responder.lexicon) == expected


def test_an_opening_is_sampled_and_weighed(responder):
    reply = responder.reply(responder.new_conversation(), "Good night, sweet prince.", seed=5)
    assert reply.seeds[:3] == ["", "prince? ", "good night, "]
    assert any(c.text.startswith("Good night, ") for c in reply.candidates if c.seed == "good night, ")
    plain, greeting = Candidate("", "Good night, my lord."), Candidate("good night, ", "Good night, my lord.")
    responder.rank([plain, greeting], "sleep well", 0.5, "any", {"good night, ": GREETING_WEIGHT})
    assert greeting.score == pytest.approx(plain.score + GREETING_WEIGHT)
    # The mood asked for judges what the model wrote after the opening, not the opening itself.
    kind = Candidate("alas, ", "Alas, my good lord, I am glad to see thee.")
    responder.rank([kind], "my heart is broken", 0.01, "positive", {"alas, ": OPENING_WEIGHT})
    assert kind.positive == pytest.approx(float(responder.sentiment.score(["my good lord, I am glad to see thee."])[0]))
    assert kind.positive != pytest.approx(float(responder.sentiment.score([kind.text])[0]))
    # The kept tail of an over-long message may begin mid-word ("...in Delhi" as "hi"): no opening.
    assert responder.openings("x" * 400 + " in Delhi", 0.5) == {}


def test_the_conversation_is_carried_in_the_state(responder):
    remembered = responder.new_conversation()
    first = responder.reply(remembered, "Tell me of the ghost upon the platform.", seed=3)
    assert [t.speaker for t in remembered.turns] == ["user", "bard"] and remembered.turns[1].text == first.text
    with_memory = responder.reply(remembered, "And what said it?", seed=4)
    without = responder.reply(responder.new_conversation(), "And what said it?", seed=4)
    assert [c.text for c in with_memory.candidates] != [c.text for c in without.candidates]
    # Rebuilding from the saved turns gives the state the dialog left behind.
    rebuilt = responder.restore(list(remembered.turns))
    expected = prime(responder.model, responder.vocab, "\n", remembered.state)[0].float().softmax(-1)
    actual = prime(responder.model, responder.vocab, "\n", rebuilt.state)[0].float().softmax(-1)
    torch.testing.assert_close(actual, expected, atol=0.03, rtol=0)


def test_a_conversation_never_ends_two_replies_alike(responder):
    conversation = responder.new_conversation()
    replies = [responder.reply(conversation, message, seed=i).text for i, message in enumerate(
        ["Good morrow.", "What news?", "Tell me more.", "And then?", "Farewell."])]
    assert len({last_sentence(r) for r in replies}) == len(replies), replies


def test_kept_turns_are_bounded(responder):
    short = with_config(responder, memory_turns=4, candidates=4)
    conversation = short.new_conversation()
    for i in range(5):
        short.reply(conversation, f"message {i}", seed=i)
    assert len(conversation.turns) == 4 and conversation.turns[0].text == "message 3"


def test_cleaning_cuts_at_speech_and_sentence_ends_and_drops_stage_directions():
    assert cut_speech("my lord, i come.\n\n   hor. no more") == "my lord, i come."
    assert cut_speech("it is the king.\nenter ghost.\nlook where it comes\n\n   hor. peace") == \
        "it is the king. look where it comes."
    assert cut_speech("good night , sweet prince. and flights of an") == "good night, sweet prince."
    assert cut_speech("no end in sight and no stop") is None
    assert cut_speech("i go.\n   hor. stay, my lord") == "i go."


def test_each_filter_on_hand_made_candidates(responder):
    def verdict(raw):
        return responder.judge_text("", raw + "\n\n   hor.").rejected

    assert verdict("i will speak to it, though the night it selfe should fall.") is None
    assert verdict("my loue doth liue vpon thy lips, and speak'st of kingdomes.") is None
    assert verdict("the qwzxy of denmarke is blorft.").startswith("misspelt: qwzxy, blorft")
    assert verdict("yes.") == "1 words"
    assert verdict(" ".join(["word"] * 2 + ["and more"] * 25) + ".") == "52 words"
    assert verdict("the king the king is dead.") == "repeats 'the king'"
    assert verdict("no no no, my lord.") == "repeats 'no'"
    # Forty characters running from the plays (Hamlet's own line, any case and spacing) is a copy.
    assert verdict("to be,  or not to be, that is the Question: whether 'tis nobler.") == COPY
    assert verdict("whether 'tis nobler, my lord, i cannot answer you.") is None
    # Windows count characters, not bytes: letters outside ASCII before a copy do not hide it.
    assert responder.verbatim.copies("æææææææææææææ to be, or not to be, that is the question:")
    assert verdict("!!! ...") == "no words"
    assert responder.judge_text("", "and so it goes on and on without an end").rejected == "unfinished"


def test_spelling_knows_folio_forms_and_inflections_but_not_nonsense(responder):
    lexicon = responder.lexicon
    for word in ("loue", "vpon", "haue", "loueth", "speak'st", "kingdomes", "th'", "'tis", "cried", "sinning",
                 "louing", "happiness", "computers"):
        assert lexicon.known(word), word
    # Inventions that Folio respelling or a verb ending once let through.
    for word in ("qwzxy", "lilerie", "trebtly", "vsse", "bapping", "arraue", "steall", "seepe", "rendere", "senating"):
        assert not lexicon.known(word), word
    assert lexicon.spelling("the loue of caesar.") == (1.0, [])
    assert lexicon.spelling("") == (0.0, [])


def test_the_model_reads_sense_and_relevance_back(responder):
    conversation = responder.new_conversation()
    context = prime(responder.model, responder.vocab, responder.user_speech("Good morrow, my lord.", "hamlet")
                    + responder.speech("ham.", ""))
    sensible = Candidate("", "Good morrow to you, my good lord.")
    salad = Candidate("", "Lord my you good morrow, to good.")
    responder.weigh_sense([sensible, salad], context, conversation.settings.persona)
    assert sensible.sense > salad.sense + 0.3
    # The greeting makes a greeting back likelier than a fresh start of the speech does.
    assert sensible.relevance > 0
    rejected = Candidate("", "Good morrow.", rejected="1 words")
    responder.weigh_sense([rejected], context, "hamlet")
    assert rejected.sense == 0.0


# Messages the classifier trained without chat misread, each once answering joy with "Alas,".
GLAD = ["I passed all my exams!", "I got the job I wanted!", "We are going to Italy on holiday next week!"]
UNHAPPY = ["My best friend forgot my birthday.", "I feel so lonely since my best friend moved away."]


@pytest.mark.parametrize("message", GLAD + UNHAPPY)
def test_the_users_mood_is_read_as_meant(responder, message):
    glad = message in GLAD
    reading = responder.read_mood(message)
    assert (reading > 0.5) == glad and user_mood(reading) == reading  # read as meant, and sure enough to act on
    assert ("alas, " in responder.openings(message, reading)) == (not glad)
    # Mirroring a sure reading prefers a reply of the user's mood.
    cheerful, grieving = mood_fit(np.array([0.9, 0.1]), "mirror", reading)
    assert (cheerful > grieving) == glad
    if glad:  # joy is never answered with grief
        reply = responder.reply(responder.new_conversation(settings=dataclasses.replace(responder.defaults, mood="mirror")),
                                message, seed=3)
        assert not reply.text.lower().startswith("alas")
        assert reply.to_dict()["user_mood"] == pytest.approx(reading, abs=1e-4)


def test_display_restores_case(responder):
    assert responder.display("i thinke caesar is in rome. o my lord, i'll go.") == \
        "I thinke Caesar is in Rome. O my lord, I'll go."


def test_mood_fit_and_repetition_rules():
    positive = np.array([0.9, 0.5, 0.1])
    assert mood_fit(positive, "positive", 0.5).tolist() == [0.9, 0.5, 0.1]
    assert np.allclose(mood_fit(positive, "negative", 0.5), [0.1, 0.5, 0.9])
    assert np.allclose(mood_fit(positive, "neutral", 0.5), [0.2, 1.0, 0.2])
    assert np.allclose(mood_fit(positive, "mirror", 0.04), [0.14, 0.54, 0.94])
    # An unsure reading of the user (more than SURE_WITHIN from 0 and 1) asks for a neutral reply, not its lean.
    assert np.allclose(mood_fit(positive, "mirror", 0.1), [0.6, 1.0, 0.6])
    assert mood_fit(positive, "any", 0.5).tolist() == [1.0, 1.0, 1.0]
    assert repetition("a b c d e f g h".split()) is None
    assert repetition("a a b b c c a c".split()) == "too few distinct words"


def test_ranking_weighs_sense_mood_and_overlap(responder):
    happy = Candidate("", "I am glad and merry, full of joy and love.")
    grim = Candidate("", "I hate this vile and wretched bloody death.")
    responder.rank([happy, grim], "hello", 0.5, "positive")
    assert happy.accepted and happy.score > grim.score
    responder.rank([happy, grim], "hello", 0.5, "negative")
    assert grim.score > happy.score
    moon = Candidate("", "The moon is bright and fair tonight.")
    king = Candidate("", "The king is bright and fair tonight.")
    responder.rank([king, moon], "and the moon?", 0.5, "any")
    assert moon.overlap == 1.0 and king.overlap == 0.0 and moon.score == pytest.approx(king.score + OVERLAP_WEIGHT)
    sensible, salad = dataclasses.replace(moon, sense=-0.7), dataclasses.replace(moon, sense=-1.4)
    responder.rank([sensible, salad], "and the moon?", 0.5, "any")
    assert sensible.score > salad.score
    reply = responder.reply(responder.new_conversation(), "Good morrow, sweet prince.", seed=2)
    accepted = [c for c in reply.candidates if c.accepted]
    assert reply.candidates[reply.chosen].score == max(c.score for c in accepted)
    assert all(c.mood_fit >= 0.2 and c.sense < 0 for c in accepted)


def test_fallback_when_nothing_passes(responder):
    strict = with_config(responder, min_words=39, max_words=40, candidates=8)
    reply = strict.reply(strict.new_conversation(), "Speak!", seed=0)
    assert reply.fallback and reply.chosen is None and reply.n_accepted == 0
    assert reply.text in FALLBACKS["hamlet"] and len(reply.candidates) == 8
    assert all(c.rejected for c in reply.candidates)


@pytest.mark.parametrize("message", [
    "", "   \n\t ", "x" * 100_000 + " the end", "🙂🎭🗡️ 🙂", "Привет, как дела? 你好", "\x00\x07\x1b[31mred\x1b[0m",
    "<script>alert('pwned')</script> @everyone <b>hi</b> <@123456789> https://evil.example/x",
])
def test_bad_input_always_gets_a_reply_that_echoes_no_markup(responder, message):
    reply = responder.reply(responder.new_conversation(), message, seed=0)
    assert reply.text.strip()
    # The model can only write its own characters, so "<" or ESC cannot appear; what could leak is the
    # words inside markup, links and mentions, through the content-word seed or the model reading them.
    cleaned = clean_message(message, 300)
    for leaked in ("script", "alert", "pwned", "everyone", "evil", "example", "123456789", "http"):
        assert leaked not in cleaned
        assert all(leaked not in seed for seed in reply.seeds)
        assert leaked not in reply.text.lower()
    assert not set(cleaned) & set("<>@\x00\x07\x1b")


def test_the_fallback_draws_on_the_generators_own_device(responder, monkeypatch):
    # A CUDA generator cannot fill a CPU tensor: every draw must name the generator's device.
    draws, real_randint = [], torch.randint

    def spy(*args, generator=None, device=None, **kwargs):
        if generator is not None:
            draws.append((generator.device, device))
        return real_randint(*args, generator=generator, device=device, **kwargs)

    monkeypatch.setattr(torch, "randint", spy)
    strict = with_config(responder, min_words=39, max_words=40, candidates=8)
    assert strict.reply(strict.new_conversation(), "Speak!", seed=0).fallback
    assert draws and all(device is not None and torch.device(device) == on for on, device in draws)


def test_a_seed_makes_replies_reproducible(responder):
    def candidates(seed):
        return [c.text for c in responder.reply(responder.new_conversation(), "What is a man?", seed=seed).candidates]

    assert candidates(7) == candidates(7) != candidates(8)


def test_restore_reads_saved_turns(responder):
    turns = [Turn("user", "Who's there?"), Turn("bard", "Nay, answer me.")]
    conversation = responder.restore(turns)
    assert list(conversation.turns) == turns and conversation.state is not None


def test_bard_reply_json_end_to_end():
    result = subprocess.run([sys.executable, "-m", "bard", "reply", "--json", "--seed", "1",
                             "Good morrow, my lord.", "<b>@everyone</b>", ""],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert row["text"] and row["latency_ms"] > 0 and row["n_candidates"] == 64
        assert 0 <= row["n_accepted"] <= 64 and isinstance(row["fallback"], bool)
    explained = subprocess.run([sys.executable, "-m", "bard", "reply", "--explain", "--candidates", "4", "--mood", "any",
                                "--persona", "brutus", "Hail, Caesar!"], capture_output=True, text=True, check=False)
    assert explained.returncode == 0, explained.stderr
    assert "4 candidates" in explained.stdout and "Brutus:" in explained.stdout
    nothing = subprocess.run([sys.executable, "-m", "bard", "reply", "--file", "/nonexistent/messages.txt"],
                             capture_output=True, text=True, check=False)
    assert nothing.returncode == 2 and "cannot read /nonexistent/messages.txt" in nothing.stderr


def test_topic_stubs_and_answer_openings_can_be_switched_off(responder):
    plain = with_config(responder, topic_stubs=False, answer_openings=False)
    assert plain.seeds("what is love") == [""] and plain.openings("Why is the sky blue?", 0.5) == {}
    assert responder.seeds("what is love") != [""] and responder.openings("Why is the sky blue?", 0.5)
