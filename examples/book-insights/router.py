"""Actor "router" (envelope mode): send long chapters through "summarize".

The handler receives the whole envelope and returns it. A chapter whose
payload "words" count is above the threshold gets "summarize" inserted at
the front of route.next. A shorter one keeps its route and goes straight on
to the next actor (usually "analyze"). Only route.next changes: the runtime
rejects a handler that rewrites route.prev or route.curr.

Environment:
    BOOK_INSIGHTS_LONG_CHAPTER_WORDS  word count above which a chapter is
                                      summarized (default 4000)
"""

import os

__all__ = ["DEFAULT_LONG_CHAPTER_WORDS", "SUMMARIZE_ACTOR", "long_chapter_words", "process"]

DEFAULT_LONG_CHAPTER_WORDS = 4000
SUMMARIZE_ACTOR = "summarize"


def long_chapter_words():
    """Return the threshold from BOOK_INSIGHTS_LONG_CHAPTER_WORDS, default 4000.

    Raises ValueError when the variable is set but is not a positive integer.
    """
    raw = os.environ.get("BOOK_INSIGHTS_LONG_CHAPTER_WORDS", "")
    if raw == "":
        return DEFAULT_LONG_CHAPTER_WORDS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(
            "BOOK_INSIGHTS_LONG_CHAPTER_WORDS must be a positive integer, found %r" % raw
        )
    return int(raw)


def process(envelope):
    """Return the envelope, with "summarize" prepended to route.next for long chapters.

    Raises ValueError when the envelope has no route.next list or the
    payload has no integer "words" count.
    """
    route = envelope.get("route") if isinstance(envelope, dict) else None
    if not isinstance(route, dict) or not isinstance(route.get("next"), list):
        raise ValueError("router expects an envelope with a route.next list, found %r" % (route,))
    payload = envelope.get("payload")
    words = payload.get("words") if isinstance(payload, dict) else None
    if not isinstance(words, int) or isinstance(words, bool):
        raise ValueError("router expects payload.words to be an integer, found %r" % (words,))

    # A sender may have put the step in the route already; run it once.
    if words > long_chapter_words() and route["next"][:1] != [SUMMARIZE_ACTOR]:
        route["next"] = [SUMMARIZE_ACTOR] + route["next"]
    return envelope
