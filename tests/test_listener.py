"""bard.listener: the character model that attends to the message, its checkpoints, its training."""

import json

import pytest
import torch

from bard.checkpoint import load_checkpoint, save_checkpoint
from bard.config import ListenConfig, ModelConfig, load_config
from bard.listener import ListeningLSTM, attended_words, hearing, listens
from bard.model import CharLSTM, concat_states, repeat_state, select_rows
from bard.vocabulary import Vocabulary
from conftest import TINY

VOCAB = Vocabulary("\n !',.?abcdefghijklmnopqrstuvwxyz")
SMALL = ModelConfig(cell="lstm", embedding=8, hidden=16, layers=2, dropout=0.0)
LISTEN = ListenConfig(conditioning="attention", encoder_embedding=8, encoder_hidden=8, attention=8)
# The tiny test model with a second layer, which a listening model needs.
TINY_LISTENING = [*TINY, "model.layers=2", "model.dropout=0.0", "listen.conditioning=attention", "listen.init_from=",
                  "listen.encoder_hidden=8", "listen.encoder_embedding=8", "listen.attention=8",
                  "listen.pairs_per_batch=8"]


def ids(text):
    return VOCAB.encode(text)[None]


def trained_listener(cell="lstm", conditioning="attention"):
    """A listening model whose new weights are no longer zero, so that the message matters."""
    torch.manual_seed(0)
    model = ListeningLSTM(len(VOCAB), ModelConfig(cell=cell, embedding=8, hidden=16, layers=3, dropout=0.0),
                          ListenConfig(conditioning=conditioning, encoder_embedding=8, encoder_hidden=8, attention=8))
    for p in (model.into_upper.weight, model.into_head.weight):
        torch.nn.init.normal_(p, std=0.5)
    return model.eval()


def listened(model, message, state=None):
    message = VOCAB.encode(message)[None]
    return model.listen(state, message, torch.ones_like(message, dtype=torch.bool))


def test_a_listening_model_made_from_a_plain_one_writes_exactly_as_it_did():
    torch.manual_seed(0)
    plain = CharLSTM(len(VOCAB), SMALL).eval()
    listening = ListeningLSTM.from_language_model(plain, LISTEN).eval()
    text = ids("\n\n   hor. my father is dead.\n\n   ham. ")
    expected, (h, c) = plain(text)
    alone, alone_state = listening(text)
    heard, heard_state = listening(text, listened(listening, "my father is dead."))
    assert torch.equal(expected, alone) and torch.equal(h, alone_state[0]) and torch.equal(c, alone_state[1])
    assert len(heard_state) == 6 and torch.allclose(h, heard_state[0])
    # With a message the gate, nearly shut, lends a little probability to the message's characters.
    exact, mixed = expected.log_softmax(-1), heard.log_softmax(-1)
    assert 0 < (exact.exp() * (exact - mixed)).sum(-1).max() < 0.06


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_message_rides_in_the_state_through_the_samplers_batch_helpers(cell):
    model = trained_listener(cell)
    with torch.no_grad():
        state = listened(model, "my dog died")
        logits, state = model(ids("alas"), state)
        three = repeat_state(state, 3)
        step, _ = model(ids("a").expand(3, -1), three)
        assert torch.allclose(step[0], step[2])
        other = listened(model, "i won a cup")  # as long as the first: rows of one batch share a length
        _, other = model(ids("alas"), other)
        both = concat_states([state, other])
        mixed, _ = model(ids("a").expand(2, -1), both)
        assert torch.allclose(mixed[0], step[0], atol=1e-6)
        assert not torch.allclose(mixed[0], mixed[1])  # a different message, a different next character
        picked, _ = model(ids("a"), select_rows(both, torch.tensor([1])))
        assert torch.allclose(picked[0], mixed[1], atol=1e-6)


def test_padding_past_a_message_is_never_read():
    model = trained_listener()
    message = VOCAB.encode("my dog died")
    padded = torch.cat([message, VOCAB.encode("zzzz qqq")])[None]
    mask = torch.zeros_like(padded, dtype=torch.bool)
    mask[0, : len(message)] = True
    with torch.no_grad():
        alone = model(ids("alas, "), listened(model, "my dog died"))[0]
        with_padding = model(ids("alas, "), model.listen(None, padded, mask))[0]
    assert torch.allclose(alone, with_padding, atol=1e-5)


def test_vector_conditioning_gives_every_step_the_messages_mean():
    model = trained_listener(conditioning="vector")
    with torch.no_grad():
        _, _, weights = model(ids("alas, poor dog"), listened(model, "my dog"), with_attention=True)
    assert torch.allclose(weights, torch.full_like(weights, 1 / len("my dog")))


def test_attended_words_share_out_the_attention_over_the_messages_words():
    model = trained_listener()
    state = listened(model, "my dog died")
    words = attended_words(model, state, VOCAB.encode("alas, good friend"), "my dog died")
    assert {w for w, _ in words} == {"my", "dog", "died"}
    assert [s for _, s in words] == sorted((s for _, s in words), reverse=True)
    # The spaces between words take the rest of the attention.
    assert 0 < sum(s for _, s in words) <= 1 + 1e-6
    assert hearing(CharLSTM(len(VOCAB), SMALL), None, VOCAB.encode("hi")) is None  # a plain model hears nothing


def test_listening_checkpoints_round_trip_and_plain_ones_load_as_before(tmp_path):
    model = trained_listener()
    save_checkpoint(tmp_path / "listening.pt", model, VOCAB, {"step": 1})
    loaded = load_checkpoint(tmp_path / "listening.pt").model
    assert listens(loaded) and loaded.listen_config == model.listen_config
    with torch.no_grad():
        assert torch.equal(model(ids("alas"), listened(model, "hi"))[0], loaded(ids("alas"), listened(loaded, "hi"))[0])
    plain = CharLSTM(len(VOCAB), SMALL)
    save_checkpoint(tmp_path / "plain.pt", plain, VOCAB, {"step": 1})
    assert type(load_checkpoint(tmp_path / "plain.pt").model) is CharLSTM


def test_bard_train_trains_a_listening_model_on_pairs_beside_the_plays(tmp_path):
    from bard.training import resumed_config, train

    config = load_config(None, [*TINY_LISTENING, "train.max_steps=4", "train.eval_every=2"])
    result = train(config, tmp_path, device="cpu")
    assert result.step == 4
    entries = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert set(entries[-1]["pairs"]) == {"written dev", "folio held-out"}
    figures = entries[-1]["pairs"]["written dev"]
    assert figures["pairs"] == 256 and figures["reply_loss"] < 4.5 and figures["reply_loss_other_message"] < 4.5
    best = load_checkpoint(tmp_path / "best.pt")
    assert listens(best.model) and best.trained_with().listen.conditioning == "attention"
    # Resuming continues the same listening run exactly where it stopped.
    resumed = train(resumed_config(tmp_path, ["train.max_steps=6"]), tmp_path, resume=True, device="cpu")
    assert resumed.step == 6 and listens(load_checkpoint(tmp_path / "last.pt").model)


def test_a_listener_starts_from_its_plain_model_and_takes_its_shape(tmp_path):
    from rich.console import Console

    from bard.errors import ConfigError
    from bard.training import Ranks, Trainer, train

    train(load_config(None, [*TINY, "model.layers=2", "train.max_steps=2"]), tmp_path / "plain", device="cpu")
    plain = load_checkpoint(tmp_path / "plain" / "last.pt")
    config = load_config(None, [*TINY_LISTENING, "model.hidden=24", f"listen.init_from={tmp_path / 'plain' / 'last.pt'}"])
    trainer = Trainer(config, tmp_path / "run", Ranks(), torch.device("cpu"), False, Console(quiet=True))
    assert trainer.model.config == plain.model.config and trainer.data.vocab.chars == plain.vocab.chars
    text = plain.vocab.encode("\n\n   ham. to be")[None]
    trainer.model.eval()
    with torch.no_grad():
        assert torch.equal(trainer.model(text)[0], plain.model(text)[0])
    one_layer = load_config(None, [*TINY_LISTENING, "model.layers=1"])
    with pytest.raises(ConfigError, match="needs model.layers >= 2"):
        Trainer(one_layer, tmp_path / "one", Ranks(), torch.device("cpu"), False, Console(quiet=True))


def test_copying_mixes_the_pointer_into_a_distribution_that_sums_to_one():
    model = trained_listener()
    with torch.no_grad():
        model.copy_gate.bias.fill_(30.0)  # the gate wide open: every character is copied
        copied = model(ids("alas, "), listened(model, "dog"))[0][0, -1]
        assert torch.logsumexp(copied, -1).item() == pytest.approx(0.0, abs=1e-5)
        assert {VOCAB.chars[i] for i in torch.where(copied.exp() > 1e-6)[0].tolist()} == set("dog")
        model.copy_gate.bias.fill_(-30.0)  # shut: the decoder alone
        shut = model(ids("alas, "), listened(model, "dog"))[0][0, -1]
        assert torch.logsumexp(shut, -1).item() == pytest.approx(0.0, abs=1e-5)
        assert shut.exp().min() > 0 and not torch.allclose(shut, copied)


@pytest.fixture(scope="module")
def listening_responder(tmp_path_factory):
    """The responder on a tiny listening model trained here, with the shipped sentiment classifier."""
    from bard.responder import Responder
    from bard.training import train

    out = tmp_path_factory.mktemp("listening-run")
    train(load_config(None, [*TINY_LISTENING, "train.max_steps=4", "train.eval_every=4"]), out, device="cpu")
    return Responder.load(load_config(None, ["responder.candidates=16"]), checkpoint=str(out / "last.pt"), seed=0)


def test_the_responder_attends_to_the_message_and_says_to_what(listening_responder):
    responder = listening_responder
    assert listens(responder.model)
    reply = responder.reply(responder.new_conversation(), "My dog died this morning.", seed=2)
    words = [word for word, _ in reply.attended]
    assert set(words) == {"my", "dog", "died", "this", "morning"}
    assert reply.to_dict()["attended"][0][0] == words[0]



def test_the_message_reaches_the_candidates_through_attention(listening_responder, monkeypatch):
    import bard.responder

    responder = listening_responder
    heard = responder.reply(responder.new_conversation(), "My dog died this morning.", seed=2)
    # The same prompt and draws, the message kept from the encoder: other candidates.
    monkeypatch.setattr(bard.responder, "hearing", lambda model, state, message: state)
    unheard = responder.reply(responder.new_conversation(), "My dog died this morning.", seed=2)
    assert [c.text for c in heard.candidates] != [c.text for c in unheard.candidates]


def test_a_listening_model_never_copies_a_written_reply_either(listening_responder):
    from bard.pairs import read_pairs, respeller_for
    from conftest import ROOT

    written = read_pairs(ROOT / "corpora" / "dialogue" / "train.tsv")[7].reply
    respelt = respeller_for(listening_responder.trained_on).text(written)
    assert respelt != written  # the model learnt it in the plays' spelling, and may write it so
    assert listening_responder.verbatim.copies(written) and listening_responder.verbatim.copies(respelt)
    assert not listening_responder.verbatim.copies("zounds, the purple goose of the marketplace sings of onions")
