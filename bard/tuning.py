"""`bard tune-temperature`: sweep the sampling temperature through the responder's own seeding and
filters, and pick the one that keeps the most varied, original, acceptable replies.

For each temperature: acceptance (share of candidates passing spelling, length and repetition),
distinct-2 (unique word pairs over all word pairs, across accepted candidates), verbatim (share of
accepted candidates that copy 40 or more characters of the training text), held-out NLL with the
logits divided by the temperature, mean mood fit, and candidates per second.

    objective = acceptance x distinct-2 x (1 - verbatim)
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bard.corpus import load_corpus
from bard.errors import BardError
from bard.evaluation import held_out_logits
from bard.responder import COPY, VERBATIM_CHARS, Responder
from bard.scoring import VerbatimIndex, words

PROMPT_CHARS = 120
# A speech in the plays: a speaker tag after a blank line, then the speech.
SPEECH = re.compile(r"\n\n[ \t]+[a-z]+\.[ \t]+([^\n]+)")


@dataclass
class Result:
    temperature: float
    acceptance: float
    distinct2: float
    verbatim: float
    nll: float | None  # None at temperature 0, where it is infinite
    mood_fit: float
    candidates_per_s: float
    score: float = 0.0


def validation_prompts(val_text: str, n: int) -> list[str]:
    """n speeches' first lines from the held-out text, evenly spaced through it."""
    speeches = [m.group(1).strip()[:PROMPT_CHARS] for m in SPEECH.finditer(val_text)]
    speeches = [s for s in speeches if len(words(s)) >= 3]
    if not speeches:
        return []
    picks = np.linspace(0, len(speeches) - 1, min(n, len(speeches))).round().astype(int)
    return [speeches[i] for i in picks]


def distinct2(texts: list[str]) -> float:
    pairs = [pair for text in texts for pair in zip(words(text), words(text)[1:])]
    return len(set(pairs)) / len(pairs) if pairs else 0.0


class Sweep:
    """Everything a sweep needs that does not depend on the temperature, computed once."""

    def __init__(self, responder: Responder):
        saved = responder.trained_on
        corpus = load_corpus(saved)
        self.responder = responder
        self.val_text = corpus.val_text
        # The responder rejects copies; one loaded without its corpus's text is given the index.
        responder.verbatim = responder.verbatim or VerbatimIndex(corpus.train_text, VERBATIM_CHARS)
        val_ids = responder.vocab.encode(corpus.val_text)
        chunks = list(held_out_logits(responder.model, val_ids, saved.train.seq_len, responder.device))
        self.val_logits = torch.cat([logits for logits, _ in chunks])
        self.val_targets = torch.cat([targets for _, targets in chunks])

    def copies_training_text(self, text: str) -> bool:
        """What the responder's copy check says of `text` (the sweep counts its rejections)."""
        return self.responder.verbatim.copies(text)

    def nll(self, temperature: float) -> float | None:
        """Held-out NLL of the sampling distribution at `temperature`; None at 0 (always the
        likeliest character), where every other character has probability 0 and the NLL is infinite."""
        if temperature == 0:
            return None
        return F.cross_entropy(self.val_logits / temperature, self.val_targets).item()

    def prompts(self, spec: str) -> list[str]:
        """`spec` is N (that many speeches from the validation split) or a file of prompts, one per line."""
        if spec.isdigit():
            if int(spec) < 1:
                raise BardError("--prompts needs at least 1 prompt")
            prompts = validation_prompts(self.val_text, int(spec))
            if not prompts:
                raise BardError("the validation split holds no speeches to use as prompts; give --prompts FILE")
            return prompts
        try:
            lines = Path(spec).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as e:
            raise BardError(f"cannot read --prompts {spec}: {e.strerror}") from None
        prompts = [line.strip() for line in lines if line.strip()]
        if not prompts:
            raise BardError(f"--prompts {spec} holds no prompts (one per line)")
        return prompts

    def over(self, temperatures: list[float], prompts: list[str], samples: int, seed: int,
             on_temperature=None, on_prompt=None) -> list[Result]:
        """One Result per temperature, each from the same prompts and seeds."""
        results = []
        for temperature in temperatures:
            if on_temperature:
                on_temperature(temperature)
            results.append(self.run(temperature, prompts, samples, seed, on_prompt))
        return results

    def run(self, temperature: float, prompts: list[str], samples: int, seed: int, on_prompt=None) -> Result:
        settings = dataclasses.replace(self.responder.defaults, temperature=temperature, candidates=samples)
        candidates, seconds = [], 0.0
        for i, prompt in enumerate(prompts):
            reply = self.responder.reply(self.responder.new_conversation(settings), prompt, seed=seed + i)
            candidates += reply.candidates
            seconds += reply.latency_ms / 1000
            if on_prompt:
                on_prompt()
        # The mood is a ranking preference, not a quality filter: it does not count against acceptance.
        accepted = [c for c in candidates if c.rejected is None or c.rejected.startswith("mood")]
        texts = [c.text for c in accepted]
        # The responder rejects copies of the plays; their share of what would pass otherwise.
        copies = sum(c.rejected == COPY for c in candidates)
        verbatim = copies / (copies + len(accepted)) if copies + len(accepted) else 0.0
        result = Result(
            temperature=temperature,
            acceptance=len(accepted) / len(candidates),
            distinct2=distinct2(texts),
            verbatim=verbatim,
            nll=self.nll(temperature),
            mood_fit=float(np.mean([c.mood_fit for c in accepted])) if accepted else 0.0,
            candidates_per_s=len(candidates) / seconds if seconds else 0.0,
        )
        result.score = result.acceptance * result.distinct2 * (1 - result.verbatim)
        return result


def plot(results: list[Result], best: Result, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    temperatures = [r.temperature for r in results]
    figure, (quality, nll) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, label in (("acceptance", "acceptance"), ("distinct2", "distinct-2"), ("verbatim", "verbatim copies"),
                        ("mood_fit", "mood fit"), ("score", "objective")):
        quality.plot(temperatures, [getattr(r, name) for r in results], marker="o", label=label,
                     linewidth=2.5 if name == "score" else 1.5)
    quality.axvline(best.temperature, color="grey", linestyle=":", label=f"chosen: {best.temperature:g}")
    quality.set_xlabel("temperature")
    quality.set_ylim(0, 1.02)
    quality.legend(fontsize=8)
    quality.set_title("candidate replies")
    nll.plot(temperatures, [math.nan if r.nll is None else r.nll for r in results], marker="o", color="tab:red")
    nll.set_xlabel("temperature")
    nll.set_ylabel("nats/char")
    nll.set_title("held-out NLL, logits / temperature")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def best_of(results: list[Result]) -> Result:
    return max(results, key=lambda r: r.score)
