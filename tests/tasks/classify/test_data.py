import json

import pytest
from hypothesis import given, strategies as st

from negoray.tasks.classify import synthetic
from negoray.tasks.classify.data import Example, ExampleFileError, draw_splits, load_splits, read_examples

LABELS = ("positive", "negative")


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_reads_examples_with_stable_ids(tmp_path):
    rows = [{"text": "good", "label": "positive", "domain": "movie"}, "", {"text": "bad", "label": "negative", "id": "x7"}]
    path = write(tmp_path, "ex.jsonl", rows)
    first = read_examples(path, LABELS)
    assert [(e.text, e.label, e.domain) for e in first] == [("good", "positive", "movie"), ("bad", "negative", "")]
    assert first[1].id == "x7" and first[0].id.startswith("ex-")
    assert read_examples(path, LABELS) == first


@pytest.mark.parametrize("line, message", [
    ("{not json", "ex.jsonl:2: not valid JSON"),
    ('["a list"]', "ex.jsonl:2: expected a JSON object"),
    ('{"label": "positive"}', "ex.jsonl:2: field 'text' is missing"),
    ('{"text": "  ", "label": "positive"}', "ex.jsonl:2: field 'text' is empty"),
    ('{"text": 3, "label": "positive"}', "ex.jsonl:2: field 'text' is a int, not a string"),
    ('{"text": "meh", "label": "neutral"}', "ex.jsonl:2: field 'label' is 'neutral', not one of 'positive', 'negative'"),
    ('{"text": "ok", "label": "positive", "domain": ["movie"]}', "ex.jsonl:2: field 'domain' is a list"),
    ('{"text": "b", "label": "positive", "id": "a"}', "ex.jsonl:2: field 'id' 'a' repeats line 1"),
])
def test_bad_lines_name_file_line_and_field(tmp_path, line, message):
    path = write(tmp_path, "ex.jsonl", ['{"text": "a", "label": "negative", "id": "a"}', line])
    with pytest.raises(ExampleFileError, match=message.replace("[", r"\[").replace("(", r"\(")):
        read_examples(path, LABELS)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ExampleFileError, match="nope.jsonl: cannot read"):
        read_examples(tmp_path / "nope.jsonl", LABELS)
    with pytest.raises(ExampleFileError, match="empty.jsonl: no examples"):
        read_examples(write(tmp_path, "empty.jsonl", [""]), LABELS)


def test_three_files_and_an_id_in_two_splits(tmp_path):
    files = {s: write(tmp_path, f"{s}.jsonl", [{"text": s, "label": "positive", "id": s}]) for s in ("dev", "val", "test")}
    assert {k: [e.id for e in v] for k, v in load_splits(files, LABELS).items()} == {"dev": ["dev"], "val": ["val"], "test": ["test"]}
    files["test"] = files["dev"]
    with pytest.raises(ExampleFileError, match="'dev' is in both dev and test"):
        load_splits(files, LABELS)


@given(st.integers(3, 60), st.floats(0.05, 0.6), st.floats(0, 0.3), st.integers(0, 2**31))
def test_drawn_splits_partition_the_examples_reproducibly(n, dev, val, seed):
    examples = [Example(str(i), f"t{i}", "positive") for i in range(n)]
    splits = draw_splits(examples, {"dev": dev, "val": val}, seed)
    ids = [e.id for part in splits.values() for e in part]
    assert sorted(ids) == sorted(e.id for e in examples)
    assert len(splits["dev"]) == round(dev * n) and len(splits["val"]) == round(val * n)
    assert splits == draw_splits(examples, {"dev": dev, "val": val}, seed)


def test_bad_fractions():
    with pytest.raises(ValueError, match="dev > 0, val >= 0 and dev \\+ val < 1"):
        draw_splits([Example("a", "t", "positive")], {"dev": 0.8, "val": 0.3}, 0)


def test_the_shipped_data_is_what_the_seeded_generator_writes(tmp_path):
    shipped = read_examples(synthetic.SHIPPED, synthetic.LABELS)
    assert 200 <= len(shipped) <= 1000
    assert {e.domain for e in shipped} == {"movie", "product", "restaurant", "tweet"}
    assert {e.label for e in shipped} == set(synthetic.LABELS)
    assert synthetic.write(tmp_path / "again.jsonl").read_bytes() == synthetic.SHIPPED.read_bytes()
