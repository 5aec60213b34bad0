"""Experiment (not shipped): a continuous cache (Grave et al., 2017) over the cue's characters, judged by the
log-probability of 1,387 held-out reply speeches of the Folio (the last 10% of each play) given their cue.
Usage, from the repository root: python docs/experiments/answering/cache_likelihood.py [CHECKPOINT]"""
import re, sys, torch
from bard.checkpoint import load_checkpoint
from bard.corpus import load_corpus
from bard.wordlists import shipped
ck = load_checkpoint(sys.argv[1] if len(sys.argv) > 1 else "checkpoints/bard-char.pt")
cfg = ck.trained_with(); corpus = load_corpus(cfg); vocab = ck.vocab; model = ck.model.eval()
START = re.compile(r"\n\n[ \t]+([a-z][\w.&\[\]]*?)\.[ \t]+")
W = re.compile(r"[a-z]+(?:'[a-z]+)*")
stop = set(shipped().stopwords) | set("haue thou thee thy shall will good lord what come know well would this that your sir thinke heere there then make doth hath selfe like vpon one yet must giue speake nay".split())
def content(s): return {w for w in W.findall(s) if len(w) > 3 and w not in stop}
def speeches_of(t):
    starts = list(START.finditer(t)); out = []
    for a, b in zip(starts, starts[1:] + [None]):
        end = b.start() if b else len(t)
        out.append((a.group(1), re.split(r"\n[ \t]{2,}\S|\n[a-z]+\. ", t[a.end():end])[0]))
    return out
t = corpus.val_text
sp = speeches_of(t)
pairs = []  # (cue speech, reply speech, shared, echo?)
for (ta, x), (tb, y) in zip(sp, sp[1:]):
    if ta == tb or len(x) > 300 or len(y) > 250 or "enter" in y: continue
    pairs.append((f"\n\n   {ta}. {x.strip()}", f"\n\n   {tb}. {y.strip()}\n\n", content(x) & content(y)))
print(len(pairs), "held-out pairs,", sum(bool(p[2]) for p in pairs), "with an echo")
@torch.no_grad()
def run(cue, reply):
    ids = vocab.encode(cue + reply).long()[None]
    out, _ = model.rnn(model.embedding(ids))
    logits = model.head(out)[0].float()
    return ids[0], out[0].float(), torch.log_softmax(logits, -1)
cached = [run(c, r) for c, r, _ in pairs]
def score(theta, lam):
    tot = n = etot = en = 0.0
    for (cue, reply, shared), (ids, h, lp) in zip(pairs, cached):
        C = len(cue)
        # reply positions: predict ids[t+1] from h[t], t in [C-1, len-2]
        ts = torch.arange(C - 1, len(ids) - 1)
        probs = lp[ts].exp()
        if lam > 0:
            keys, nxt = h[:C - 1], ids[1:C]  # cue positions j and the char that followed each
            att = torch.softmax(theta * h[ts] @ keys.T, -1)
            cache = torch.zeros_like(probs).index_add_(1, nxt, att)
            probs = (1 - lam) * probs + lam * cache
        lpt = probs.gather(1, ids[ts + 1][:, None])[:, 0].log()
        tot += lpt.sum().item(); n += len(ts)
        if shared:
            for m in W.finditer(reply):
                if m.group() in shared:
                    s, e = C + m.start() - 1, C + m.end() - 1
                    etot += lpt[s - (C - 1):e - (C - 1)].sum().item(); en += e - s
    return tot / n, etot / en
print("no cache", score(0, 0))
for theta in (0.4, 0.8, 1.6, 3.2):
    for lam in (0.03, 0.05, 0.08, 0.12):
        print(theta, lam, [round(v, 4) for v in score(theta, lam)])
