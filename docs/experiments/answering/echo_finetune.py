"""Experiment (not shipped): fine-tune the shipped char model on cue->reply pairs of the Folio in which the
reply takes up a content word of the cue, and measure the held-out replies' log-probability, all of it and
that of the echoed words.  Usage, from the repository root:
    python docs/experiments/answering/echo_finetune.py MINUTES LR ECHO_SHARE OUT.pt
(this session: 12 3e-4 0.5 runs/echo.pt; 0 ... measures the shipped model alone)."""
import re, random, sys, time, torch
from bard.checkpoint import load_checkpoint, save_checkpoint
from bard.config import load_config
from bard.corpus import load_corpus
from bard.wordlists import shipped
from bard.evaluation import evaluate

minutes, lr, mix, out = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
torch.manual_seed(0); random.seed(0)
ck = load_checkpoint("checkpoints/bard-char.pt")
cfg = ck.trained_with()
corpus = load_corpus(cfg)
t = corpus.train_text
START = re.compile(r"\n\n[ \t]+([a-z][\w.&\[\]]*?)\.[ \t]+")
def speeches_of(t):
    starts = list(START.finditer(t)); out = []
    for a, b in zip(starts, starts[1:] + [None]):
        end = b.start() if b else len(t)
        out.append((a.group(1), re.split(r"\n[ \t]{2,}\S|\n[a-z]+\. ", t[a.end():end])[0], a.start()))
    return out
speeches = speeches_of(t)
W = re.compile(r"[a-z]+(?:'[a-z]+)*")
stop = set(shipped().stopwords) | set("haue thou thee thy shall will good lord what come know well would this that your sir thinke heere there then make doth hath selfe like vpon one yet must giue speake nay".split())
def content(s): return {w for w in W.findall(s) if len(w) > 3 and w not in stop}
def echo_pairs(t, speeches):
    out = []
    for (ta, x, at), (tb, y, bt) in zip(speeches, speeches[1:]):
        if ta == tb or len(x) > 300 or len(y) > 250 or "enter" in y or "exit" in y: continue
        shared = content(x) & content(y)
        if shared:
            reply = f"\n\n   {tb}. {y.strip()}\n\n"
            out.append((t[max(0, at - 400):at] + f"\n\n   {ta}. {x.strip()}", reply, shared))
    return out
pairs = echo_pairs(t, speeches)
val_pairs = echo_pairs(corpus.val_text, speeches_of(corpus.val_text))
print("val pairs", len(val_pairs))
print(len(speeches), "speeches", len(pairs), "echo pairs", flush=True)
vocab = ck.vocab
def encode(s): return vocab.encode(s).long()
train_ids = encode(t)
val_ids = encode(corpus.val_text)[:200_000]
model = ck.model.train()
ac = torch.autocast("cpu", dtype=torch.bfloat16)
def val(): 
    model.eval(); l = evaluate(model, val_ids, 128, torch.device("cpu"), ac)[0]; model.train(); return l
opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
B, T = 64, 128
L = 512
def echo_rows(chosen):
    rows, masks = [], []
    for before, reply, _ in chosen:
        s = (before + reply)[-(L + 1):]
        ids = encode(s)
        ids = torch.cat([torch.zeros(L + 1 - len(ids), dtype=torch.long), ids])
        m = torch.zeros(L, dtype=torch.bool); m[L - len(reply):] = True
        rows.append(ids); masks.append(m)
    return torch.stack(rows), torch.stack(masks)
def echo_batch(): return echo_rows(random.sample(pairs, 16))
@torch.no_grad()
def echo_val():
    """mean log-prob per char of held-out replies, and of the reply chars inside echoed words"""
    model.eval(); tot = n = etot = en = 0.0
    for k in range(0, len(val_pairs), 32):
        chunk = val_pairs[k:k + 32]
        xb, mb = echo_rows(chunk)
        with ac: logits, _ = model(xb[:, :-1])
        lp = torch.log_softmax(logits.float(), -1).gather(-1, xb[:, 1:, None])[..., 0]
        for r, (before, reply, shared) in enumerate(chunk):
            tot += lp[r][mb[r]].sum().item(); n += mb[r].sum().item()
            rs = L - len(reply)
            for mm in re.finditer(r"[a-z]+(?:'[a-z]+)*", reply):
                if mm.group() in shared:
                    etot += lp[r, rs + mm.start() - 1: rs + mm.end() - 1].sum().item(); en += mm.end() - mm.start()
    model.train(); return round(tot / n, 4), round(etot / en, 4)
def plain_batch():
    i = torch.randint(len(train_ids) - T - 1, (B,))
    return torch.stack([train_ids[j:j + T + 1] for j in i.tolist()])
print("val before", val(), "echo val", echo_val(), flush=True)
t0 = time.time(); step = 0
while time.time() - t0 < minutes * 60:
    if random.random() < mix:
        xb, mb = echo_batch()
    else:
        xb = plain_batch(); mb = torch.ones(xb.size(0), xb.size(1) - 1, dtype=torch.bool)
    with ac:
        logits, _ = model(xb[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.float()[mb], xb[:, 1:][mb])
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); step += 1
    if step % 100 == 0: print(step, round(loss.item(), 3), round(time.time() - t0), flush=True)
print("val after", val(), "echo val", echo_val(), "steps", step, flush=True)
model.eval()
save_checkpoint(__import__("pathlib").Path(out), model, vocab, ck.meta)
