"""Pick play sentences for hand-labelling as TRAINING data, away from the held-out sets."""
import random, sys
from pathlib import Path
from bard.sentiment_data import play_sentences, read_labelled_lines, vader_compound
from bard.sentiment import held_out_sets
from bard.spelling import Modernizer
from bard.wordlists import shipped

near = {(e.play, e.line // 30 + s) for p in held_out_sets() for e, _ in read_labelled_lines(p) for s in (-1, 0, 1)}
plays = sorted(Path("corpora/folio").glob("*.txt"))
sentences = [s for p in plays for s in play_sentences(p) if (s.play, s.line // 30) not in near]
mod = Modernizer(shipped().all_words, {})
compound = vader_compound([mod.text(s.text) for s in sentences])
rng = random.Random(1623)
scored = [s for s, c in zip(sentences, compound) if abs(c) >= 0.05]
plain = [s for s, c in zip(sentences, compound) if abs(c) < 0.05]
picked = rng.sample(scored, 2100) + rng.sample(plain, 700)
rng.shuffle(picked)
lines = {p.name: p.read_text(encoding="utf-8", errors="replace").splitlines() for p in plays}
out = Path("/tmp/label"); out.mkdir(exist_ok=True)
per = 350
for k in range(8):
    chunk = picked[k * per:(k + 1) * per]
    with open(out / f"sheet{k}.txt", "w") as f:
        for i, s in enumerate(chunk):
            n = k * per + i
            ctx = [l.strip() for l in lines[s.play][max(0, s.line - 7): s.line - 1] if l.strip()]
            f.write(f"### {n}\ncontext: {' / '.join(ctx)[-400:]}\nLINE: {s.text}\n\n")
with open(out / "index.tsv", "w") as f:
    for n, s in enumerate(picked):
        f.write(f"{n}\t{s.play}\t{s.line}\t{s.text}\n")
print(len(sentences), len(scored), len(plain), len(picked))
