import os
import unittest
from unittest import mock

from router import process


def envelope(words, next_actors=("analyze",)):
    return {
        "id": "book-1",
        "route": {"prev": ["split"], "curr": "router", "next": list(next_actors)},
        "headers": {},
        "payload": {"book": "b", "chapter": 1, "words": words, "text": "..."},
    }


@mock.patch.dict(os.environ, {}, clear=False)
class RouterTest(unittest.TestCase):
    def setUp(self):
        os.environ.pop("BOOK_INSIGHTS_LONG_CHAPTER_WORDS", None)

    def test_long_chapter_summarized(self):
        expected = envelope(4001, ["summarize", "analyze"])
        self.assertEqual(process(envelope(4001)), expected)

    def test_short_chapter_unchanged(self):
        self.assertEqual(process(envelope(120)), envelope(120))

    def test_threshold_itself_is_short(self):
        self.assertEqual(process(envelope(4000)), envelope(4000))

    def test_summarize_added_once(self):
        given = envelope(5000, ["summarize", "analyze"])
        self.assertEqual(process(given)["route"]["next"], ["summarize", "analyze"])

    def test_prev_and_curr_untouched(self):
        result = process(envelope(9000))
        self.assertEqual(result["route"]["prev"], ["split"])
        self.assertEqual(result["route"]["curr"], "router")

    def test_threshold_from_environment(self):
        os.environ["BOOK_INSIGHTS_LONG_CHAPTER_WORDS"] = "100"
        self.assertEqual(process(envelope(101))["route"]["next"], ["summarize", "analyze"])

    def test_bad_threshold_rejected(self):
        os.environ["BOOK_INSIGHTS_LONG_CHAPTER_WORDS"] = "lots"
        with self.assertRaisesRegex(ValueError, "must be a positive integer, found 'lots'"):
            process(envelope(10))

    def test_missing_words_rejected(self):
        given = envelope(10)
        del given["payload"]["words"]
        with self.assertRaisesRegex(ValueError, "payload.words to be an integer, found None"):
            process(given)

    def test_missing_route_rejected(self):
        with self.assertRaisesRegex(ValueError, "route.next list"):
            process({"id": "x", "payload": {"words": 1}})


if __name__ == "__main__":
    unittest.main()
