from hypothesis import given, strategies as st

from negoray.tasks.classify.parse import UNPARSEABLE, parse_label

LABELS = ("positive", "negative")


def test_plain_and_decorated_labels():
    assert parse_label("positive", LABELS) == "positive"
    assert parse_label("  NEGATIVE. ", LABELS) == "negative"
    assert parse_label("**Positive**", LABELS) == "positive"
    assert parse_label("Label: negative", LABELS) == "negative"
    assert parse_label("The text praises the food.\nAnswer: positive", LABELS) == "positive"
    assert parse_label('{"label": "Negative"}', LABELS) == "negative"
    assert parse_label('Sure: {"label": "positive", "why": "praise"}', LABELS) == "positive"
    assert parse_label("I think the sentiment here is clearly positive overall.", LABELS) == "positive"


def test_label_line_wins_over_words_in_the_reasoning():
    assert parse_label("It mentions positive and negative points.\nLabel: negative", LABELS) == "negative"


def test_none_or_ambiguous_is_unparseable():
    assert parse_label("", LABELS) == UNPARSEABLE
    assert parse_label("I cannot tell.", LABELS) == UNPARSEABLE
    assert parse_label("positive or negative, hard to say", LABELS) == UNPARSEABLE
    assert parse_label('{"label": "neutral"}', LABELS) == UNPARSEABLE
    assert parse_label("positively", LABELS) == UNPARSEABLE


def test_multi_word_labels():
    labels = ("sci/tech", "world", "business")
    assert parse_label("Sci/Tech", labels) == "sci/tech"
    assert parse_label("category: business", labels) == "business"


@given(st.text(), st.lists(st.text(max_size=12), max_size=4))
def test_never_raises_and_answers_a_label_or_unparseable(reply, labels):
    out = parse_label(reply, labels)
    assert out == UNPARSEABLE or out in labels


@given(st.sampled_from(LABELS), st.text(alphabet=" .!*\n\t", max_size=5), st.booleans())
def test_a_label_with_punctuation_and_any_case_parses(label, decoration, upper):
    text = decoration + (label.upper() if upper else label) + decoration
    assert parse_label(text, LABELS) == label
