"""Training on a big corpus: builds a text of --megabytes (default 100) by repeating NLTK's whole
gutenberg selection, then runs `bard train` on it for a few steps in a fresh process and prints the
loading time, the peak memory (RSS) of that process and the training speed.

    python benchmarks/big_corpus.py [--megabytes 100] [--steps 20] [--json] [--folio]

--folio repeats the shipped Folio instead, which needs no NLTK data.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import book  # noqa: F401  (points NLTK_DATA at ../shared when it is there)
from bard.config import PROJECT_ROOT
from bard.corpus import local_text_paths, nltk_corpus, read_text_file
from machine import machine


def source_texts(folio: bool) -> list[str]:
    """NLTK's gutenberg selection, or the shipped Folio's plays."""
    if folio:
        return [read_text_file(path) for path in local_text_paths(PROJECT_ROOT / "corpora" / "folio")]
    gutenberg = nltk_corpus("gutenberg")
    return [gutenberg.raw(fileid) for fileid in gutenberg.fileids()]


def build_text(path: Path, megabytes: int, texts: list[str]) -> int:
    """Write `texts` over and over until the file holds `megabytes` MB."""
    target, written = megabytes * 1_000_000, 0
    with path.open("w", encoding="utf-8") as f:
        while written < target:
            for text in texts:
                piece = text[: target - written]
                f.write(piece)
                written += len(piece.encode("utf-8"))
                if written >= target:
                    break
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20, help="training steps to time (default 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--folio", action="store_true",
                        help="repeat the shipped Folio instead of NLTK's gutenberg selection (no NLTK data needed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "big.txt"
        size = build_text(corpus, args.megabytes, source_texts(args.folio))
        out = Path(folder) / "run"
        command = [sys.executable, "-m", "bard", "train", "--corpus", str(corpus), "--set", "corpus.files=[]",
                   "--set", "corpus.val_fraction=0.01", "--max-steps", str(args.steps), "--out", str(out)]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"bard train failed:\n{result.stderr}")
        metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    figures = {
        "corpus_mb": size / 1e6,
        "steps": args.steps,
        "wall_s": wall,
        # Everything before the first step: start-up, reading and encoding the corpus.
        "load_s": wall - metrics[-1]["elapsed_s"],
        "train_chars_per_s": metrics[-1]["chars_per_s"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        **machine(),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"corpus {figures['corpus_mb']:.0f} MB; {args.steps} steps of the default model")
    print(f"wall {wall:.1f} s, of which start-up, reading and encoding the corpus {figures['load_s']:.1f} s")
    print(f"training {figures['train_chars_per_s']:,.0f} chars/s; peak RSS of `bard train` {figures['peak_rss_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
