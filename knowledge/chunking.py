"""Splitting a document into passages small enough to match one question and to be read aloud."""

import re
from dataclasses import dataclass

# About a spoken paragraph; short enough that one passage answers one thing.
MAX_PASSAGE_CHARS = 700
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    heading: str
    text: str


def split_document(body: str) -> list[Chunk]:
    """Sections start at lines beginning with "## "; paragraphs of a section are packed up to the size limit."""
    chunks: list[Chunk] = []
    for heading, paragraphs in _sections(body):
        for text in _pack(paragraphs):
            chunks.append(Chunk(heading=heading, text=text))
    return chunks


def _sections(body: str):
    heading, paragraphs, lines = "", [], []
    for raw in body.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if line.startswith("#"):
            paragraphs.extend(_flush(lines))
            if paragraphs:
                yield heading, paragraphs
            heading, paragraphs = line.lstrip("#").strip(), []
        elif not line:
            paragraphs.extend(_flush(lines))
        else:
            lines.append(line)
    paragraphs.extend(_flush(lines))
    if paragraphs:
        yield heading, paragraphs


def _flush(lines: list[str]) -> list[str]:
    paragraph = " ".join(lines)
    lines.clear()
    return [paragraph] if paragraph else []


def _pack(paragraphs: list[str]) -> list[str]:
    pieces = [piece for paragraph in paragraphs for piece in _fit(paragraph)]
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1]) + 1 + len(piece) <= MAX_PASSAGE_CHARS:
            packed[-1] = f"{packed[-1]}\n{piece}"
        else:
            packed.append(piece)
    return packed


def _fit(paragraph: str) -> list[str]:
    """A paragraph longer than the limit, cut between sentences (or hard, for a sentence that never ends)."""
    if len(paragraph) <= MAX_PASSAGE_CHARS:
        return [paragraph]
    out, current = [], ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > MAX_PASSAGE_CHARS:
            head, sentence = sentence[:MAX_PASSAGE_CHARS], sentence[MAX_PASSAGE_CHARS:]
            if current:
                out.append(current)
                current = ""
            out.append(head)
        if current and len(current) + 1 + len(sentence) > MAX_PASSAGE_CHARS:
            out.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        out.append(current)
    return out
