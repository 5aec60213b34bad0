"""Check the writers' exchanges and split them by writer into train.tsv, dev.tsv and test.tsv.

    python corpora/dialogue/build.py            # reads writers/*.tsv, writes the parts and REPORT.md

Every exchange is checked as data from an outside writer is: one TAB between a message and a reply;
a message said before (exactly, or with the same content words in any order, case and punctuation)
is kept once, in the first writer's file; no exchange repeats a prompt of `benchmarks/*prompts*.txt`
(those rate bard); no reply holds 40 characters running of the plays, in their spelling or in
modern spelling (the Folio modernized word by word), which would teach the model to quote.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from bard.scoring import VerbatimIndex  # noqa: E402
from bard.spelling import Modernizer  # noqa: E402
from bard.wordlists import shipped  # noqa: E402

# Writers held out whole, so that dev and test measure writers (and sub-themes) the model never read.
DEV = ("writer02", "writer27", "writer36", "writer46")
TEST = ("writer05", "writer20", "writer29", "writer42", "writer52")
COPY_CHARS = 40
WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
# Words that say nothing of a message's matter; two messages with the same other words are one.
FILLER = set("""a an the i i'm im me my you your u ur is are was were be been am to of in on at for and or
but so just really very it it's its this that lol omg haha tbh idk ugh ok okay oh hey hi""".split())


def content_key(text: str) -> tuple[str, ...]:
    return tuple(sorted(set(WORD.findall(text.lower())) - FILLER))


def exact_key(text: str) -> str:
    return " ".join(WORD.findall(text.lower()))


def read_writer(path: Path) -> list[tuple[str, str]]:
    exchanges = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise SystemExit(f"{path}:{number}: expected `message<TAB>reply`")
        exchanges.append((parts[0].strip(), parts[1].strip()))
    return exchanges


def prompt_keys() -> tuple[set[str], set[tuple[str, ...]]]:
    prompts = [line for path in sorted((ROOT / "benchmarks").glob("*prompts*.txt"))
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {exact_key(p) for p in prompts}, {content_key(p) for p in prompts if len(content_key(p)) >= 2}


def main() -> None:
    folio = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpora" / "folio").glob("*.txt")))
    modernizer = Modernizer(shipped().all_words)
    copies = [VerbatimIndex(folio, COPY_CHARS), VerbatimIndex(modernizer.text(folio), COPY_CHARS)]
    prompt_exact, prompt_content = prompt_keys()
    seen_exact, seen_content = set(), set()
    parts: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    dropped = Counter()
    writers = sorted((HERE / "writers").glob("writer*.tsv"))
    kept_by_writer = {}
    for path in writers:
        kept = 0
        for message, reply in read_writer(path):
            exact, content = exact_key(message), content_key(message)
            if exact in prompt_exact or content in prompt_content:
                dropped["repeats a rating prompt"] += 1
            elif exact in seen_exact:
                dropped["duplicate message"] += 1
            elif len(content) >= 2 and content in seen_content:
                dropped["near-duplicate message"] += 1
            elif any(index.copies(reply) or index.copies(modernizer.text(reply)) for index in copies):
                dropped[f"reply copies {COPY_CHARS} characters of the plays"] += 1
            else:
                part = "dev" if path.stem in DEV else "test" if path.stem in TEST else "train"
                parts[part].append(f"{message}\t{reply}")
                kept += 1
            seen_exact.add(exact)
            if len(content) >= 2:
                seen_content.add(content)
        kept_by_writer[path.stem] = kept
    for part, lines in parts.items():
        (HERE / f"{part}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    openings = Counter(line.split("\t")[1].split()[0].strip(",.!?;:").lower() for lines in parts.values() for line in lines)
    total = sum(len(lines) for lines in parts.values())
    report = [
        "# The written exchanges: what build.py kept", "",
        f"{len(writers)} writers, {sum(kept_by_writer.values()):,} exchanges kept "
        f"(train {len(parts['train']):,}, dev {len(parts['dev']):,}, test {len(parts['test']):,}).", "",
        "Dropped:", *([f"- {why}: {n}" for why, n in dropped.most_common()] or ["- none"]), "",
        "Most common first words of replies (share of all replies):",
        *[f"- {word}: {n} ({n / total:.1%})" for word, n in openings.most_common(10)], "",
        "Kept per writer: " + ", ".join(f"{w} {n}" for w, n in kept_by_writer.items()), "",
    ]
    (HERE / "REPORT.md").write_text("\n".join(report), encoding="utf-8")
    print("\n".join(report))


if __name__ == "__main__":
    main()
