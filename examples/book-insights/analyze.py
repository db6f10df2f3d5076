"""Actor "analyze": keywords, sentiment and reading level of one chapter.

Input: a chapter payload as produced by split (and maybe summarize):
"book", "chapter", "chapters", "title", "words", "text", optional
"doc_freq" and "summary".

Output: a compact result without the chapter text:
    {"book", "chapter", "chapters", "title", "words", "sentences",
     "keywords": [{"term": "emma", "score": 0.0123}, ...],
     "sentiment": {"score", "positive", "negative"},
     "reading_level": {"flesch_kincaid_grade", "flesch_reading_ease"},
     "summary": [...]}          # only when summarize ran

Keywords: TF-IDF over the chapter's content words that occur at least twice.
tf = count / words in the chapter; idf = ln((1 + chapters) / (1 + df)) + 1,
with df taken from "doc_freq" (chapters of the book containing the term). A
term missing from doc_freq counts as present in every chapter, so without
doc_freq the ranking is plain term frequency.

Sentiment: words from the small lexicon below; a word right after a negation
("not", "never", ...) counts for the other side. score = (positive -
negative) / (positive + negative), in [-1, 1], and 0.0 when no lexicon
word occurs. A lexicon this small only suggests a tone, because it ignores
irony, archaic senses and context.

Reading level: Flesch-Kincaid grade = 0.39 * words/sentences + 11.8 *
syllables/words - 15.59, and Flesch reading ease = 206.835 - 1.015 *
words/sentences - 84.6 * syllables/words, with syllables estimated by
counting vowel groups.
"""

import collections
import math

from text_tools import count_syllables, is_content_word, split_sentences, words

__all__ = ["NEGATIVE_WORDS", "POSITIVE_WORDS", "keywords", "process", "reading_level", "sentiment"]

TOP_KEYWORDS = 10

POSITIVE_WORDS = frozenset(
    """
    admire admiration affection agreeable amiable amuse amused beautiful
    beauty beloved best bless blessed blessing bliss bright calm charming
    cheerful comfort comfortable content delight delighted delightful eager
    elegant enjoy enjoyment excellent fair faithful favour favourite fine
    fond fortunate free friend friendly generous gentle glad glorious glory
    good grace graceful grateful gratitude happiness happy harmony heaven
    honest honour hope hopeful joy joyful kind kindness laugh love loved
    lovely loving merry mild nice noble peace pleasant please pleased
    pleasure praise pretty proud pure rejoice relief respect rich safe
    satisfied smile smiling sweet tender thank thankful triumph true trust
    warm welcome well wisdom wise wonderful worthy
    """.split()
)

NEGATIVE_WORDS = frozenset(
    """
    afraid agony alarm alarmed anger angry anxiety anxious ashamed awful bad
    bitter blame cold complain contempt cruel cry danger dark dead death
    despair dislike distress doubt dread evil fail fault fear fearful foolish
    grief grieve guilt guilty harm hate hatred hell horrible horror hurt ill
    impatient injury jealous lonely lose loss lost melancholy misery
    miserable mistake misfortune mourn pain painful poor regret sad sadness
    scorn shame shock sick sin sorrow sorry suffer suffering suspicion
    terrible terror trouble uneasy unhappy unkind unpleasant vex vexed war
    weak weary wicked woe worry worse worst wound wretched wrong
    """.split()
)

NEGATIONS = frozenset("not no never nor neither without hardly cannot".split())


def process(payload):
    """Return the analysis of one chapter payload.

    Raises ValueError when payload is not an object with a "text" string.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise ValueError("analyze expects a payload object with a \"text\" string, found %s" % (found,))
    text = payload["text"]
    chapters = payload.get("chapters") if isinstance(payload.get("chapters"), int) else 1
    doc_freq = payload.get("doc_freq") if isinstance(payload.get("doc_freq"), dict) else {}
    tokens = words(text)

    result = {
        "book": payload.get("book"),
        "chapter": payload.get("chapter"),
        "chapters": payload.get("chapters"),
        "title": payload.get("title"),
        "words": len(tokens),
        "sentences": len(split_sentences(text)),
        "keywords": keywords(tokens, doc_freq, chapters),
        "sentiment": sentiment(tokens),
        "reading_level": reading_level(text),
    }
    if "summary" in payload:
        result["summary"] = payload["summary"]
    return result


def keywords(tokens, doc_freq, chapters, top=TOP_KEYWORDS):
    """Return the top TF-IDF terms as [{"term", "score"}], best first.

    Ties are broken alphabetically so the output is deterministic. Scores
    are rounded to 6 decimal places.
    """
    if not tokens:
        return []
    counts = collections.Counter(token for token in tokens if is_content_word(token))
    scored = []
    for term, count in counts.items():
        if count < 2:
            continue
        df = doc_freq.get(term, chapters)
        idf = math.log((1 + chapters) / (1 + df)) + 1
        scored.append((count / len(tokens) * idf, term))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [{"term": term, "score": round(score, 6)} for score, term in scored[:top]]


def sentiment(tokens):
    """Return {"score", "positive", "negative"} from the lexicon counts."""
    positive = negative = 0
    for index, token in enumerate(tokens):
        if token in POSITIVE_WORDS:
            polarity = 1
        elif token in NEGATIVE_WORDS:
            polarity = -1
        else:
            continue
        if index > 0 and tokens[index - 1] in NEGATIONS:
            polarity = -polarity
        if polarity > 0:
            positive += 1
        else:
            negative += 1
    total = positive + negative
    score = round((positive - negative) / total, 4) if total else 0.0
    return {"score": score, "positive": positive, "negative": negative}


def reading_level(text):
    """Return Flesch-Kincaid grade and Flesch reading ease, rounded to 2 places.

    Both are None for a text without words.
    """
    tokens = words(text)
    if not tokens:
        return {"flesch_kincaid_grade": None, "flesch_reading_ease": None}
    sentences = max(1, len(split_sentences(text)))
    syllables = sum(count_syllables(token) for token in tokens)
    words_per_sentence = len(tokens) / sentences
    syllables_per_word = syllables / len(tokens)
    return {
        "flesch_kincaid_grade": round(0.39 * words_per_sentence + 11.8 * syllables_per_word - 15.59, 2),
        "flesch_reading_ease": round(206.835 - 1.015 * words_per_sentence - 84.6 * syllables_per_word, 2),
    }
