"""The shipped synthetic multi-domain sentiment data (movie, product, restaurant, tweet), generated.

Each text carries one or two cue words of its domain and label; some also carry a common sentiment
word ("great", "awful") that any model knows. A few cue words change polarity across domains
("unpredictable" plot vs product), so a prompt's domain-specific rules matter: that is the signal
evolution (and market specialisation) can find. ``python -m negoray.tasks.classify.synthetic``
rewrites the shipped file; the same seed gives the same bytes.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

LABELS = ("positive", "negative")
SHIPPED = Path(__file__).with_name("data") / "synthetic_sentiment.jsonl"

COMMON = {"positive": ("great", "excellent", "wonderful", "loved"),
          "negative": ("awful", "terrible", "bad", "hated")}
"""Sentiment words every model knows, whatever the domain."""

CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "movie": {"positive": ("gripping", "unpredictable", "moving", "masterful", "haunting"),
              "negative": ("predictable", "bloated", "wooden", "forgettable", "overlong")},
    "product": {"positive": ("sturdy", "reliable", "intuitive", "lightweight", "responsive"),
                "negative": ("flimsy", "unpredictable", "overheats", "clunky", "defective")},
    "restaurant": {"positive": ("flavourful", "attentive", "crispy", "generous", "fresh"),
                   "negative": ("bland", "greasy", "soggy", "overpriced", "rude")},
    "tweet": {"positive": ("fire", "slaps", "goated", "vibes", "blessed"),
              "negative": ("mid", "cringe", "flop", "ratio", "yikes")},
}
"""Domain cue words per label; "unpredictable" is positive for movies and negative for products."""

_FRAMES = {
    "movie": ("The {noun} was {cue}.", "Honestly a {cue} {noun}.", "I found the {noun} {cue} from start to finish."),
    "product": ("The {noun} feels {cue}.", "After a week the {noun} is {cue}.", "Mine arrived and the {noun} was {cue}."),
    "restaurant": ("The {noun} was {cue}.", "Our {noun} came out {cue}.", "We thought the {noun} was {cue} tonight."),
    "tweet": ("this {noun} is {cue}", "ngl the {noun} {cue}", "new {noun} just dropped and it's {cue}"),
}
_NOUNS = {"movie": ("film", "plot", "ending", "cast", "script"),
          "product": ("charger", "blender", "keyboard", "case", "speaker"),
          "restaurant": ("pasta", "service", "dessert", "curry", "staff"),
          "tweet": ("album", "update", "episode", "drop", "game")}
_COMMON_FRAMES = ("Overall {word}.", "Just {word}.", "{word}, really.")


def example(domain: str, label: str, rng: random.Random) -> str:
    """One synthetic text of ``domain`` with sentiment ``label``."""
    sentences = [rng.choice(_FRAMES[domain]).format(noun=rng.choice(_NOUNS[domain]), cue=cue)
                 for cue in rng.sample(CUES[domain][label], rng.choice((1, 1, 2)))]
    if rng.random() < 0.35:
        sentences.append(rng.choice(_COMMON_FRAMES).format(word=rng.choice(COMMON[label])).capitalize())
    return " ".join(sentences)


def generate(per_domain_label: int = 40, seed: int = 8) -> list[dict[str, str]]:
    """``per_domain_label`` examples of each (domain, label), shuffled by ``seed``, with ids."""
    rng = random.Random(seed)
    rows = [{"text": example(d, label, rng), "label": label, "domain": d}
            for d in CUES for label in LABELS for _ in range(per_domain_label)]
    rng.shuffle(rows)
    return [{"id": f"syn-{i:03d}", **row} for i, row in enumerate(rows)]


def write(path: Path = SHIPPED, **kwargs: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in generate(**kwargs)), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED))
