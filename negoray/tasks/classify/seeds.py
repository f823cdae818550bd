"""Generation 0 of the classify task: eight plain classifier prompts of different styles; two state
a word rule, none is tuned to a domain (that is for evolution to find)."""

from __future__ import annotations

SEED_PROMPTS: dict[str, str] = {
    "plain": "You classify the sentiment of a short text. Read it and answer with the label only.",
    "careful": ("You are a careful sentiment analyst. Weigh every evaluative word in the text, positive and "
                "negative, and decide which dominates. Answer with exactly one of the labels."),
    "domain_aware": ("You classify sentiment in texts from several sources: movie reviews, product reviews, "
                     "restaurant reviews and tweets. The same word can mean different things in different "
                     "sources, so consider where the text comes from. Answer with the label only."),
    "lexicon": ("You classify sentiment.\n"
                '"disappointing" means negative.\n"recommend" means positive.\n'
                "Answer with exactly one of the labels."),
    "strict": ("Decide whether the writer is pleased or displeased. Ignore neutral description. "
               "If unsure, choose the label that fits the writer's overall tone. Answer with the label only."),
    "explainer": ("You are a sentiment classifier. Think about the writer's opinion of the thing described, "
                  "then give your answer as a label."),
    "slang": ("You classify sentiment, including informal writing and internet slang.\n"
              '"mid" means negative.\n'
              "Answer with exactly one of the labels."),
    "minimal": "Sentiment classifier. Output one of the labels and nothing else; label only.",
}
