"""Text helpers shared by the book-insights handlers (stdlib only).

Tokens are lower-case ASCII words with inner apostrophes kept ("don't").
Sentences are split on terminal punctuation followed by a capital letter,
except after common titles such as "Mr." or "Dr.".
"""

import re

__all__ = [
    "STOPWORDS",
    "content_words",
    "is_content_word",
    "count_syllables",
    "split_sentences",
    "words",
]

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]_]*\s+(?=[\"'(\[_]*[A-Z0-9])")
_WHITESPACE = re.compile(r"\s+")
_TITLES = ("mr.", "mrs.", "ms.", "dr.", "st.", "col.", "capt.", "rev.", "messrs.")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")

# Function words carry no topic, so keyword scoring and summaries skip them.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be
    because been before being below between both but by can could did do
    does doing down during each either else ever every few for from further
    had has have having he her here hers herself him himself his how i if in
    into is it its itself just let like may me might more most much must my
    myself neither no nor not now of off on once one only or other ought our
    ours ourselves out over own said same say says shall she should so some
    such than that the their theirs them themselves then there these they
    this those though through thus till to too under until unto up upon us
    very was we were what when where whether which while who whom whose why
    will with within without would yet you your yours yourself yourselves
    thee thou thy thine ye hath doth art o oh s t don't i'm it's he's she's
    that's there's can't won't didn't wasn't couldn't wouldn't i'll i've
    i'd you'd you're we're they're isn't aren't hadn't haven't
    """.split()
)


def words(text):
    """Return the lower-case word tokens of text, in order."""
    return _WORD.findall(text.lower())


def is_content_word(word):
    """Return whether a token has 3+ letters and is not a stopword."""
    return len(word) >= 3 and word not in STOPWORDS


def content_words(text):
    """Return the word tokens of text that are content words, in order."""
    return [word for word in words(text) if is_content_word(word)]


def split_sentences(text):
    """Split text into sentences with whitespace collapsed to single spaces."""
    flat = _WHITESPACE.sub(" ", text).strip()
    if not flat:
        return []
    pieces = _SENTENCE_END.split(flat)
    sentences = []
    for piece in pieces:
        # "Mr. Knightley" ends in a period followed by a capital, but it is
        # one sentence, so a piece ending in a title joins the next one.
        if sentences and sentences[-1].lower().endswith(_TITLES):
            sentences[-1] = sentences[-1] + " " + piece
        else:
            sentences.append(piece)
    return sentences


def count_syllables(word):
    """Estimate the syllables of one word by counting vowel groups.

    A final silent "e" is dropped ("made" has one), but not in "-le" endings
    after a consonant ("table" has two). Every word has at least one.
    """
    word = word.lower().replace("'", "")
    count = len(_VOWEL_GROUP.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    elif word.endswith("le") and len(word) > 2 and word[-3] in "aeiouy" and count > 1:
        count -= 1
    return max(1, count)
