"""Experiment (not shipped): a dual-encoder reply matcher (response selection) trained on the Folio's cue->reply
pairs: bags of modernised words, in-batch contrastive loss; prints how often it picks the real reply among 10
for the held-out cues.  Usage, from the repository root: python docs/experiments/answering/reply_matcher.py [DIM] [EPOCHS]"""
import re, random, sys, time, torch, collections
import torch.nn.functional as F
from bard.checkpoint import load_checkpoint
from bard.corpus import load_corpus
from bard.config import load_config
from bard.responder import Responder
torch.manual_seed(0); random.seed(0)
r = Responder.load(load_config(None), seed=0)
cfg = r.trained_on; corpus = load_corpus(cfg)
START = re.compile(r"\n\n[ \t]+([a-z][\w.&\[\]]*?)\.[ \t]+")
def speeches_of(t):
    starts = list(START.finditer(t)); out = []
    for a, b in zip(starts, starts[1:] + [None]):
        end = b.start() if b else len(t)
        out.append((a.group(1), " ".join(re.split(r"\n[ \t]{2,}\S|\n[a-z]+\. ", t[a.end():end])[0].split())))
    return out
def pairs_of(t):
    sp = speeches_of(t)
    return [(x, y) for (ta, x), (tb, y) in zip(sp, sp[1:]) if ta != tb and x and y and len(y) <= 300 and "enter " not in y]
mod = r.lexicon.modernizer.word
W = re.compile(r"[a-z]+(?:'[a-z]+)*")
def toks(s): return [mod(w) for w in W.findall(s.lower())]
train, val = pairs_of(corpus.train_text), pairs_of(corpus.val_text)
print(len(train), "train pairs", len(val), "val pairs")
count = collections.Counter(w for x, y in train for w in toks(x) + toks(y))
vocab = {w: i + 1 for i, (w, c) in enumerate(count.most_common()) if c >= 2}
print(len(vocab), "words")
def bag(s, n=60):
    ids = [vocab.get(w, 0) for w in toks(s)][-n:]
    return ids + [0] * (n - len(ids))
D = int(sys.argv[1]) if len(sys.argv) > 1 else 128
class Enc(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.e = torch.nn.EmbeddingBag(len(vocab) + 1, D, mode="mean", padding_idx=0)
        s.p = torch.nn.Linear(D, D)
    def forward(s, x): return F.normalize(s.p(torch.tanh(s.e(x))), dim=-1)
cue_enc, rep_enc = Enc(), Enc()
scale = torch.nn.Parameter(torch.tensor(10.0))
X = torch.tensor([bag(x) for x, y in train]); Y = torch.tensor([bag(y) for x, y in train])
VX = torch.tensor([bag(x) for x, y in val]); VY = torch.tensor([bag(y) for x, y in val])
opt = torch.optim.Adam(list(cue_enc.parameters()) + list(rep_enc.parameters()) + [scale], lr=2e-3)
@torch.no_grad()
def recall(n=10):
    c, rr = cue_enc(VX), rep_enc(VY); hits = 0; g = torch.Generator().manual_seed(1)
    for i in range(len(VX)):
        neg = torch.randint(len(VX), (n - 1,), generator=g)
        s = torch.cat([(c[i] * rr[i]).sum()[None], rr[neg] @ c[i]])
        hits += int(s.argmax() == 0)
    return hits / len(VX)
print("recall@1 of 10 before", recall())
for epoch in range(int(sys.argv[2]) if len(sys.argv) > 2 else 8):
    perm = torch.randperm(len(X))
    for k in range(0, len(X), 256):
        b = perm[k:k + 256]
        logits = scale * cue_enc(X[b]) @ rep_enc(Y[b]).T
        loss = F.cross_entropy(logits, torch.arange(len(b)))
        opt.zero_grad(); loss.backward(); opt.step()
    print(epoch, round(loss.item(), 3), "val recall@1/10", recall(), flush=True)

