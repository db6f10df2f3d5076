import unittest

from analyze import keywords, process, reading_level, sentiment
from text_tools import words

TEXT = "Whale whale ship ship ship sea sea the the."
DOC_FREQ = {"whale": 1, "ship": 4, "sea": 2}

# tf = count / 9 words; idf = ln(5 / (1 + df)) + 1 for 4 chapters:
# whale 2/9 * (ln(5/2) + 1) = 0.425842
# sea   2/9 * (ln(5/3) + 1) = 0.335739
# ship  3/9 * (ln(5/5) + 1) = 0.333333


class KeywordsTest(unittest.TestCase):
    def test_rare_terms_rank_first(self):
        expected = [
            {"term": "whale", "score": 0.425842},
            {"term": "sea", "score": 0.335739},
            {"term": "ship", "score": 0.333333},
        ]
        self.assertEqual(keywords(words(TEXT), DOC_FREQ, 4), expected)

    def test_without_doc_freq_is_term_frequency(self):
        expected = [
            {"term": "ship", "score": 0.333333},
            {"term": "sea", "score": 0.222222},
            {"term": "whale", "score": 0.222222},
        ]
        self.assertEqual(keywords(words(TEXT), {}, 4), expected)

    def test_single_occurrences_skipped(self):
        self.assertEqual(keywords(words("alpha beta gamma"), {}, 1), [])

    def test_top_limit(self):
        self.assertEqual(len(keywords(words(TEXT), DOC_FREQ, 4, top=2)), 2)


class SentimentTest(unittest.TestCase):
    def test_negation_flips(self):
        tokens = words("She was happy and not happy but never sad and very sad")
        self.assertEqual(sentiment(tokens), {"score": 0.0, "positive": 2, "negative": 2})

    def test_positive_leaning(self):
        self.assertEqual(sentiment(words("joy joy grief")), {"score": 0.3333, "positive": 2, "negative": 1})

    def test_no_lexicon_words(self):
        self.assertEqual(sentiment(words("the ship")), {"score": 0.0, "positive": 0, "negative": 0})


class ReadingLevelTest(unittest.TestCase):
    def test_simple_sentence(self):
        # 6 words, 1 sentence, 6 syllables.
        self.assertEqual(
            reading_level("The cat sat on the mat."),
            {"flesch_kincaid_grade": -1.45, "flesch_reading_ease": 116.15},
        )

    def test_long_words(self):
        # 3 words, 1 sentence, 9 syllables (beau-ti-ful, el-e-phants, re-mem-ber).
        self.assertEqual(
            reading_level("Beautiful elephants remember."),
            {"flesch_kincaid_grade": 20.98, "flesch_reading_ease": -50.01},
        )

    def test_empty_text(self):
        self.assertEqual(reading_level(""), {"flesch_kincaid_grade": None, "flesch_reading_ease": None})


class ProcessTest(unittest.TestCase):
    def test_result_without_text(self):
        payload = {
            "book": "b",
            "chapter": 2,
            "chapters": 4,
            "title": "Chapter 2",
            "words": 9,
            "text": TEXT,
            "doc_freq": DOC_FREQ,
            "summary": ["Whale whale ship ship ship sea sea the the."],
        }
        expected = {
            "book": "b",
            "chapter": 2,
            "chapters": 4,
            "title": "Chapter 2",
            "words": 9,
            "sentences": 1,
            "keywords": [
                {"term": "whale", "score": 0.425842},
                {"term": "sea", "score": 0.335739},
                {"term": "ship", "score": 0.333333},
            ],
            "sentiment": {"score": 0.0, "positive": 0, "negative": 0},
            # 9 words, 1 sentence, 9 syllables.
            "reading_level": {"flesch_kincaid_grade": -0.28, "flesch_reading_ease": 113.1},
            "summary": ["Whale whale ship ship ship sea sea the the."],
        }
        self.assertEqual(process(payload), expected)

    def test_no_summary_key_when_not_summarized(self):
        self.assertNotIn("summary", process({"text": TEXT}))

    def test_missing_text_rejected(self):
        with self.assertRaisesRegex(ValueError, r"\"text\" string, found list"):
            process([TEXT])


if __name__ == "__main__":
    unittest.main()
