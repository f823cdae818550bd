import asyncio

from negoray.chat import ChatFailure, ChatParams, ChatReply
from negoray.tasks.classify.data import Example
from negoray.tasks.classify.score import classify_one

LABELS = ("positive", "negative")
EXAMPLE = Example("e1", "The plot was gripping.", "positive", "movie")


class Recording:
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    async def __call__(self, messages, params):
        self.calls.append((messages, params))
        if isinstance(self.answer, Exception):
            raise self.answer
        return ChatReply(self.answer, prompt_tokens=30, completion_tokens=2, provider="fake", model="m")


def run(answer, **kw):
    chat = Recording(answer)
    record = asyncio.run(classify_one("You classify sentiment.", EXAMPLE, chat, 11, 2, labels=LABELS, **kw))
    return record, chat.calls


def test_messages_seed_and_replicate():
    _, [(messages, params)] = run("positive", params=ChatParams(temperature=0.3, max_tokens=20))
    assert messages[0] == {"role": "system", "content": "You classify sentiment."}
    user = messages[1]["content"]
    assert "Domain: movie" in user and "Text: The plot was gripping." in user and "Labels: positive, negative" in user
    assert (params.seed, params.replicate, params.temperature, params.max_tokens) == (11, 2, 0.3, 20)
    _, [(messages, _)] = run("positive", show_domain=False)
    assert "Domain:" not in messages[1]["content"]


def test_outcomes_and_scores():
    correct, _ = run("Label: Positive")
    wrong, _ = run("negative")
    unparseable, _ = run("hard to say")
    assert [(r.score, r.fields["verdict"], r.fields["predicted"]) for r in (correct, wrong, unparseable)] == [
        (1.0, "correct", "positive"), (0.0, "wrong", "negative"), (0.0, "unparseable", "unparseable")]
    assert correct.error is None and correct.calls[0].ok and correct.calls[0].prompt_tokens == 30
    assert (correct.scenario_id, correct.replicate, correct.fields["domain"], correct.fields["label"]) == ("e1", 2, "movie", "positive")


def test_an_infrastructure_failure_is_an_error_never_a_score():
    record, _ = run(ChatFailure("503 after 5 attempts"))
    assert record.score is None and record.error == "503 after 5 attempts"
    assert record.fields["verdict"] == "error" and record.fields["predicted"] is None
    assert not record.calls[0].ok
