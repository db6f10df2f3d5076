"""Actor "split": cut one whole book into one frame per chapter (fan-out).

Input payload, one of:
    {"book": "austen-emma", "text": "<whole file as a string>"}
    {"book": "austen-emma", "data": "<whole file, base64>"}
"data" is for files that may not be text: it is decoded as strict UTF-8,
so a binary upload fails here with a clear error and lands in x-sump.

Output: a generator with one payload per chapter, in book order:
    {"book": "austen-emma", "chapter": 1, "chapters": 55,
     "title": "Volume I, Chapter I", "words": 2630, "text": "...",
     "doc_freq": {"emma": 48, ...}}
"doc_freq" travels so that analyze can score keywords by TF-IDF against
the whole book. It contains the document frequency (chapters of this book that
contain the term) of this chapter's keyword candidates only, which are the
content words used at least twice in the chapter. That keeps each frame a
few kilobytes instead of shipping the book's whole vocabulary.

Project Gutenberg headers and footers (licence, "small print") are removed
first. Recognised headings, each alone on a line after a blank line:
"CHAPTER I", "Chapter 12", "CHAPTER IV. Title", "BOOK I", "Book II",
and a number word such as "ONE" followed by a story title on the next line.
"VOLUME I" (and "PART I") lines, and "BOOK" lines in a book that also has
chapter headings, prefix the titles of the chapters that follow. Text before
the first heading (title page, contents) is dropped. A text with no
recognised heading becomes one frame titled "Full text".
"""

import base64
import binascii
import collections
import re

from text_tools import content_words, words

__all__ = ["process", "strip_gutenberg", "find_chapters"]

_ROMAN = r"(?=[MDCLXVI])M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_CHAPTER = re.compile(r"^(?:CHAPTER|Chapter)\s+(" + _ROMAN + r"|\d+)\b\.?\s*(.{0,60})$")
_BOOK = re.compile(r"^(?:BOOK|Book)\s+(" + _ROMAN + r"|\d+)\.?$")
_VOLUME = re.compile(r"^(?:VOLUME|Volume|PART|Part)\s+(" + _ROMAN + r"|\d+|[A-Z]+)\.?$")

_UNITS = "ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE".split()
_TEENS = "TEN ELEVEN TWELVE THIRTEEN FOURTEEN FIFTEEN SIXTEEN SEVENTEEN EIGHTEEN NINETEEN".split()
_TENS = "TWENTY THIRTY FORTY FIFTY SIXTY SEVENTY EIGHTY NINETY".split()
_NUMBER_WORDS = frozenset(
    _UNITS + _TEENS + _TENS + [ten + "-" + unit for ten in _TENS for unit in _UNITS]
)

# The footer starts at the first of these lines; the header ends at the last
# header marker before it. Old etexts (1990s) only have the "small print"
# block, newer ones have the "*** START OF" and "*** END OF" lines.
_FOOTER = re.compile(
    r"^(?:\*\*\* ?END OF (?:THE|THIS) PROJECT GUTENBERG|End of (?:the )?Project Gutenberg)",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER = re.compile(
    r"^(?:\*\*\* ?START OF (?:THE|THIS) PROJECT GUTENBERG.*|\*END\*THE SMALL PRINT.*)$",
    re.IGNORECASE | re.MULTILINE,
)

_Heading = collections.namedtuple("_Heading", "line kind title skip")


def process(payload):
    """Yield one chapter payload per chapter of the book in payload.

    Raises ValueError when the payload is not an object with a "book" name
    and either a "text" string or base64 "data" that decodes to UTF-8 text,
    or when the text has no words.
    """
    book, text = _read_input(payload)
    chapters = find_chapters(strip_gutenberg(text))
    # Yielding nothing would end the input silently, so an empty book is an error.
    if not chapters:
        raise ValueError("input %r has no words after removing the Project Gutenberg header and footer" % book)
    doc_freq = collections.Counter()
    for _, body in chapters:
        doc_freq.update(set(content_words(body)))

    for index, (title, body) in enumerate(chapters):
        counts = collections.Counter(content_words(body))
        candidates = sorted(term for term, count in counts.items() if count >= 2)
        yield {
            "book": book,
            "chapter": index + 1,
            "chapters": len(chapters),
            "title": title,
            "words": len(words(body)),
            "text": body,
            "doc_freq": {term: doc_freq[term] for term in candidates},
        }


def strip_gutenberg(text):
    """Return text without the Project Gutenberg header and footer.

    Text without the markers is returned unchanged except for line endings
    (CRLF becomes LF) and DOS end-of-file characters, which are removed.
    """
    text = text.replace("\r\n", "\n").replace("\x1a", "")
    footer = _FOOTER.search(text)
    if footer:
        text = text[: footer.start()]
    headers = list(_HEADER.finditer(text))
    if headers:
        text = text[headers[-1].end():]
    return text.strip("\n")


def find_chapters(text):
    """Split a book body into a list of (title, chapter text) pairs.

    Chapters with no words (a heading directly followed by another) are
    dropped. Returns one ("Full text", text) pair when no heading is found,
    and an empty list for a text without words.
    """
    lines = text.split("\n")
    headings = _find_headings(lines)
    has_chapters = any(heading.kind == "chapter" for heading in headings)
    if not any(_starts_chapter(heading, has_chapters) for heading in headings):
        return [("Full text", text.strip())] if words(text) else []

    chapters = []
    prefix = ""
    current_title = None
    start = 0
    for heading in headings + [_Heading(len(lines), "end", "", 0)]:
        if current_title is not None:
            body = "\n".join(lines[start:heading.line]).strip()
            if words(body):
                chapters.append((current_title, body))
            current_title = None
        if heading.kind == "end":
            break
        if _starts_chapter(heading, has_chapters):
            current_title = prefix + heading.title
            start = heading.line + 1 + heading.skip
        else:
            prefix = heading.title + ", "
    return chapters


def _starts_chapter(heading, has_chapters):
    if heading.kind == "volume":
        return False
    return heading.kind != "book" or not has_chapters


def _find_headings(lines):
    headings = []
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line or (index > 0 and lines[index - 1].strip()):
            continue
        heading = _match_heading(line, lines, index)
        if heading:
            headings.append(heading)
    return headings


def _match_heading(line, lines, index):
    match = _CHAPTER.match(line)
    if match:
        title = "Chapter " + match.group(1)
        subtitle = match.group(2).strip(" .")
        return _Heading(index, "chapter", title + (": " + subtitle if subtitle else ""), 0)
    match = _BOOK.match(line)
    if match:
        return _Heading(index, "book", "Book " + match.group(1), 0)
    match = _VOLUME.match(line)
    if match and (match.group(1).upper() in _NUMBER_WORDS or re.match(r"^[IVXLCDM\d]+$", match.group(1))):
        return _Heading(index, "volume", line.split()[0].capitalize() + " " + match.group(1), 0)
    if line in _NUMBER_WORDS:
        # Story collections print the number word alone, then the title.
        title, skip = _next_title(lines, index)
        if title:
            return _Heading(index, "chapter", title, skip)
    return None


def _next_title(lines, index):
    for offset in range(1, 4):
        if index + offset >= len(lines):
            return None, 0
        candidate = lines[index + offset].strip()
        if candidate:
            if len(candidate) <= 80 and not candidate.endswith((".", ",", ";")):
                return candidate, offset
            return None, 0
    return None, 0


def _read_input(payload):
    if not isinstance(payload, dict):
        raise ValueError(
            "split expects an object payload {\"book\": name, \"text\": string}, found "
            + type(payload).__name__
        )
    book = payload.get("book")
    if not isinstance(book, str) or not book:
        raise ValueError("split expects payload.book to be a non-empty string, found " + repr(book)[:60])
    if isinstance(payload.get("text"), str):
        return book, payload["text"]
    if isinstance(payload.get("data"), str):
        try:
            raw = base64.b64decode(payload["data"], validate=True)
        except binascii.Error as error:
            raise ValueError("input %r: payload.data is not valid base64 (%s)" % (book, error)) from error
        try:
            return book, raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                "input %r is not UTF-8 text: byte 0x%02x at offset %d is invalid (%s)"
                % (book, raw[error.start], error.start, error.reason)
            ) from error
    raise ValueError(
        "input %r has no text: expected payload.text (string) or payload.data (base64), found keys %s"
        % (book, sorted(payload))
    )
