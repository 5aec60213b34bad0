import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bard.config import load_config
from bard.corpus import load_corpus, load_documents, read_text_file, split_text
from bard.errors import CorpusError


def test_default_corpus_is_the_folio_shipped_with_bard():
    config = load_config(None)
    documents = load_documents(config)
    assert len(documents) == 35
    assert [Path(d.name).name for d in documents][:2] == ["all_is_well_that_ends_well_gut_f.txt",
                                                          "anthonie_and_cleopatra_gut_f.txt"]
    # The bytes of ../shared/data/folio, as its README gives them (sha256 of the files in name order).
    digest = hashlib.sha256(b"".join(Path(d.name).read_bytes() for d in documents)).hexdigest()
    assert digest == "d3b606eddcde4d3ab25ca81965d2249e6f0b9064831f89e20b634bb34a84cca8"
    assert all(d.text == d.text.lower() for d in documents)
    # NLTK's three plays are three of these 35, so the default corpus holds none of NLTK's.
    assert config.corpus.gutenberg == []


def test_word_record_keeps_every_word_and_the_nearly_always_capitalized(tiny_config):
    corpus = load_corpus(tiny_config)
    assert {"hamlet", "horatio", "denmarke", "'tis", "the"} <= set(corpus.words["words"])
    capitalized = set(corpus.words["capitalized"])
    assert {"horatio", "denmarke", "caesar"} <= capitalized and "the" not in capitalized


@pytest.mark.nltk_data("gutenberg")
def test_nltk_plays_lowercased_match_the_book(nltk_plays_config):
    documents = load_documents(nltk_plays_config)
    assert [d.name for d in documents] == [
        "gutenberg:shakespeare-caesar.txt", "gutenberg:shakespeare-hamlet.txt", "gutenberg:shakespeare-macbeth.txt"]
    text = "".join(d.text for d in documents)
    # The figures NLP in Action reports for these plays.
    assert len(text) == 375542
    assert len(set(text)) == 50
    assert text == text.lower()


def test_case_is_kept_when_lowercase_is_off(tiny_config):
    tiny_config.corpus.lowercase = False
    text = "".join(d.text for d in load_documents(tiny_config))
    assert "HAMLET" in text.upper() and any(c.isupper() for c in text)


def test_validation_is_the_tail_of_every_play(tiny_config):
    corpus = load_corpus(tiny_config)
    for document in corpus.documents:
        train, val = split_text(document.text, 0.1)
        assert train + val == document.text
        assert len(val) == round(len(document.text) * 0.1)
        assert val in corpus.val_text and train in corpus.train_text
    assert len(corpus.train_text) + len(corpus.val_text) == 375444  # the three Folio plays


def test_split_keeps_both_sides_non_empty():
    assert split_text("ab", 0.01) == ("a", "b")
    assert split_text("abcdefghij", 0.5) == ("abcde", "fghij")


def test_local_files_decode_utf8_bom_latin1_and_crlf(tmp_path, caplog):
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffO Romeo,\r\nwherefore\r\n".encode("utf-8"))
    assert read_text_file(bom) == "O Romeo,\nwherefore\n"
    latin = tmp_path / "latin.txt"
    latin.write_bytes("C\xe6sar".encode("latin-1"))
    assert read_text_file(latin) == "C\xe6sar"
    assert "not valid UTF-8" in caplog.text


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"), (b"  \n\n", "is empty"), (b"\x89PNG\x00\x00", "looks binary"),
])
def test_bad_local_files_fail_with_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_text_file(path)
    with pytest.raises(CorpusError, match="corpus file not found"):
        read_text_file(tmp_path / "missing.txt")


def test_config_files_and_folders_join_the_corpus(tiny_config, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.txt").write_text("Alas, poor Yorick!\n")
    (tmp_path / "mine" / "b.txt").write_text("Out, damned spot!\n")
    tiny_config.corpus.gutenberg = []
    tiny_config.corpus.files = [str(tmp_path / "mine")]
    documents = load_documents(tiny_config)
    assert [d.text for d in documents] == ["alas, poor yorick!\n", "out, damned spot!\n"]


@pytest.mark.nltk_data("gutenberg")
def test_unknown_gutenberg_id_is_named(nltk_plays_config):
    nltk_plays_config.corpus.gutenberg = ["shakespeare-lear.txt"]
    with pytest.raises(CorpusError, match="unknown NLTK gutenberg file id 'shakespeare-lear.txt'"):
        load_documents(nltk_plays_config)


def test_missing_nltk_data_offline_names_the_corpus_and_nltk_data(tmp_path):
    # An empty NLTK data folder, and a proxy on a closed local port so the download fails offline
    # whatever network this machine has.
    env = {**os.environ, "NLTK_DATA": str(tmp_path), "HOME": str(tmp_path),
           "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    result = subprocess.run([sys.executable, "-m", "bard", "train", "--gutenberg", "shakespeare-hamlet.txt",
                             "--max-steps", "1"],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "NLTK data 'gutenberg' is missing and could not be downloaded" in lines[0]
    assert "NLTK_DATA" in lines[0] and "nltk.downloader gutenberg" in lines[0]
