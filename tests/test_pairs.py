"""bard.pairs: the plays' speech -> answer pairs, written exchanges, respelling, batches; and the
committed corpus of written exchanges, checked as data from outside writers is."""

import re

import pytest
import torch

from bard.config import load_config
from bard.corpus import Document
from bard.errors import CorpusError
from bard.pairs import (Pair, PairSet, Respeller, dialogue_part, folio_pairs, framed, load_lessons, previous_messages,
                        read_pairs, speech_pairs)
from bard.scoring import VerbatimIndex
from bard.vocabulary import Vocabulary
from conftest import ROOT, TINY

DIALOGUE = ROOT / "corpora" / "dialogue"
SCENE = """Actus Primus. Scoena Prima.

Enter Barnardo and Francisco.

  Barnardo. Who's there?
  Fran. Nay answer me: Stand & vnfold
your selfe

   Bar. Long liue the King

   Fran. Barnardo?
  Bar. He

Scena Secunda.

  King. Though yet of Hamlet our deere Brothers death
The memory be greene

   King. And now Laertes, what's the newes with you?
"""


def test_each_speech_is_paired_with_the_answer_of_another_speaker_in_its_scene():
    pairs = speech_pairs(Document("hamlet", SCENE))
    assert [(p.asker, p.message, p.answerer, p.reply) for p in pairs] == [
        ("barnardo.", "Who's there?", "fran.", "Nay answer me: Stand & vnfold your selfe"),
        ("fran.", "Nay answer me: Stand & vnfold your selfe", "bar.", "Long liue the King"),
        ("bar.", "Long liue the King", "fran.", "Barnardo?"),
        ("fran.", "Barnardo?", "bar.", "He"),
    ]  # "He" is not answered by the King: a new scene begins; nor the King by himself


def test_folio_pairs_come_from_each_plays_training_part_and_its_held_out_part_apart():
    config = load_config(None, TINY)
    train, held_out = folio_pairs(config)
    assert len(train) > 1500 and 150 < len(held_out) < len(train) / 5
    before, after = [], []
    for name in re.findall(r"corpora/folio/\w+\.txt", TINY[1]):
        text = (ROOT / name).read_text(encoding="utf-8")
        cut = len(text) - round(len(text) * config.corpus.val_fraction)
        before.append(" ".join(text[:cut].split()))
        after.append(" ".join(text[cut:].split()))
    long_train = [p.reply for p in train if len(p.reply) > 80]
    long_held_out = [p.reply for p in held_out if len(p.reply) > 80]
    assert long_train and long_held_out
    # Speeches without stage directions: their first 40 characters are in the text as printed.
    assert all(any(r[:40] in t for t in before) and not any(r[:40] in t for t in after) for r in long_train[::50])
    assert all(any(r[:40] in t for t in after) for r in long_held_out[::10])


def test_written_pairs_read_with_a_persona_each_and_bad_lines_name_their_number(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("# a comment\nhi there\tGood morrow!\n\nmy dog died\tAlas, poor beast.\n", encoding="utf-8")
    pairs = read_pairs(path)
    assert [(p.message, p.reply) for p in pairs] == [("hi there", "Good morrow!"), ("my dog died", "Alas, poor beast.")]
    assert all(p.asker and p.answerer and p.asker != p.answerer for p in pairs)
    path.write_text("hi\tthere\nno tab here\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"pairs.tsv:2: expected `message<TAB>reply`"):
        read_pairs(path)
    with pytest.raises(CorpusError, match="train, dev, test"):
        dialogue_part(tmp_path, "dev")


def test_respelling_writes_modern_words_as_the_plays_spell_them():
    respeller = Respeller.from_texts([p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpora" / "folio").glob("*.txt"))])
    assert respeller.text("Have I not loved thee ever, upon my honour?") == "Haue I not loved thee euer, vpon my honour?"
    assert respeller.text("Learn it again") == "Learne it againe"
    assert respeller.text("But Speak, Shut the door") == "But Speake, Shut the doore"  # capitals are whole words
    # Words the plays write as we do, or never use, stay as they are.
    assert respeller.text("The phone is broken, and I am sad.") == "The phone is broken, and I am sad."


def test_a_pair_is_framed_as_the_responder_frames_a_message_and_batches_mask_the_reply():
    vocab = Vocabulary("\n !',.?abcdefghijklmnopqrstuvwxyz")
    pair = Pair("My dog died", "Alas, poor dog.", "hor.", "ham.")
    frame, reply = framed(pair, str.lower)
    assert frame == "\n\n   hor. my dog died.\n\n   ham. " and reply == "alas, poor dog.\n\n"
    pairs = PairSet([pair, Pair("hi", "Good morrow, friend.", "hor.", "ham.")], vocab, str.lower, 160, 200)
    batch = pairs.batch([0, 1])
    for row, (f, r) in enumerate(framed(p, str.lower) for p in pairs.pairs):
        assert vocab.decode(batch.targets[row][batch.reply_mask[row]]) == r
        assert vocab.decode(batch.inputs[row][: len(f)]) == f
        assert vocab.decode(batch.message[row][batch.message_mask[row]]) == pairs.pairs[row].message.lower()
    swapped = pairs.batch([0, 1], previous_messages(2))
    assert vocab.decode(swapped.targets[0][swapped.reply_mask[0]]) == "alas, poor dog.\n\n"
    assert vocab.decode(swapped.message[0][swapped.message_mask[0]]) == "hi"
    assert previous_messages(3) == [2, 0, 1]


def test_lessons_mix_written_and_play_pairs_by_share_in_batches_of_like_length():
    config = load_config(None, [*TINY, "listen.conditioning=attention"])
    vocab = Vocabulary.from_text((ROOT / "corpora" / "folio" / "hamlet_gut_f.txt").read_text(encoding="utf-8").lower())
    lessons = load_lessons(config, vocab)
    assert 0 < lessons.written < len(lessons.train) and set(lessons.held_out) == {"written dev", "folio held-out"}
    generator = torch.Generator().manual_seed(0)
    lessons.share = 1.0
    written = {vocab.normalize(p.reply.lower()) for p in lessons.train.pairs[: lessons.written]}
    batch = lessons.sample(16, generator)
    for row in range(16):
        reply = vocab.decode(batch.targets[row][batch.reply_mask[row]]).strip()
        assert any(w.startswith(reply[:40]) for w in written)
    # Id 0 is the line break, which frames use too; padding adds to them only a little.
    padding = (batch.inputs == 0).float().mean()
    assert padding < 0.2, f"{padding:.0%} of the batch is padding"


# The committed corpus -----------------------------------------------------------------------------


def message_key(text):
    return " ".join(re.findall(r"[a-z]+(?:'[a-z]+)*", text.lower()))


@pytest.fixture(scope="module")
def parts():
    return {part: read_pairs(DIALOGUE / f"{part}.tsv") for part in ("train", "dev", "test")}


def test_the_written_exchanges_are_split_by_writer_with_no_message_in_two_places(parts):
    assert len(parts["train"]) > 5 * len(parts["dev"]) > 0 and len(parts["test"]) > 0
    keys = [message_key(p.message) for part in parts.values() for p in part]
    assert len(keys) == len(set(keys))
    prompts = {message_key(line) for path in (ROOT / "benchmarks").glob("*prompts*.txt")
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert not prompts & set(keys)


def test_no_written_reply_copies_forty_characters_of_the_plays(parts):
    folio = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpora" / "folio").glob("*.txt")))
    index = VerbatimIndex(folio, 40)
    assert not [p.reply for part in parts.values() for p in part if index.copies(p.reply)]
