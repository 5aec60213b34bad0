import pytest
import torch

from bard.checkpoint import load_checkpoint
from bard.config import ListenConfig, ModelConfig
from bard.device import int8_pays
from bard.errors import BardError
from bard.listener import ListeningLSTM
from bard.model import CharLSTM, concat_states, repeat_state
from bard.sampling import char_log_probs, continue_batch, filter_logits, for_sampling, generate, pick_next, prime
from bard.vocabulary import Vocabulary
from conftest import needs_native_bf16


@pytest.fixture(scope="module")
def trained(tiny_checkpoint):
    checkpoint = load_checkpoint(tiny_checkpoint)
    return checkpoint.model, checkpoint.vocab


def test_temperature_zero_is_argmax():
    logits = torch.randn(64, 50)
    assert torch.equal(pick_next(logits, 0.0), logits.argmax(-1))


def test_top_k_never_leaves_the_top_k():
    torch.manual_seed(0)
    logits = torch.randn(8, 50)
    top = torch.topk(logits, 5).indices
    generator = torch.Generator().manual_seed(1)
    for _ in range(200):
        picked = pick_next(logits, 2.0, top_k=5, generator=generator)
        assert (picked[:, None] == top).any(-1).all()


def test_top_p_keeps_the_smallest_set_that_reaches_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = filter_logits(logits, top_p=0.75).isfinite()
    assert kept.tolist() == [[True, True, False, False]]
    kept = filter_logits(logits, top_p=0.9).isfinite()
    assert kept.tolist() == [[True, True, True, False]]
    # The likeliest character always survives, however small p is.
    assert filter_logits(logits, top_p=0.01).isfinite().tolist() == [[True, False, False, False]]


def test_carried_state_gives_the_same_distribution_as_refeeding_the_text(trained):
    model, vocab = trained
    text = "to be, or not to be: that is the question"
    logits, state = prime(model, vocab, text[:10])
    for i in range(10, len(text)):
        refed, _ = prime(model, vocab, text[: i])
        torch.testing.assert_close(logits.softmax(-1), refed.softmax(-1), atol=1e-5, rtol=1e-4)
        with torch.inference_mode():
            step, state = model(vocab.encode(text[i])[None], state)
        logits = step[:, -1]


def test_batched_sampling_continues_each_row_from_its_own_state(trained):
    model, vocab = trained
    logits, state = prime(model, vocab, "my lord,")
    ids, lengths = continue_batch(model, logits.expand(4, -1), tuple(s.repeat(1, 4, 1) for s in state), 30, 0.0)
    assert (lengths == 30).all()
    # Argmax from one state is one path: every row agrees, and matches re-reading the text.
    assert all(torch.equal(ids[0], row) for row in ids)
    greedy = "my lord,"
    for _ in range(30):
        greedy += vocab.chars[prime(model, vocab, greedy)[0].argmax().item()]
    assert vocab.decode(ids[0]) == greedy[len("my lord,"):]


def test_generate_is_reproducible_with_a_seed(trained):
    model, vocab = trained
    first = generate(model, vocab, "the king", n=5, length=40, temperature=1.0, seed=7)
    again = generate(model, vocab, "the king", n=5, length=40, temperature=1.0, seed=7)
    other = generate(model, vocab, "the king", n=5, length=40, temperature=1.0, seed=8)
    assert first == again != other
    assert len(first) == 5 and all(len(t) == 40 and set(t) <= set(vocab.chars) for t in first)
    # Unknown characters in the seed are mapped, never an error.
    assert len(generate(model, vocab, "Ça va? 🙂", n=1, length=5, temperature=0.5, seed=1)[0]) == 5


@needs_native_bf16
def test_bfloat16_sampling_uses_a_copy_whose_distributions_stay_close(trained):
    model, vocab = trained
    fast = for_sampling(model, "bfloat16")
    assert fast is not model and next(model.parameters()).dtype == torch.float32
    assert next(fast.parameters()).dtype == torch.bfloat16
    assert for_sampling(fast, "bfloat16") is fast and for_sampling(model, "float32") is model
    text = "to be, or not to be: that is the question"
    exact = prime(model, vocab, text)[0].log_softmax(-1)
    rounded = prime(fast, vocab, text)[0].float().log_softmax(-1)
    kl = (exact.exp() * (exact - rounded)).sum().item()
    assert 0 <= kl < 1e-2
    texts = generate(model, vocab, "the king", n=3, length=20, temperature=0.8, seed=1, precision="bfloat16")
    assert len(texts) == 3 and all(len(t) == 20 for t in texts)


needs_int8 = pytest.mark.skipif(not int8_pays(torch.device("cpu")), reason="int8 sampling runs on x86 CPUs only")


@needs_int8
def test_int8_sampling_uses_a_quantized_copy_whose_distributions_stay_close(trained):
    model, vocab = trained
    fast = for_sampling(model, "int8")
    assert fast is not model and isinstance(model.rnn, torch.nn.LSTM)  # the trained model is untouched
    assert fast.precision == "int8" and not isinstance(fast.rnn, torch.nn.LSTM)
    assert for_sampling(fast, "int8") is fast and for_sampling(model, "auto").precision == "int8"
    text = "to be, or not to be: that is the question"
    exact = prime(model, vocab, text)[0].log_softmax(-1)
    rounded = prime(fast, vocab, text)[0].log_softmax(-1)
    assert 0 <= (exact.exp() * (exact - rounded)).sum().item() < 1e-2
    texts = generate(model, vocab, "the king", n=3, length=20, temperature=0.8, seed=1, precision="int8")
    assert len(texts) == 3 and all(len(t) == 20 for t in texts)


@needs_int8
def test_a_listening_model_is_not_quantized():
    listening = ListeningLSTM(5, ModelConfig(hidden=16, layers=2, embedding=8), ListenConfig(conditioning="attention"))
    assert for_sampling(listening, "auto") is listening or for_sampling(listening, "auto").precision == "bfloat16"
    with pytest.raises(BardError, match="int8 quantizes the plain character model only"):
        for_sampling(listening, "int8")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_rows_that_have_ended_leave_the_batch_and_the_rest_sample_as_before(cell):
    torch.manual_seed(0)
    vocab = Vocabulary("abc \n")
    model = CharLSTM(len(vocab), ModelConfig(cell=cell, hidden=16, layers=1)).eval()
    starts = [prime(model, vocab, text) for text in ("ab", "ca", "b c", "cab")]
    rows = [start for start in starts for _ in range(8)]  # 32 rows from four contexts
    logits, state = torch.cat([l for l, _ in rows]), concat_states([s for _, s in rows])
    full, full_lengths = continue_batch(model, logits, state, 40, 0.0)
    assert (full_lengths == 40).all()
    batch_sizes = []
    model.rnn.register_forward_hook(lambda module, inputs, output: batch_sizes.append(inputs[0].size(0)))
    # The first 17 rows end at the first look (after 8 characters), the others never.
    first_look = lambda ids: (torch.arange(len(ids)) < 17) & (len(ids) == 32)  # noqa: E731
    ids, lengths = continue_batch(model, logits, state, 40, 0.0, ended=first_look)
    assert lengths.tolist() == [8] * 17 + [40] * 15
    # 15 unfinished rows go on as a batch of 16 (one ended row pads it), the same argmax paths as before.
    assert batch_sizes == [32] * 8 + [16] * 32
    assert torch.equal(ids[17:], full[17:]) and torch.equal(ids[:17, :8], full[:17, :8])
    every, every_lengths = continue_batch(model, logits, state, 40, 0.0, ended=lambda ids: torch.ones(len(ids), dtype=torch.bool))
    assert every.size(1) == 8 and (every_lengths == 8).all()


def test_sampling_frequencies_follow_the_softmax():
    logits = torch.log(torch.tensor([0.6, 0.3, 0.1, 0.0])).expand(20000, -1)
    picked = pick_next(logits, 1.0, generator=torch.Generator().manual_seed(3))
    frequencies = torch.bincount(picked, minlength=4) / len(picked)
    torch.testing.assert_close(frequencies, torch.tensor([0.6, 0.3, 0.1, 0.0]), atol=0.015, rtol=0)
    hotter = torch.bincount(pick_next(logits, 2.0, generator=torch.Generator().manual_seed(3)), minlength=4) / 20000
    expected = torch.tensor([0.6, 0.3, 0.1, 0.0]).sqrt() / torch.tensor([0.6, 0.3, 0.1, 0.0]).sqrt().sum()
    torch.testing.assert_close(hotter, expected, atol=0.015, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_char_log_probs_match_a_plain_forward_pass_for_any_batch(cell):
    torch.manual_seed(0)
    vocab = Vocabulary("abc \n")
    model = CharLSTM(len(vocab), ModelConfig(cell=cell, hidden=16, layers=1)).eval()
    contexts = ["ab ", "c", "ba c", "a a "] * 6
    texts = ["abc cab", "a", "cc ba bc", "b" * 40, "ab"] * 4 + ["c a"]  # 21 rows: read as 16, then 5
    starts = [prime(model, vocab, context) for context in contexts[: len(texts)]]
    logits, state = torch.cat([l for l, _ in starts]), concat_states([s for _, s in starts])
    batch = char_log_probs(model, vocab, texts, logits, state)
    assert batch.shape == (len(texts), 40)
    for row, (context, text) in enumerate(zip(contexts, texts)):  # each row after its own context
        ids = vocab.encode(context + text).long()
        with torch.inference_mode():
            full = model(ids[None, :-1])[0].log_softmax(-1)[0]
        expected = full[len(context) - 1 :].gather(1, ids[len(context) :, None]).squeeze(1)
        assert torch.allclose(batch[row, : len(text)], expected, atol=1e-5)
        assert (batch[row, len(text):] == 0).all()
