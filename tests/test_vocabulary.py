import torch

from bard.vocabulary import Vocabulary


def test_round_trip_on_the_plays(tiny_config):
    from bard.corpus import load_corpus

    text = load_corpus(tiny_config).train_text
    vocab = Vocabulary.from_text(text)
    ids = vocab.encode(text)
    assert ids.dtype == torch.uint8 and len(ids) == len(text)
    assert vocab.decode(ids) == text


def test_unknown_characters_map_deterministically_and_never_raise():
    vocab = Vocabulary("\n !',.?abcdefghijklmnopqrstuvwxyz")
    assert vocab.normalize("HAMLET") == "hamlet"  # case fold for a lowercase vocabulary
    assert vocab.normalize("Café naïve") == "cafe naive"  # NFKD to ASCII
    assert vocab.normalize("ﬁne") == "fine"  # compatibility ligature
    assert vocab.normalize("tab\there") == "tab here"  # other white space becomes a space
    assert vocab.normalize("1984 🙂 ¿qué?") == "  que?"  # nothing close: dropped
    assert vocab.encode("Quoth the raven: 🙂").tolist() == vocab.encode("quoth the raven ").tolist()
    every_char = "".join(map(chr, range(0x20, 0x3000)))
    assert set(vocab.normalize(every_char)) <= set(vocab.chars)


def test_case_is_kept_when_the_vocabulary_has_capitals():
    vocab = Vocabulary("ABab ")
    assert vocab.normalize("Ab ÄC") == "Ab A"


def test_large_vocabularies_use_wider_ids():
    vocab = Vocabulary("".join(map(chr, range(0x100, 0x300))))
    assert vocab.dtype == torch.int16
    assert vocab.decode(vocab.encode("\u0100\u02ff")) == "\u0100\u02ff"


def test_empty_text_encodes_to_an_empty_tensor():
    assert len(Vocabulary("ab").encode("")) == 0


def test_long_texts_encode_in_chunks_to_the_same_ids(monkeypatch):
    import bard.vocabulary

    vocab = Vocabulary("abc \n")
    text = "abc cab\nÀbc " * 50
    whole = vocab.encode(text)
    monkeypatch.setattr(bard.vocabulary, "ENCODE_CHUNK", 7)
    told = []
    assert torch.equal(vocab.encode(text, told.append), whole)
    assert sum(told) == len(text) and max(told) == 7
