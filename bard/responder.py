"""The responder: the one API every front-end calls.

A message becomes a speech in the kind of script the model learned ("\\n\\n   hor. ...") followed
by the bard's speaker tag. Seeds start the bard's speech (the bare tag, the message's most telling
word as a question, an answer opening such as a greeting returned, and the openings of real speeches
that fit the message, bard.retrieval's prototypes, for the model to refine); one batched, stateful pass
samples candidates for all of them; each is cleaned and filtered, the model reads the accepted ones
back for sense and relevance, and the best by the documented score is the reply. The chosen reply
is read back into the LSTM state, so a dialog is one continuous script.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import torch

from bard.budget import CandidateBudget
from bard.checkpoint import load_checkpoint
from bard.config import PERSONAS, Config, checked, parse_value
from bard.corpus import STAGE_DIRECTION, read_documents, word_record
from bard.device import DEFAULT_THREADS, others_running, threads_beside
from bard.errors import ConfigError, CorpusError
from bard.listener import attended_words, hearing, listens
from bard.model import CharLSTM, State, concat_states, repeat_state
# The script the model reads is written one way for training pairs and for chat alike.
from bard.pairs import SPEECH_END, encode_message, message_speech, speech, written_replies
from bard.sampling import char_log_probs, continue_batch, for_sampling, make_generator, prime
from bard.neighbours import shipped as shipped_neighbours
from bard.retrieval import SpeechIndex, openings as prototype_openings
from bard.scoring import Lexicon, VerbatimIndex, mood_fit, overlap, repetition, user_mood, words
from bard.sentiment import SentimentScorer
from bard.vocabulary import Vocabulary
from bard.wordlists import shipped

log = logging.getLogger(__name__)

# A new speech inside a sample: an indented line, as speaker tags are printed.
NEXT_SPEAKER = re.compile(r"\n[ \t]{2,}\S")
# Markup, mentions and links are never read, so they can never be echoed back.
MARKUP = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^<>]{0,200}>|@\w+|https?://\S+|[<>@*_~`|#\[\]{}\\]",
                    re.IGNORECASE | re.DOTALL)
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
SENTENCE_END = re.compile(r"[.!?]")
# Ranking, measured by blind ratings (docs/replies.md): sense first, the model's own mean log-probability
# per character of the whole speech, its end included (word salad and unfinished clauses are
# unlikely); then relevance, how much likelier the message made the bard's own words than a fresh
# start of its speech (pointwise mutual information per character, Li et al. 2016), and the share
# of the user's content words taken up; then mood fit (0-1) and length, so a full line beats a
# three-word stub of the same sense.
SENSE_WEIGHT = 1.0
RELEVANCE_WEIGHT = 6.0
OVERLAP_WEIGHT = 0.3
MOOD_WEIGHT = 0.15
LENGTH_WEIGHT = 0.15
FULL_LENGTH_WORDS = 10
# Added to a candidate that begins as the plays begin an answer to such a line (answer_openings):
# a greeting returned in kind is always fitting; the other openings must also read well to win.
GREETING_WEIGHT = 0.3
OPENING_WEIGHT = 0.1
# A reply grown from a prototype ends at the model's first sentence end (the longer it writes past
# the real opening, the further it drifts), with at least this many words of the model's own.
MIN_OWN_WORDS = 3
# A reply must be the model's own: this many characters running from the plays is a copy.
VERBATIM_CHARS = 40
COPY = "copies the plays"
# In-character lines for when no candidate passes (the plays' own words, modern spelling).
FALLBACKS = {
    "hamlet": ["Words, words, words.", "The rest is silence.",
               "There is nothing either good or bad, but thinking makes it so."],
    "macbeth": ["So foul and fair a day I have not seen.", "I dare do all that may become a man.",
                "Tomorrow, and tomorrow, and tomorrow."],
    "brutus": ["There is a tide in the affairs of men.", "Speak, strike, redress!",
               "Not that I loved Caesar less, but that I loved Rome more."],
}


@dataclass
class Turn:
    speaker: str  # "user" or "bard"
    text: str


@dataclass
class Settings:
    """What a conversation may change between replies (/temp, /mood, /persona, /candidates)."""
    persona: str
    mood: str
    temperature: float
    candidates: int

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        return cls(config.responder.persona, config.responder.mood, config.sample.temperature, config.responder.candidates)

    def change(self, name: str, text: str) -> None:
        """Set one setting from what a person typed, checked as the config file would be; a bad
        value raises ConfigError with one line."""
        if name not in SETTING_KEYS:
            raise ConfigError(f"unknown setting {name!r}; expected one of {', '.join(SETTING_KEYS)}")
        setattr(self, name, checked(SETTING_KEYS[name], parse_value(text), source=name))


SETTING_KEYS = {"persona": "responder.persona", "mood": "responder.mood",
                "temperature": "sample.temperature", "candidates": "responder.candidates"}


@dataclass
class Conversation:
    """A dialog: its own settings, the model's state after the last turn, and the last turns as
    text (to show, save, and rebuild the state from)."""
    turns: deque[Turn]
    settings: Settings
    state: State | None = None


@dataclass
class Candidate:
    seed: str
    text: str
    spelling: float = 0.0
    unknown: list[str] = field(default_factory=list)
    positive: float = 0.5
    mood_fit: float = 0.0
    sense: float = 0.0  # mean log-probability per character under the model
    relevance: float = 0.0  # PMI per character of the model's own words with the message
    overlap: float = 0.0
    score: float = 0.0
    rejected: str | None = None
    prototype: str | None = None  # the real speech whose opening the seed is, if any

    @property
    def accepted(self) -> bool:
        return self.rejected is None


@dataclass
class Reply:
    text: str
    fallback: bool
    seeds: list[str]
    latency_ms: float
    candidates: list[Candidate]
    chosen: int | None
    user_positive: float
    settings: Settings
    # The message's words a listening model attended to while writing the reply, with their shares.
    attended: list[tuple[str, float]] = field(default_factory=list)

    @property
    def n_accepted(self) -> int:
        return sum(c.accepted for c in self.candidates)

    def ranked(self) -> list[tuple[int, Candidate, str]]:
        """(index, candidate, verdict) for every candidate, the chosen one first, then the accepted
        ones by score, then the rejected; the verdict is "chosen", "accepted" or why rejected."""
        order = sorted(range(len(self.candidates)),
                       key=lambda i: (i != self.chosen, not self.candidates[i].accepted, -self.candidates[i].score))
        return [(i, self.candidates[i], "chosen" if i == self.chosen else self.candidates[i].rejected or "accepted")
                for i in order]

    def to_dict(self, with_candidates: bool = False) -> dict:
        out = {"text": self.text, "latency_ms": round(self.latency_ms, 1), "fallback": self.fallback,
               "n_candidates": len(self.candidates), "n_accepted": self.n_accepted, "chosen": self.chosen,
               "seeds": self.seeds, "user_positive": round(self.user_positive, 4),
               "user_mood": round(user_mood(self.user_positive), 4),  # the reading acted on: 0.5 when unsure
               **dataclasses.asdict(self.settings)}
        if self.attended:
            out["attended"] = [[word, round(share, 4)] for word, share in self.attended]
        if with_candidates:
            out["candidates"] = [dataclasses.asdict(c) for c in self.candidates]
        return out


# How the plays begin an answer to a greeting or a farewell: in kind. The patterns read the start of
# the message (a farewell also its end), in modern spelling, lowercased, so that "a good day at
# work" or "she said goodbye and left" is not taken for one; the openings are in the plays' spelling.
GREETINGS = (
    (re.compile(r"^(good (morning|morrow|day|afternoon)|hello|hi|hey|greetings|hail)\b(?!')"), "good morrow, "),
    (re.compile(r"^good (evening|even|e'en)\b"), "good euen, "),
    (re.compile(r"^good ?night\b(?!')"), "good night, "),
    (re.compile(r"^well met\b"), "well met, "),
    (re.compile(r"^(farewell|goodbye|good bye|bye|adieu)\b|\b(farewell|goodbye|bye|adieu)[.! ]*$"), "farewell, "),
)
DEFINITION = re.compile(r"^(?:tell me, )?what(?: is|'s) (?:a |an |the )?([a-z]+) *\?[?!]*$")


def answer_openings(message: str, message_positive: float, lexicon: Lexicon) -> dict[str, float]:
    """How the plays would begin an answer to `message`, each with the weight its candidates get
    in the ranking: a greeting or a farewell returned, "What is love?" taken up as "Loue is", a
    question that starts "Why" answered "Because", and a statement that starts "I", "I'm", "My" or
    "We" and reads as unhappy met with "Alas,". Empty when the message is none of these. Blind
    ratings chose them. "Marry," for other questions, "I thinke" or "No," for yes-no questions and
    "I will" for commands made replies less sensible and no more relevant; "I am glad" for joy
    mostly went on "to see your lordship", and met loneliness that the classifier misread as joy."""
    text = " ".join(message.lower().replace("\u2019", "'").split())
    for pattern, opening in GREETINGS:
        if pattern.search(text):
            return {opening: GREETING_WEIGHT}
    first = re.match(r"[a-z']*", text).group()
    if re.search(r"\?[?!]*$", text):
        defined = DEFINITION.match(text)
        # The lexicon's topic of the one word: its corpus spelling if it is a content word the plays use.
        word = defined and lexicon.topic(defined.group(1))
        if word:
            return {word + " is ": OPENING_WEIGHT}
        return {"because ": OPENING_WEIGHT} if first == "why" else {}
    # A message about the user read surely as unhappy (grief, anger, fear) is met with sympathy.
    if first in ("i", "i'm", "my", "we") and user_mood(message_positive) < 0.5:
        return {"alas, ": OPENING_WEIGHT}
    return {}


def clean_message(message: str, limit: int) -> str:
    """The tail of a message with markup, mentions, links and control characters taken out."""
    text = CONTROL.sub(" ", message[-limit:])
    return " ".join(MARKUP.sub(" ", text).split())


def last_sentence(text: str) -> tuple[str, ...]:
    """The words of a text's last sentence, lowercased, "'s" read as "is" ("what's" = "what is")."""
    sentences = [s for s in SENTENCE_END.split(text.lower().replace("'s ", " is ")) if words(s)]
    return tuple(words(sentences[-1])) if sentences else ()


def cut_speech(raw: str) -> str | None:
    """The bard's speech in a sample: up to the next speaker, without stage directions, on one
    line, ending at a sentence end (or the speech's own end). None when it never finishes."""
    speech, ended, _ = raw.partition(SPEECH_END)
    next_speaker = NEXT_SPEAKER.search(speech)
    if next_speaker:
        speech, ended = speech[: next_speaker.start()], SPEECH_END
    speech = STAGE_DIRECTION.sub("", speech)
    if not ended:
        last = max((m.end() for m in SENTENCE_END.finditer(speech)), default=0)
        if not last:
            return None
        speech = speech[:last]
    speech = " ".join(speech.split())
    speech = re.sub(r"\s+([,.;:!?])", r"\1", speech).strip(" ,;:-'")
    if speech and speech[-1] not in ".!?":
        speech += "."
    return speech


class Responder:
    def __init__(self, model: CharLSTM, vocab: Vocabulary, lexicon: Lexicon, sentiment: SentimentScorer,
                 config: Config, seed: int | None = None, model_name: str = "model", trained_on: Config | None = None,
                 verbatim: VerbatimIndex | None = None, speeches: SpeechIndex | None = None):
        """`trained_on` is the config the model was trained with (its corpus and validation split);
        by default, `config`. `verbatim` indexes the training text, to reject copies of it;
        `speeches` indexes its speeches, to find prototypes in."""
        self.model = for_sampling(model.eval(), config.sample.precision)
        self.vocab = vocab
        self.lexicon = lexicon
        self.sentiment = sentiment
        self.config = config.responder
        self.trained_on = trained_on or config
        self.lowercase = self.trained_on.corpus.lowercase
        self.defaults = Settings.from_config(config)  # each new conversation starts with a copy
        self.device = next(model.parameters()).device
        self.generator = make_generator(seed, self.device)
        self.newline = vocab.index.get("\n")
        self.model_name = model_name
        self.verbatim = verbatim
        self.speeches = speeches
        self.fresh_starts: dict[str, tuple[torch.Tensor, State]] = {}
        # A seed asks for the same replies every time, which a budget sized from timings would break.
        self.budget = CandidateBudget(config.responder.budget_ms if seed is None else 0)

    @classmethod
    def load(cls, config: Config, checkpoint: str | None = None, sentiment: str | None = None,
             device: str | torch.device = "cpu", seed: int | None = None) -> Responder:
        """The shipped models (or the given checkpoints) and a lexicon of the model's own corpus,
        whose words the checkpoint carries (checkpoints from before bard 0.2 re-read the corpus)."""
        char = load_checkpoint(checkpoint or config.resolve(config.checkpoints.char_model), device)
        scorer = SentimentScorer.load(sentiment or config.resolve(config.checkpoints.sentiment), device)
        trained_on = char.trained_with()
        try:
            documents = read_documents(trained_on)
        except CorpusError as e:  # e.g. an NLTK text on a machine without NLTK data
            if "words" not in char.meta:  # a checkpoint from before bard 0.2 needs its corpus's words
                raise
            log.warning("copies of the training text cannot be checked: %s", e)
            documents = []
        corpus_words = char.meta.get("words") or word_record(documents)
        lexicon = Lexicon.build(corpus_words, shipped(), scorer.modernizer)
        # A listening model also learnt from written replies: it must not copy those either.
        copyable = [d.text for d in documents] + (written_replies(trained_on) if listens(char.model) else [])
        verbatim = VerbatimIndex("\n".join(copyable), VERBATIM_CHARS) if copyable else None
        # Built only when asked for: prototypes are off by default, and the index costs load time.
        speeches = (SpeechIndex.build(documents, scorer.modernizer, lexicon.stopwords, shipped_neighbours())
                    if documents and config.responder.prototypes else None)
        return cls(char.model, char.vocab, lexicon, scorer, config, seed, char.path.name, trained_on, verbatim, speeches)

    # The script the model reads ------------------------------------------------------------------

    def tags(self, persona: str) -> tuple[str, str]:
        _, bard_tag, user_tag = PERSONAS[persona]
        return bard_tag, user_tag

    def to_model_text(self, text: str) -> str:
        return self.vocab.normalize(text.lower() if self.lowercase else text)

    def speech(self, tag: str, text: str) -> str:
        return speech(tag, text)

    def user_speech(self, message: str, persona: str) -> str:
        """The user's message as a speech of the character the persona answers ("" when empty)."""
        text = self.to_model_text(clean_message(message, self.config.message_chars))
        return message_speech(self.tags(persona)[1], text) if text.strip() else ""

    def new_conversation(self, settings: Settings | None = None) -> Conversation:
        """A conversation with a copy of `settings` (default: the config's)."""
        return Conversation(deque(maxlen=self.config.memory_turns), dataclasses.replace(settings or self.defaults))

    def restore(self, turns: list[Turn], settings: Settings | None = None) -> Conversation:
        """A conversation rebuilt from its saved turns: the model reads them as one script."""
        conversation = self.new_conversation(settings)
        conversation.turns.extend(turns)
        persona = conversation.settings.persona
        bard_tag = self.tags(persona)[0]
        script = "".join(self.user_speech(t.text, persona) if t.speaker == "user"
                         else self.speech(bard_tag, self.to_model_text(t.text)) for t in conversation.turns)
        if script:
            conversation.state = prime(self.model, self.vocab, script)[1]
        return conversation

    # Replying ---------------------------------------------------------------------------------

    def seeds(self, message_text: str) -> list[str]:
        """How the bard's speech may begin: fresh (the model answering the message as the plays
        answer such lines), or taking up the message's most telling word as a question, as the
        plays do ("Honour? What is honour?"). Never with the user's modern phrase, which starts a
        speech the model cannot continue."""
        topic = self.lexicon.topic(message_text) if self.config.topic_stubs else None
        # A stage direction's word ("enter", "thunder") would be cut out with its line.
        return ["", f"{topic}? "] if topic and not STAGE_DIRECTION.match(topic) else [""]

    def prototype_seeds(self, message_text: str) -> dict[str, str]:
        """Seeds that begin the bard's speech as a real speech fitting the message begins (its
        opening, in the model's text), each with the speech it comes from."""
        if self.speeches is None or not self.config.prototypes:
            return {}
        half = self.config.prototypes // 2
        found = self.speeches.prototypes(message_text, answers=self.config.prototypes - half, speeches=half)
        message_words = self.speeches.topic_words(message_text)
        seeds = {}
        for prototype in found:
            for opening in prototype_openings(prototype.text, message_words, self.lexicon.modernizer,
                                              self.lexicon.proper_nouns):
                seeds.setdefault(self.to_model_text(opening), prototype.text)
        return seeds

    def spoken(self, ids: torch.Tensor) -> torch.Tensor:
        """For each row, whether it has ended its speech (a blank line)."""
        if self.newline is None or ids.size(1) < 2:
            return torch.zeros(ids.size(0), dtype=torch.bool, device=ids.device)
        return ((ids[:, 1:] == self.newline) & (ids[:, :-1] == self.newline)).any(1)

    @torch.inference_mode()
    def sample(self, context: tuple[torch.Tensor, State], seeds: list[str], rows: int, temperature: float,
               generator: torch.Generator, prototypes: dict[str, str] | None = None) -> list[Candidate]:
        """One batched pass of `rows` candidates, split evenly between the seeds, each row starting
        from its seed read after `context` (the logits and state after the conversation and the prompt)."""
        counts = [len(part) for part in np.array_split(np.arange(rows), len(seeds))]
        logits, states, row_seeds = [], [], []
        for seed, count in zip(seeds, counts):
            if count:
                seed_logits, state = prime(self.model, self.vocab, seed, context[1]) if seed else context
                logits.append(seed_logits.expand(count, -1))
                states.append(repeat_state(state, count))
                row_seeds += [seed] * count
        ids, lengths = continue_batch(self.model, torch.cat(logits), concat_states(states), self.config.max_chars,
                                      temperature, generator=generator, ended=self.spoken)
        samples = [self.vocab.decode(row[:n]) for row, n in zip(ids.cpu(), lengths.tolist())]
        prototypes = prototypes or {}
        return [self.judge_text(seed, seed + sample, prototypes.get(seed)) for seed, sample in zip(row_seeds, samples)]

    def fresh_start(self, persona: str) -> tuple[torch.Tensor, State]:
        """The logits and state at the start of the persona's speech with nothing said before."""
        if persona not in self.fresh_starts:
            self.fresh_starts[persona] = prime(self.model, self.vocab, self.speech(self.tags(persona)[0], ""))
        return self.fresh_starts[persona]

    @torch.inference_mode()
    def weigh_sense(self, candidates: list[Candidate], context: tuple[torch.Tensor, State], persona: str) -> None:
        """Sense and relevance of the accepted candidates, read back by the model in one batched
        pass: each after the conversation (`context`) and each after a fresh start of the speech."""
        judged = [c for c in candidates if c.accepted]
        if not judged:
            return
        texts = [self.to_model_text(c.text) + SPEECH_END for c in judged]
        fresh, n = self.fresh_start(persona), len(judged)
        logits = torch.cat([context[0].expand(n, -1), fresh[0].expand(n, -1)])
        state = concat_states([repeat_state(context[1], n), repeat_state(fresh[1], n)])
        log_probs = char_log_probs(self.model, self.vocab, texts + texts, logits, state)
        for i, candidate in enumerate(judged):
            # Only the model's own words count: a topic seed is the user's word, an opening is ours.
            own = slice(len(candidate.seed), len(texts[i]))
            given, alone = log_probs[i, own], log_probs[n + i, own]
            candidate.sense = float(given.mean()) if len(given) else 0.0
            candidate.relevance = float((given - alone).mean()) if len(given) else 0.0

    def judge_text(self, seed: str, raw: str, prototype: str | None = None) -> Candidate:
        """A candidate cleaned and checked on everything but mood (which is scored in a batch);
        one grown from a prototype ends at its first sentence end after the seed."""
        speech = cut_speech(raw)
        if speech is None:
            return Candidate(seed, " ".join(raw.split()), rejected="unfinished", prototype=prototype)
        opening_end = len(seed.rstrip())
        if prototype:
            first_end = SENTENCE_END.search(speech, opening_end)
            speech = speech[: first_end.end()] if first_end else speech
        candidate = Candidate(seed, self.display(speech), prototype=prototype)
        found = words(speech)
        candidate.spelling, candidate.unknown = self.lexicon.spelling(speech)
        if not found:
            candidate.rejected = "no words"
        elif not self.config.min_words <= len(found) <= self.config.max_words:
            candidate.rejected = f"{len(found)} words"
        elif candidate.spelling < self.config.spelling_threshold:
            candidate.rejected = "misspelt: " + ", ".join(dict.fromkeys(candidate.unknown))
        elif prototype and len(words(speech[opening_end:])) < MIN_OWN_WORDS:
            candidate.rejected = "too few words of its own"
        elif "[" in speech or speech.count("(") != speech.count(")"):  # the etext's "m[aster]"
            candidate.rejected = "brackets"
        elif self.verbatim is not None and self.verbatim.copies(speech):
            candidate.rejected = COPY
        else:
            candidate.rejected = repetition(found)
        return candidate

    def display(self, speech: str) -> str:
        """Case restored for a lowercased model: sentence starts, I, O and names."""
        if not self.lowercase:
            return speech

        def word_case(match: re.Match) -> str:
            word = match.group()
            if word in ("i", "o") or word.startswith("i'") or word.split("'")[0] in self.lexicon.proper_nouns:
                return word[0].upper() + word[1:]
            return word

        text = re.sub(r"[a-z]+(?:'[a-z]+)*", word_case, speech)
        return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)

    def read_mood(self, message: str) -> float:
        """The classifier's positive probability for the user's message, as the responder reads it."""
        return float(self.sentiment.score([clean_message(message, self.config.message_chars)])[0])

    def openings(self, message: str, user_positive: float) -> dict[str, float]:
        """Seeds that begin the bard's speech as the plays begin an answer to such a message, each
        with the weight its candidates get in the ranking. Empty for a message longer than the
        responder reads: its kept tail may begin mid-word ("...in Delhi" read as "hi")."""
        if len(message) > self.config.message_chars or not self.config.answer_openings:
            return {}
        found = answer_openings(clean_message(message, self.config.message_chars), user_positive, self.lexicon)
        return {self.to_model_text(opening): weight for opening, weight in found.items()}

    def rank(self, candidates: list[Candidate], message_text: str, user_positive: float, mood: str,
             openings: dict[str, float] | None = None) -> None:
        """Mood for all candidates in one batch; then the documented score for those accepted."""
        openings = openings or {}
        readable = [c for c in candidates if c.rejected != "unfinished"]
        if not readable:
            return
        # An opening is the responder's answer to the message, not the mood the model chose: "Alas,"
        # to grief is kind, and under the default mood (positive) it would sink every such reply.
        positive = self.sentiment.score([c.text[len(c.seed):] if c.seed in openings else c.text for c in readable])
        fits = mood_fit(positive, mood, user_positive)
        user_words = self.lexicon.content_words(message_text)
        for candidate, p, fit in zip(readable, positive, fits):
            candidate.positive, candidate.mood_fit = float(p), float(fit)
            # Only the words the model chose count: a topic seed's word is the user's already.
            candidate.overlap = overlap(user_words, self.lexicon.content_words(candidate.text[len(candidate.seed):]))
            length = min(len(words(candidate.text)), FULL_LENGTH_WORDS) / FULL_LENGTH_WORDS
            candidate.score = (SENSE_WEIGHT * candidate.sense + RELEVANCE_WEIGHT * candidate.relevance
                               + OVERLAP_WEIGHT * candidate.overlap + MOOD_WEIGHT * candidate.mood_fit
                               + LENGTH_WEIGHT * length + openings.get(candidate.seed, 0.0)
                               # A prototype is a real speech that fits the message: specific to
                               # what was said, so among replies that read well, one grown from it wins.
                               + (self.config.prototype_weight if candidate.prototype else 0.0))
            if candidate.accepted and candidate.mood_fit < self.config.min_mood_fit:
                candidate.rejected = f"mood {mood} fit {candidate.mood_fit:.2f}"

    def reject_said_before(self, candidates: list[Candidate], conversation: Conversation) -> None:
        """A reply must not end as one of the bard's earlier replies in this conversation: the
        likeliest lines ("What is the matter?") would otherwise come back turn after turn."""
        said = {last_sentence(t.text) for t in conversation.turns if t.speaker == "bard"}
        for candidate in candidates:
            if candidate.accepted and last_sentence(candidate.text) in said:
                candidate.rejected = "said before"

    def reply(self, conversation: Conversation, message: str, seed: int | None = None) -> Reply:
        """The best reply to `message` under the conversation's settings, with every candidate
        considered. Updates `conversation`: both speeches join its turns, and the model's state moves
        past them."""
        started = time.perf_counter()
        # A copy: a front-end may change settings from another thread while this reply is made.
        settings = dataclasses.replace(conversation.settings)
        generator = make_generator(seed, self.device) if seed is not None else self.generator
        if self.device.type == "cpu":
            torch.set_num_threads(threads_beside(others_running(), DEFAULT_THREADS))
        bard_tag = self.tags(settings.persona)[0]
        prompt = self.user_speech(message, settings.persona) + self.speech(bard_tag, "")
        message_text = clean_message(message, self.config.message_chars)
        user_positive = self.read_mood(message)
        openings = self.openings(message, user_positive)
        prototypes = self.prototype_seeds(message_text)
        seeds = list(dict.fromkeys(self.seeds(self.to_model_text(message_text)) + list(openings) + list(prototypes)))
        # A listening model attends to the message from every step of the reply; a plain one
        # hears it only as the speech it reads.
        message_ids = encode_message(message_text, self.vocab, self.to_model_text,
                                     self.trained_on.listen.max_message_chars)
        heard = hearing(self.model, conversation.state, message_ids)
        context = prime(self.model, self.vocab, prompt, heard)
        rows = settings.candidates if seed is not None else self.budget.candidates(settings.candidates)
        sampling_started = time.perf_counter()
        candidates = self.sample(context, seeds, rows, settings.temperature, generator, prototypes)
        self.weigh_sense(candidates, context, settings.persona)
        self.rank(candidates, message_text, user_positive, settings.mood, openings)
        self.reject_said_before(candidates, conversation)
        candidates_ms = (time.perf_counter() - sampling_started) * 1000
        accepted = [i for i, c in enumerate(candidates) if c.accepted]
        if accepted:
            chosen = max(accepted, key=lambda i: candidates[i].score)
            text = candidates[chosen].text
        else:
            lines = FALLBACKS[settings.persona]
            # Drawn on the generator's own device: a CUDA generator cannot fill a CPU tensor.
            pick = torch.randint(len(lines), (1,), generator=generator, device=generator.device)
            chosen, text = None, lines[int(pick)]
        conversation.state = prime(self.model, self.vocab, prompt + self.to_model_text(text), heard)[1]
        conversation.turns.extend([Turn("user", message[-self.config.message_chars:]), Turn("bard", text)])
        attended = (attended_words(self.model, context[1], self.vocab.encode(self.to_model_text(text)),
                                   self.vocab.decode(message_ids)) if listens(self.model) else [])
        latency_ms = (time.perf_counter() - started) * 1000
        self.budget.spent(rows, candidates_ms, latency_ms - candidates_ms)
        return Reply(text, chosen is None, seeds, latency_ms, candidates, chosen, user_positive, settings, attended)
