import base64
import os
import unittest

from split import process

DATA_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "data")

TINY_BOOK = """The Project Gutenberg Etext of Tiny, by Nobody
Licence text that must not reach any chapter.
*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*

TINY BOOK

CHAPTER I

Apple pear apple. Pear plum.

CHAPTER II

Apple apple fig.

End of The Project Gutenberg Etext of Tiny
More licence text.
"""


def run(text, book="tiny"):
    return list(process({"book": book, "text": text}))


def titles(text):
    return [frame["title"] for frame in run(text)]


class SplitTinyBookTest(unittest.TestCase):
    def test_one_frame_per_chapter(self):
        expected = [
            {
                "book": "tiny",
                "chapter": 1,
                "chapters": 2,
                "title": "Chapter I",
                "words": 5,
                "text": "Apple pear apple. Pear plum.",
                "doc_freq": {"apple": 2, "pear": 1},
            },
            {
                "book": "tiny",
                "chapter": 2,
                "chapters": 2,
                "title": "Chapter II",
                "words": 3,
                "text": "Apple apple fig.",
                "doc_freq": {"apple": 2},
            },
        ]
        self.assertEqual(run(TINY_BOOK), expected)

    def test_crlf_line_endings(self):
        self.assertEqual(run(TINY_BOOK.replace("\n", "\r\n")), run(TINY_BOOK))

    def test_base64_data_input(self):
        data = base64.b64encode(TINY_BOOK.encode("utf-8")).decode("ascii")
        self.assertEqual(list(process({"book": "tiny", "data": data})), run(TINY_BOOK))

    def test_new_style_start_and_end_markers(self):
        text = (
            "Header\n*** START OF THE PROJECT GUTENBERG EBOOK TINY ***\n\n"
            "Chapter 1\n\nOne two.\n\nChapter 2\n\nThree four.\n\n"
            "*** END OF THE PROJECT GUTENBERG EBOOK TINY ***\nFooter\n"
        )
        frames = run(text)
        self.assertEqual([frame["text"] for frame in frames], ["One two.", "Three four."])
        self.assertEqual([frame["title"] for frame in frames], ["Chapter 1", "Chapter 2"])


class SplitHeadingFormsTest(unittest.TestCase):
    def test_chapter_with_subtitle(self):
        self.assertEqual(titles("CHAPTER IV. The Ball\n\nText here."), ["Chapter IV: The Ball"])

    def test_book_headings(self):
        text = "Title page\n\nBook I \n\nOf Man's first disobedience.\n\nBook II\n\nHigh on a throne."
        self.assertEqual(titles(text), ["Book I", "Book II"])

    def test_number_word_and_story_title(self):
        text = "CONTENTS\n\n1. First Story\n\n     ONE\n\n  First Story\n\nIt began.\n\n     TWO\n\n  Second Story\n\nIt ended."
        frames = run(text)
        self.assertEqual([frame["title"] for frame in frames], ["First Story", "Second Story"])
        self.assertEqual([frame["text"] for frame in frames], ["It began.", "It ended."])

    def test_volume_prefixes_chapters(self):
        text = "VOLUME I\n\nCHAPTER I\n\nA.\n\nVOLUME II\n\nCHAPTER I\n\nB."
        self.assertEqual(titles(text), ["Volume I, Chapter I", "Volume II, Chapter I"])

    def test_book_prefixes_when_chapters_exist(self):
        text = "BOOK I\n\nCHAPTER I\n\nA.\n\nCHAPTER II\n\nB.\n\nBOOK II\n\nCHAPTER I\n\nC."
        self.assertEqual(
            titles(text), ["Book I, Chapter I", "Book I, Chapter II", "Book II, Chapter I"]
        )

    def test_heading_inside_paragraph_ignored(self):
        text = "CHAPTER I\n\nShe read on, and\nChapter 2\nwas dull.\n\nCHAPTER II\n\nEnd."
        self.assertEqual(titles(text), ["Chapter I", "Chapter II"])

    def test_lowercase_chapter_ignored(self):
        self.assertEqual(titles("chapter 1\n\nplain words"), ["Full text"])

    def test_no_headings_one_frame(self):
        frames = run("Just some words.\n\nAnd more words.")
        self.assertEqual(len(frames), 1)
        self.assertEqual(frames[0]["title"], "Full text")
        self.assertEqual(frames[0]["chapters"], 1)
        self.assertEqual(frames[0]["words"], 6)

    def test_empty_chapter_dropped(self):
        self.assertEqual(titles("CHAPTER I\n\nCHAPTER II\n\nWords."), ["Chapter II"])

    def test_text_without_words_rejected(self):
        with self.assertRaisesRegex(ValueError, "input 'tiny' has no words"):
            run("\n\n  \n")


class SplitBadInputTest(unittest.TestCase):
    def assert_rejected(self, payload, pattern):
        with self.assertRaisesRegex(ValueError, pattern):
            list(process(payload))

    def test_payload_not_object(self):
        self.assert_rejected("a book", "object payload .* found str")

    def test_missing_book_name(self):
        self.assert_rejected({"text": "words"}, "payload.book to be a non-empty string, found None")

    def test_missing_text(self):
        self.assert_rejected({"book": "b", "pages": []}, r"input 'b' has no text: .* found keys \['book', 'pages'\]")

    def test_invalid_base64(self):
        self.assert_rejected({"book": "b", "data": "not base64!"}, "input 'b': payload.data is not valid base64")

    def test_binary_file_not_text(self):
        with open(os.path.join(DATA_DIR, "not-a-book.gz"), "rb") as handle:
            data = base64.b64encode(handle.read()).decode("ascii")
        self.assert_rejected(
            {"book": "not-a-book.gz", "data": data},
            r"input 'not-a-book.gz' is not UTF-8 text: byte 0x8b at offset 1 is invalid",
        )


class SplitRealBooksTest(unittest.TestCase):
    # Counted by hand from each book's table of contents or headings.
    EXPECTED = {
        "austen-emma": (55, "Volume I, Chapter I", "Volume III, Chapter XIX"),
        "austen-persuasion": (24, "Chapter 1", "Chapter 24"),
        "austen-sense": (50, "Chapter 1", "Chapter 50"),
        "chesterton-brown": (12, "The Absence of Mr Glass", "The Fairy Tale of Father Brown"),
        "milton-paradise": (12, "Book I", "Book XII"),
    }

    def test_chapter_counts_and_titles(self):
        for book, (count, first, last) in self.EXPECTED.items():
            with self.subTest(book=book):
                with open(os.path.join(DATA_DIR, book + ".txt"), encoding="utf-8") as handle:
                    frames = run(handle.read(), book)
                self.assertEqual(len(frames), count)
                self.assertEqual(frames[0]["title"], first)
                self.assertEqual(frames[-1]["title"], last)
                self.assertEqual([frame["chapter"] for frame in frames], list(range(1, count + 1)))
                for frame in frames:
                    self.assertNotIn("Project Gutenberg", frame["text"])
                    self.assertNotIn("SMALL PRINT", frame["text"].upper())


if __name__ == "__main__":
    unittest.main()
