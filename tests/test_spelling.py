import pytest

from bard.spelling import Modernizer, variants

MODERN = {"love", "upon", "joy", "villain", "sun", "sunn", "busy", "air", "aire", "have", "every", "heaven",
          "servant", "again", "just", "kind", "very", "value", "evil", "duly", "loud", "our", "self", "us"}


@pytest.fixture(scope="module")
def modernizer():
    from bard.wordlists import shipped

    return Modernizer(shipped().all_words, {"sun": 900, "air": 500, "loved": 300, "love": 1000, "us": 800})


@pytest.mark.parametrize("folio, modern", [
    ("loue", "love"), ("vpon", "upon"), ("ioy", "joy"), ("villaine", "villain"), ("sunne", "sun"),
    ("busie", "busy"), ("ayre", "air"), ("haue", "have"), ("euery", "every"), ("heauen", "heaven"),
    ("seruant", "servant"), ("againe", "again"), ("iust", "just"), ("kinde", "kind"), ("lov'd", "loved"),
    ("vs", "us"), ("selfe", "self"),
])
def test_folio_spellings_become_modern(modernizer, folio, modern):
    assert modernizer.word(folio) == modern


@pytest.mark.parametrize("word", ["very", "value", "evil", "duly", "loud", "vivid", "union", "idle", "jump",
                                  "bee", "three", "tree", "sky", "iron", "love", "upon", "zzyzx"])
def test_modern_and_unknown_words_are_left_alone(modernizer, word):
    assert modernizer.word(word) == word


def test_frequencies_choose_between_rewrites():
    # Both "sunn" (one rewrite) and "sun" (two) are words; the one used in running text wins.
    assert Modernizer(MODERN, {"sun": 10}).word("sunne") == "sun"
    # Without frequencies the fewest rewrites win.
    assert Modernizer(MODERN).word("sunne") == "sunn"


def test_text_keeps_punctuation_and_possessives(modernizer):
    assert modernizer.text("I LOUE thee, vpon the villaine's word!") == "i love thee, upon the villain's word!"


def test_variants_are_grouped_by_rewrites():
    levels = variants("sunne")
    assert "sunn" in levels[0] and "sun" in levels[1]
