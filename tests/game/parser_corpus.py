"""Realistic model replies and how a careful human referee reads them.

Each entry is ``(reply, pool counts, expected)`` where ``expected`` is one of

- ``(action, share)``: a valid move; ``share`` is the speaker's own share, None for ACCEPT;
- ``("invalid", action)``: understood, but not a legal move for the pool (over-claim, negative
  counts, shares that do not add up to the pool, a REJECT without a counter-proposal);
- ``"unparseable"``: no move can be read from the reply.

Counts and shares are ``(books, hats, balls)``. The corpus defines the parser's correct
behaviour; comments mark the cases where the reading is a judgement call.
"""

from __future__ import annotations

from typing import Any

P, A, R = "propose", "accept", "reject"
U = "unparseable"


def invalid(action: str) -> tuple[str, str]:
    return ("invalid", action)


CORPUS: list[tuple[str, tuple[int, int, int], Any]] = [
    # ---- the V7 form, as asked ---------------------------------------------------------------
    (
        "REASONING: Books are worth the most to me.\n"
        "PROPOSE: I get [2 books, 0 hats, 1 ball], you get [1 book, 2 hats, 0 balls]",
        (3, 2, 1),
        (P, (2, 0, 1)),
    ),
    ("REASONING: 7 of my 10 points, good enough.\nACCEPT", (3, 2, 1), (A, None)),
    (
        "REASONING: Too little for me.\nREJECT\n"
        "PROPOSE: I get [1 book, 2 hats, 0 balls], you get [2 books, 0 hats, 1 ball]",
        (3, 2, 1),
        (R, (1, 2, 0)),
    ),
    (
        "REASONING: I need the hats.\n"
        "REJECT PROPOSE: I get [0 books, 2 hats, 1 ball], you get [3 books, 0 hats, 0 balls]",
        (3, 2, 1),
        (R, (0, 2, 1)),
    ),
    # ---- GPT-4-ish: markdown headings, bold, explanation around the move ------------------------
    (
        "### Analysis\n"
        "Given my valuations (books = 0, hats = 3, balls = 2), the hats carry most of my value, "
        "while the books are worthless to me.\n\n"
        "### Decision\n"
        "**PROPOSE:** I get **[0 books, 2 hats, 1 ball]**, you get **[3 books, 0 hats, 0 balls]**\n\n"
        "This gives you all of the books, which I suspect you value highly.",
        (3, 2, 1),
        (P, (0, 2, 1)),
    ),
    (
        "**REASONING:** The current offer gives me only 3 of 10 points, below my threshold.\n\n"
        "**REJECT**\n\n"
        "**PROPOSE:** I get [2 books, 1 hat, 0 balls], you get [1 book, 1 hat, 1 ball]",
        (3, 2, 1),
        (R, (2, 1, 0)),
    ),
    (
        "## My Response\n\n"
        "- **Reasoning:** Accepting secures 6/10, which meets my 50% floor.\n"
        "- **Action:** ACCEPT",
        (1, 4, 1),
        (A, None),
    ),
    (
        "After carefully weighing the standing offer against my priorities, I believe it is in my "
        "interest to secure the agreement now rather than risk no deal in the final round.\n\n"
        "**Decision: ACCEPT**",
        (2, 2, 2),
        (A, None),
    ),
    # ---- Llama-ish chatty preambles and sign-offs --------------------------------------------
    (
        "Sure! Here's my response:\n\n"
        "REASONING: I want to keep the hats since they're valuable to me.\n"
        "PROPOSE: I get [1 book, 2 hats, 0 balls], you get [2 books, 0 hats, 2 balls]\n\n"
        "Let me know what you think!",
        (3, 2, 2),
        (P, (1, 2, 0)),
    ),
    (
        "Sure thing! Here's my counter-offer: I get 2 books and the ball, you get 1 book and 2 hats. "
        "I think that's fair for both of us! 😊",
        (3, 2, 1),
        # "counter-offer" is a rejection of the standing offer with a counter-proposal.
        (R, (2, 0, 1)),
    ),
    (
        "Great, thanks for the offer! I'm happy with this split.\n\nACCEPT\n\nLooking forward to "
        "working with you!",
        (2, 1, 3),
        (A, None),
    ),
    # ---- hedged -------------------------------------------------------------------------------
    ("Hmm, I think maybe I could accept this. It's not perfect but it's reasonable.\n\nACCEPT", (3, 1, 1), (A, None)),
    ("I think I can accept your proposal, it seems fair enough.", (3, 1, 1), (A, None)),
    (
        "I think maybe I could accept that, but I'd rather have one more hat.\n"
        "PROPOSE: I get [1 book, 2 hats, 0 balls], you get [2 books, 0 hats, 1 ball]",
        (3, 2, 1),
        # The hedge is not a decision; the explicit PROPOSE line is.
        (P, (1, 2, 0)),
    ),
    # ---- accept phrasings -----------------------------------------------------------------------
    ("Deal!", (1, 2, 3), (A, None)),
    ("I accept your proposal.", (1, 2, 3), (A, None)),
    ("Agreed.", (1, 2, 3), (A, None)),
    ("That sounds fair to me. I accept.", (1, 2, 3), (A, None)),
    ("Okay, I'll accept the deal.", (1, 2, 3), (A, None)),
    ("accept", (1, 2, 3), (A, None)),
    ("Accepted. Pleasure doing business with you.", (1, 2, 3), (A, None)),
    ("You have a deal.", (1, 2, 3), (A, None)),
    # ---- a restated offer plus ACCEPT is an acceptance, not a proposal -----------------------------
    (
        "You offered me 2 books and 1 hat, while you keep 1 book, 1 hat and the ball. "
        "That works for me.\nACCEPT",
        (3, 2, 1),
        (A, None),
    ),
    (
        "Looking at your offer (you get 3 books, I get 2 hats and the ball), this is acceptable "
        "to me.\n\nACCEPT",
        (3, 2, 1),
        (A, None),
    ),
    (
        "REASONING: Your proposal: I get [1 book, 2 hats, 0 balls], you get [2 books, 0 hats, 1 ball]"
        " gives me 8 points.\nACCEPT",
        (3, 2, 1),
        (A, None),
    ),
    ("Deal! I accept: I get 2 hats, you get 3 books and 1 ball.", (3, 2, 1), (A, None)),
    # ---- negations ------------------------------------------------------------------------------
    (
        "I can't accept that. It gives me almost nothing.\n"
        "REJECT\nPROPOSE: I get [2 books, 1 hat, 0 balls], you get [1 book, 1 hat, 1 ball]",
        (3, 2, 1),
        (R, (2, 1, 0)),
    ),
    (
        "I cannot ACCEPT this offer. PROPOSE: I get [0 books, 1 hat, 1 ball], you get [3 books, 1 hat, 0 balls]",
        (3, 2, 1),
        (P, (0, 1, 1)),
    ),
    (
        "I don't think I can accept this. How about I get 2 books and 1 ball, and you get 1 book "
        "and 2 hats?",
        (3, 2, 1),
        # Refusing the standing offer and naming a split is a rejection with a counter-proposal.
        (R, (2, 0, 1)),
    ),
    (
        "I can't accept that, it's way too one-sided.",
        (3, 2, 1),
        # Clearly a rejection, but with no counter-proposal: an invalid REJECT, not gibberish.
        invalid(R),
    ),
    # ---- explicit rejects without a counter-proposal ---------------------------------------------
    ("REJECT\nREASONING: This is unfair to me.", (3, 2, 1), invalid(R)),
    ("I reject your offer.", (3, 2, 1), invalid(R)),
    # ---- small models that ramble -----------------------------------------------------------------
    (
        "Okay so let me think. There are 3 books and 2 hats and 1 ball. Books are worth 1 to me, "
        "hats are worth 3, and the ball is worth 2. So I really want the hats. I propose that I get "
        "2 hats and 1 ball, and you get 3 books.",
        (3, 2, 1),
        (P, (0, 2, 1)),
    ),
    (
        "Okay so let me think. I have 3 books and 2 hats and 1 ball to split. I really want the "
        "hats.\nPROPOSE: I get 2 hats and 1 ball, you get 3 books",
        (3, 2, 1),
        # "I have 3 books ..." describes the pool; the move is the PROPOSE line.
        (P, (0, 2, 1)),
    ),
    (
        "hello i am negotiator. i think it is good. i want the balls because balls are good for me "
        "and hats are ok. so PROPOSE: I get [0 books, 1 hats, 2 balls], you get [2 books, 1 hats, 0 balls] "
        "ok thank you",
        (2, 2, 2),
        (P, (0, 1, 2)),
    ),
    ("Let me think about this for a moment...", (3, 2, 1), U),
    ("", (3, 2, 1), U),
    ("REASONING: I value hats highly and want to keep them.", (3, 2, 1), U),
    # ---- wrong item names -------------------------------------------------------------------------
    ("PROPOSE: I get [2 apples, 1 orange], you get [1 apple, 1 orange]", (3, 2, 1), U),
    (
        "PROPOSE: I get [2 notebooks, 1 hat, 0 balls], you get [1 notebook, 1 hat, 1 ball]",
        (3, 2, 1),
        # "notebooks" are not an item of the game; reading them as books would be a guess.
        U,
    ),
    # ---- invalid for the pool -----------------------------------------------------------------------
    (
        "PROPOSE: I get [4 books, 2 hats, 1 ball], you get [0 books, 0 hats, 0 balls]",
        (3, 2, 1),
        invalid(P),
    ),
    ("I'll take all 5 books and both hats, you get the ball.", (3, 2, 1), invalid(P)),
    (
        "PROPOSE: I get [4 books, -1 hats, 1 ball], you get [-1 books, 3 hats, 0 balls]",
        (3, 2, 1),
        invalid(P),
    ),
    (
        "PROPOSE: I get [2 books, 1 hat, 1 ball], you get [2 books, 1 hat, 0 balls]",
        (3, 2, 1),
        # Each share fits the pool but together they claim 4 books.
        invalid(P),
    ),
    ("PROPOSE: You get 4 books and 1 hat.", (3, 2, 1), invalid(P)),
    # ---- format variations ----------------------------------------------------------------------
    (
        "PROPOSE: I get [1 books, 2 hat, 1 balls], you get [2 book, 0 hat, 0 ball]",
        (3, 2, 1),
        (P, (1, 2, 1)),
    ),
    ("PROPOSE: I get 2 books, 1 hat, 0 balls, you get 1 book, 1 hat, 1 ball", (3, 2, 1), (P, (2, 1, 0))),
    ("PROPOSE: I get 2 books and 1 hat, you get the rest.", (3, 2, 1), (P, (2, 1, 0))),
    # An omitted item is 0 for the speaker (the other side gets it).
    ("PROPOSE: I get 2 books and 1 hat.", (3, 2, 1), (P, (2, 1, 0))),
    ("PROPOSE: I get all the hats, you get the rest", (3, 2, 1), (P, (0, 2, 0))),
    ("You can have 1 book and both hats. I'll keep the rest.", (3, 2, 1), (P, (2, 0, 1))),
    ("You can have 1 book and both hats.", (3, 2, 1), (P, (2, 0, 1))),
    ("I'll take the 3 books; you can have the hats and the ball.", (3, 2, 1), (P, (3, 0, 0))),
    (
        "propose: i get [1 book, 1 hat, 1 ball], you get [2 books, 1 hat, 0 balls]",
        (3, 2, 1),
        (P, (1, 1, 1)),
    ),
    (
        "PROPOSE: I get two books, one hat and zero balls; you get one book, one hat and one ball.",
        (3, 2, 1),
        (P, (2, 1, 0)),
    ),
    ("PROPOSE: I get [1, 2, 0], you get [2, 0, 1]", (3, 2, 1), (P, (1, 2, 0))),
    ("PROPOSE: I get books x2, hat x1; you get book x1, hat x1, ball x1", (3, 2, 1), (P, (2, 1, 0))),
    ("PROPOSE: I get 2x books, 1x hat; you get 1x book, 1x hat, 1x ball", (3, 2, 1), (P, (2, 1, 0))),
    ("PROPOSE: I get books: 2, hats: 0, balls: 1; you get books: 1, hats: 2, balls: 0", (3, 2, 1), (P, (2, 0, 1))),
    ("PROPOSE: I get nothing, you get everything", (3, 2, 1), (P, (0, 0, 0))),
    # ---- keywords that are not the speaker's decision ------------------------------------------
    (
        "REASONING: They would probably ACCEPT this.\n"
        "PROPOSE: I get [2 books, 0 hats, 1 ball], you get [1 book, 2 hats, 0 balls]",
        (3, 2, 1),
        (P, (2, 0, 1)),
    ),
    (
        "REASONING: I cannot ACCEPT this offer.\nREJECT\n"
        "PROPOSE: I get [2 books, 0 hats, 1 ball], you get [1 book, 2 hats, 0 balls]",
        (3, 2, 1),
        (R, (2, 0, 1)),
    ),
    (
        "Your offer: I get 1 book, you get 2 books, 2 hats and the ball. That is far too little for me. "
        "REJECT. PROPOSE: I get 2 books and the ball, you get 1 book and 2 hats.",
        (3, 2, 1),
        # "Your offer:" restates the other side's proposal; the speaker's move comes after it.
        (R, (2, 0, 1)),
    ),
    (
        "I'm not sure whether to accept or make a counter-offer yet. Let me think it over.",
        (3, 2, 1),
        U,
    ),
    # ---- more prose -------------------------------------------------------------------------------
    (
        "I will accept if you give me 2 hats and the ball.",
        (3, 2, 1),
        # A conditional acceptance accepts nothing: it proposes the split it names.
        (P, (0, 2, 1)),
    ),
    ("I accept your offer of 2 hats for me and 3 books plus the ball for you.", (3, 2, 1), (A, None)),
    ("Offer accepted.", (3, 2, 1), (A, None)),
    ("Accepting your offer.", (3, 2, 1), (A, None)),
    ("Yes, I agree to your proposal.", (3, 2, 1), (A, None)),
    ("OK, deal.", (3, 2, 1), (A, None)),
    ("I'm afraid I must decline. I get 3 books, you get 2 hats and 1 ball.", (3, 2, 1), (R, (3, 0, 0))),
    ("I'll give you 2 books and keep the rest.", (3, 2, 1), (P, (1, 2, 1))),
    (
        "I'd like 2 books and the ball. You can have the hats and the remaining book.",
        (3, 2, 1),
        (P, (2, 0, 1)),
    ),
    (
        "I get 2 books and the ball, you get the hats.",
        (3, 2, 1),
        # The leftover book is not mentioned: the speaker claims only what it names, so the book
        # goes to the other side (a referee would not void the offer over it).
        (P, (2, 0, 1)),
    ),
    ("I propose the following split:\n- Me: 2 books, 1 ball\n- You: 1 book, 2 hats", (3, 2, 1), (P, (2, 0, 1))),
    ("Counter-proposal: I get 3 books and you get 2 hats and 1 ball.", (3, 2, 1), (R, (3, 0, 0))),
    ("PROPOSE: I get [-1 books, 2 hats, 1 ball]", (3, 2, 1), invalid(P)),
    ("I get -1 books and both hats.", (3, 2, 1), invalid(P)),
    ("PROPOSE: I get [0 book(s), 2 hat(s), 1 ball(s)], you get [3 book(s), 0 hat(s), 0 ball(s)]", (3, 2, 1), (P, (0, 2, 1))),
    ("I propose: 2 books and 1 hat for me, 1 book, 1 hat and 1 ball for you.", (3, 2, 1), (P, (2, 1, 0))),
    ("How about 2 books for me and everything else for you?", (3, 2, 1), (P, (2, 0, 0))),
    ("For me: 2 books and 1 hat. For you: the rest.", (3, 2, 1), (P, (2, 1, 0))),
    (
        "PROPOSE: I get [X books, Y hats, Z balls], you get [A books, B hats, C balls]",
        (3, 2, 1),
        # The answer template echoed back without numbers.
        U,
    ),
    # ---- JSON ---------------------------------------------------------------------------------
    (
        '```json\n{"reasoning": "hats matter most", "action": "propose", '
        '"i_get": {"books": 0, "hats": 2, "balls": 1}, "you_get": {"books": 3, "hats": 0, "balls": 0}}\n```',
        (3, 2, 1),
        (P, (0, 2, 1)),
    ),
    (
        'Here is my move:\n{"reasoning": "8 of 10 is great", "action": "accept", '
        '"i_get": {"books": 0, "hats": 0, "balls": 0}, "you_get": {"books": 0, "hats": 0, "balls": 0}}\n'
        "Hope this works!",
        (3, 2, 1),
        (A, None),
    ),
    ('{"action": "PROPOSE", "i_get": [1, 1, 1], "you_get": [2, 1, 0]}', (3, 2, 1), (P, (1, 1, 1))),
    (
        '{"reasoning": "too low", "action": "reject", '
        '"i_get": {"books": 2, "hats": 1, "balls": 0}, "you_get": {"books": 1, "hats": 1, "balls": 1}}',
        (3, 2, 1),
        (R, (2, 1, 0)),
    ),
    ('{"reasoning": "no", "action": "reject"}', (3, 2, 1), invalid(R)),
    (
        '{"reasoning": "greedy", "action": "propose", '
        '"i_get": {"books": 5, "hats": 2, "balls": 1}, "you_get": {"books": 0, "hats": 0, "balls": 0}}',
        (3, 2, 1),
        invalid(P),
    ),
    ('{"reasoning": "hmm", "action": "maybe"}', (3, 2, 1), U),
    ("{'reasoning': 'fine by me', 'action': 'accept'}", (3, 2, 1), (A, None)),
    (
        "{'reasoning': 'hats', 'action': 'propose', 'i_get': {'books': 0, 'hats': 2, 'balls': 1}, "
        "'you_get': {'books': 3, 'hats': 0, 'balls': 0}}",
        (3, 2, 1),
        (P, (0, 2, 1)),
    ),
    (
        '{"reasoning": "x", "action": "counter", "i_get": {"books": 3, "hats": 0, "balls": 0}, '
        '"you_get": {"books": 0, "hats": 2, "balls": 1}}',
        (3, 2, 1),
        (R, (3, 0, 0)),
    ),
]
