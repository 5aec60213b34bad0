import pytest

from bard.wordlists import WordLists, shipped


@pytest.mark.nltk_data("words", "stopwords")
def test_rebuilding_the_word_lists_from_nltk_gives_the_shipped_ones():
    # `python -m bard.wordlists` regenerates bard/data/wordlists.json.gz from NLTK's data.
    assert WordLists.from_nltk() == shipped()
