"""Actor "summarize": extractive summary of one chapter.

Each sentence is scored by the frequencies of its content words (words that
are not stopwords), each frequency divided by that of the chapter's most
frequent content word, averaged over the sentence's content words. The best
sentences are returned in the order they appear in the chapter. Sentences
shorter than 6 or longer than 60 words are not candidates: fragments score
noisily and long periods make poor summaries.

Input: a chapter payload with "text" (as produced by split).
Output: the same payload with "summary", a list of sentences, added.

Environment:
    BOOK_INSIGHTS_SUMMARY_SENTENCES  sentences per summary (default 3)
"""

import collections
import os

from text_tools import content_words, split_sentences, words

__all__ = ["process", "summarize"]

DEFAULT_SUMMARY_SENTENCES = 3
MIN_SENTENCE_WORDS = 6
MAX_SENTENCE_WORDS = 60


def process(payload):
    """Return payload with a "summary" list added.

    Raises ValueError when payload is not an object with a "text" string,
    or when BOOK_INSIGHTS_SUMMARY_SENTENCES is not a positive integer.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise ValueError("summarize expects a payload object with a \"text\" string, found %s" % (found,))
    result = dict(payload)
    result["summary"] = summarize(payload["text"], _summary_sentences())
    return result


def summarize(text, count):
    """Return up to count highest-scoring sentences of text, in text order."""
    frequencies = collections.Counter(content_words(text))
    if not frequencies:
        return []
    top = max(frequencies.values())

    scored = []
    for position, sentence in enumerate(split_sentences(text)):
        if not MIN_SENTENCE_WORDS <= len(words(sentence)) <= MAX_SENTENCE_WORDS:
            continue
        terms = content_words(sentence)
        if not terms:
            continue
        score = sum(frequencies[term] for term in terms) / (top * len(terms))
        scored.append((score, position, sentence))

    # Ties keep the earlier sentence, so the result is deterministic.
    best = sorted(scored, key=lambda item: (-item[0], item[1]))[:count]
    return [sentence for _, _, sentence in sorted(best, key=lambda item: item[1])]


def _summary_sentences():
    raw = os.environ.get("BOOK_INSIGHTS_SUMMARY_SENTENCES", "")
    if raw == "":
        return DEFAULT_SUMMARY_SENTENCES
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError("BOOK_INSIGHTS_SUMMARY_SENTENCES must be a positive integer, found %r" % raw)
    return int(raw)
