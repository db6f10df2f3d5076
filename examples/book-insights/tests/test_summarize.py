import os
import unittest
from unittest import mock

from summarize import process, summarize

S1 = "Cats chase mice."
S2 = "The cat watched the mouse in the quiet garden."
S3 = "The cat and the other cat caught the mouse near the garden wall."
S4 = "Rain fell on the roof of an empty house."
S5 = "A cat sat."
TEXT = " ".join([S1, S2, S3, S4 + "\n\n" + S5])

# Content-word frequencies: cat 4, mouse 2, garden 2, every other word 1.
# Scores (sum of frequency / 4, averaged over content words):
# S2 = 10/20 = 0.5, S3 = 15/28 = 0.536, S4 = 5/20 = 0.25.
# S1 and S5 have fewer than 6 words, so they are never picked.


class SummarizeTest(unittest.TestCase):
    def test_best_sentence(self):
        self.assertEqual(summarize(TEXT, 1), [S3])

    def test_keeps_text_order(self):
        self.assertEqual(summarize(TEXT, 2), [S2, S3])

    def test_short_sentences_never_chosen(self):
        self.assertEqual(summarize(TEXT, 10), [S2, S3, S4])

    def test_empty_text(self):
        self.assertEqual(summarize("", 3), [])

    @mock.patch.dict(os.environ, {"BOOK_INSIGHTS_SUMMARY_SENTENCES": "2"})
    def test_process_adds_summary(self):
        payload = {"book": "b", "chapter": 3, "words": 45, "text": TEXT}
        expected = {"book": "b", "chapter": 3, "words": 45, "text": TEXT, "summary": [S2, S3]}
        self.assertEqual(process(payload), expected)

    def test_process_does_not_mutate_input(self):
        payload = {"text": TEXT}
        process(payload)
        self.assertEqual(payload, {"text": TEXT})

    def test_missing_text_rejected(self):
        with self.assertRaisesRegex(ValueError, r"\"text\" string, found \['book'\]"):
            process({"book": "b"})

    @mock.patch.dict(os.environ, {"BOOK_INSIGHTS_SUMMARY_SENTENCES": "0"})
    def test_bad_sentence_count_rejected(self):
        with self.assertRaisesRegex(ValueError, "must be a positive integer, found '0'"):
            process({"text": TEXT})


if __name__ == "__main__":
    unittest.main()
