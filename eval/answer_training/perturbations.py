"""Negatives: a training question or its answer sentence with one detail changed, so that the sentence no
longer answers the question; how SQuAD 2.0's crowdworkers wrote their unanswerables."""

from __future__ import annotations

import random
import re

from rag.text_analysis import terms

_CAPS = re.compile(r"\b[A-Z][\w'’&.-]*(?:\s+(?:of|the|de|and)?\s*[A-Z][\w'’&.-]*)*")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_YEAR = re.compile(r"\b(?:1[0-9]|20)\d\d\b")
_AUX = re.compile(r"\b(did|does|do|is|was|were|are|can|could|has|have|had|would|will|should|might)\b", re.I)
_QWORDS = {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "in",
    "on",
    "at",
    "the",
    "a",
    "after",
    "before",
    "during",
    "for",
    "from",
    "according",
    "along",
    "by",
    "as",
    "to",
    "of",
}


def _both_ways(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """An antonym table that maps each word of a pair to the other."""
    return {w: v for a, b in pairs for w, v in ((a, b), (b, a))}


ANTONYMS = _both_ways(
    [
        ("first", "last"),
        ("largest", "smallest"),
        ("most", "least"),
        ("before", "after"),
        ("increase", "decrease"),
        ("north", "south"),
        ("east", "west"),
        ("early", "late"),
        ("earliest", "latest"),
        ("highest", "lowest"),
        ("more", "less"),
        ("won", "lost"),
        ("win", "lose"),
        ("start", "end"),
        ("began", "ended"),
        ("older", "younger"),
        ("oldest", "youngest"),
        ("longest", "shortest"),
        ("best", "worst"),
        ("major", "minor"),
        ("maximum", "minimum"),
        ("rise", "fall"),
        ("above", "below"),
        ("inside", "outside"),
        ("public", "private"),
        ("positive", "negative"),
        ("accepted", "rejected"),
        ("allowed", "banned"),
        ("success", "failure"),
        ("same", "different"),
        ("larger", "smaller"),
        ("higher", "lower"),
        ("northern", "southern"),
        ("eastern", "western"),
        ("strongest", "weakest"),
        ("biggest", "smallest"),
        ("increased", "decreased"),
        ("open", "closed"),
        ("internal", "external"),
        ("ancient", "modern"),
        ("male", "female"),
        ("minimum", "maximum"),
        ("upper", "lower"),
        ("supported", "opposed"),
        ("created", "destroyed"),
        ("gained", "lost"),
        ("cheapest", "most expensive"),
    ]
)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _word_in(needle: str, hay: str) -> bool:
    """`needle` occurs in `hay` as a whole word (no regex: this runs millions of times)."""
    if not needle:
        return False
    i = hay.find(needle)
    while i >= 0:
        j = i + len(needle)
        if (i == 0 or not _is_word_char(hay[i - 1])) and (j >= len(hay) or not _is_word_char(hay[j])):
            return True
        i = hay.find(needle, i + 1)
    return False


def lower_in(needle: str, hay: str) -> bool:
    """`needle` occurs in `hay` as a whole word, case aside."""
    return _word_in(needle.lower(), hay.lower())


def replace_once(text: str, old: str, new: str) -> str:
    """`text` with its first whole-word `old` replaced by `new`."""
    return re.sub(r"(?<!\w)" + re.escape(old) + r"(?!\w)", lambda _: new, text, count=1)


def _plain_word(word: str, source: str) -> bool:
    """A capitalised word that is only capitalised because it starts a sentence ("Their", "Two")."""
    if " " in word:
        return False
    low = word.lower()
    return low in _QWORDS or not terms(word) or _word_in(low, source)


def swap_entity(q: str, s: str, para: str, article_text: str, rng: random.Random) -> str | None:
    """A name or number the answer sentence shares with the question, swapped for another of its kind."""
    found = []
    for m in _CAPS.finditer(q):
        span = m.group(0)
        if m.start() == 0 and span.split()[0].lower() in _QWORDS:
            rest = span.split(None, 1)
            if len(rest) < 2:
                continue
            span = rest[1]
        if lower_in(span, s):
            found.append(("cap", span))
    found += [("num", m.group(0)) for m in _NUMBER.finditer(q) if lower_in(m.group(0), s)]
    if not found:
        return None
    kind, old = rng.choice(found)
    for source in (para, article_text):
        pattern = _NUMBER if kind == "num" else _CAPS
        pool = sorted(
            {
                m.group(0)
                for m in pattern.finditer(source)
                if (kind == "num" or not _plain_word(m.group(0), source))
                and not lower_in(m.group(0), s)
                and not lower_in(m.group(0), q)
                and m.group(0).lower() not in _QWORDS
                and len(m.group(0)) > 1
            }
        )
        if kind == "num" and _YEAR.fullmatch(old):
            pool = [p for p in pool if _YEAR.fullmatch(p)] or pool
        if pool:
            return replace_once(q, old, rng.choice(pool))
    return None


def shared_key_words(q: str, s: str) -> list[str]:
    """The question's lower-case content words (4+ letters) that the sentence holds, in order, repeats kept."""
    return [w for w in re.findall(r"\b[a-z][a-z-]{3,}\b", q) if w not in _QWORDS and terms(w) and lower_in(w, s)]


def swap_word(q: str, s: str, para: str, rng: random.Random) -> str | None:
    """A key word the question shares with the sentence, swapped for a word of the paragraph it lacks."""
    words = shared_key_words(q, s)
    if not words:
        return None
    old = rng.choice(words)
    suffix = "s" if old.endswith("s") else "ed" if old.endswith("ed") else "ing" if old.endswith("ing") else ""
    pool = sorted(
        {
            w
            for w in re.findall(r"\b[a-z][a-z-]{3,}\b", para)
            if terms(w) and not lower_in(w, s) and not lower_in(w, q) and (not suffix or w.endswith(suffix))
        }
    )
    return replace_once(q, old, rng.choice(pool)) if pool else None


def negate(q: str) -> str | None:
    """'Where did Chopin go?' -> 'Where did Chopin not go?' (after a one-word subject, else after the verb)."""
    if re.search(r"\b(not|never|n't)\b", q, re.I):
        return None
    m = _AUX.search(q)
    if not m:
        return None
    nxt = re.match(r"\s+([A-Z][\w'’.-]*|he|she|it|they|we|you|i|this|that)\b(?!\s+[A-Z])", q[m.end() :])
    at = m.end() + nxt.end() if nxt else m.end()
    return q[:at] + " not" + q[at:]


def antonym(q: str, rng: random.Random, antonyms: dict[str, str] = ANTONYMS) -> str | None:
    hits = [w for w in re.findall(r"\b[a-z]+\b", q) if w in antonyms]
    if not hits:
        return None
    old = rng.choice(hits)
    return replace_once(q, old, antonyms[old])


# `--negatives 2` only (stages 1-8 were built without these, and calibration's pool group still is):
MORE_ANTONYMS = _both_ways(
    [
        ("sequel", "prequel"),
        ("some", "all"),
        ("high", "low"),
        ("large", "small"),
        ("long", "short"),
        ("strong", "weak"),
        ("rich", "poor"),
        ("true", "false"),
        ("common", "rare"),
        ("import", "export"),
        ("imports", "exports"),
        ("imported", "exported"),
        ("buy", "sell"),
        ("bought", "sold"),
        ("birth", "death"),
        ("born", "died"),
        ("victory", "defeat"),
        ("attack", "defend"),
        ("attacked", "defended"),
        ("allies", "enemies"),
        ("domestic", "foreign"),
        ("urban", "rural"),
        ("always", "never"),
        ("earlier", "later"),
        ("previous", "next"),
        ("fewer", "more"),
        ("top", "bottom"),
        ("natural", "artificial"),
        ("growth", "decline"),
        ("profit", "loss"),
        ("summer", "winter"),
        ("men", "women"),
        ("man", "woman"),
        ("father", "mother"),
        ("son", "daughter"),
        ("brother", "sister"),
        ("king", "queen"),
        ("husband", "wife"),
        ("majority", "minority"),
        ("beginning", "end"),
        ("started", "ended"),
        ("opened", "closed"),
        ("agreed", "refused"),
        ("poorest", "richest"),
        ("fastest", "slowest"),
        ("newest", "oldest"),
        ("inner", "outer"),
        ("primary", "secondary"),
        ("input", "output"),
        ("entrance", "exit"),
        ("teacher", "student"),
        ("parent", "child"),
        ("employer", "employee"),
    ]
)
ALL_ANTONYMS = {**ANTONYMS, **MORE_ANTONYMS}
_PREFIXES = ("un", "in", "im", "dis", "non")


def prefix_antonym(q: str, s: str, vocabulary: frozenset[str], rng: random.Random) -> str | None:
    """A word the question shares with the sentence, with a negating prefix added or taken off, when the
    pool uses the result ("inconsistent" -> "consistent", "able" -> "unable"): real words only."""
    words = [w for w in re.findall(r"\b[a-z]{4,}\b", q) if w not in _QWORDS and lower_in(w, s)]
    options = []
    for w in words:
        for pre in _PREFIXES:
            if w.startswith(pre) and w[len(pre) :] in vocabulary and len(w) - len(pre) >= 4:
                options.append((w, w[len(pre) :]))
            elif pre + w in vocabulary:
                options.append((w, pre + w))
    if not options:
        return None
    old, new = rng.choice(sorted(options))
    return replace_once(q, old, new)


def swap_roles(q: str, s: str, rng: random.Random) -> str | None:
    """Two names that the question shares with the sentence trade places ("Along with Carloman, who was the
    son of Pippin?" -> "Along with Pippin, who was the son of Carloman?"): the same words, another claim.
    Names only: swapped common words mostly make questions nobody would write."""
    caps = sorted({m.group(0) for m in _CAPS.finditer(q) if m.start() > 0 and lower_in(m.group(0), s)})
    if len(caps) < 2:
        return None
    a, b = rng.sample(caps, 2)
    if a in b or b in a:
        return None
    pattern = re.compile(r"(?<!\w)(" + re.escape(a) + "|" + re.escape(b) + r")(?!\w)")
    out = pattern.sub(lambda m: b if m.group(1) == a else a, q)
    return out if out != q else None


def add_condition(q: str, s: str, article_text: str, rng: random.Random) -> str | None:
    if _YEAR.search(q) or not q.rstrip().endswith("?"):
        return None
    years = sorted({y for y in _YEAR.findall(article_text) if y not in s})
    if not years:
        return None
    word = rng.choice(["in", "in", "before", "after", "during"])
    return q.rstrip()[:-1].rstrip() + f" {word} {rng.choice(years)}?"


def perturb(
    q: str,
    s: str,
    para: str,
    article_text: str,
    rng: random.Random,
    vocabulary: frozenset[str] | None = None,
) -> tuple[str, str] | None:
    """One SQuAD 2.0-like change to the question. With `vocabulary` (the pool's words: `--negatives 2`)
    there are more antonyms and two more kinds: a negating prefix, and two shared names trading places."""
    makers = [
        ("swap-entity", 5, lambda: swap_entity(q, s, para, article_text, rng)),
        ("swap-word", 1, lambda: swap_word(q, s, para, rng)),
        ("negation", 1, lambda: negate(q)),
        ("antonym", 1.5, lambda: antonym(q, rng, ANTONYMS if vocabulary is None else ALL_ANTONYMS)),
        ("condition", 1, lambda: add_condition(q, s, article_text, rng)),
    ]
    if vocabulary is not None:
        makers += [
            ("prefix-antonym", 1.5, lambda: prefix_antonym(q, s, vocabulary, rng)),
            ("swap-roles", 1.5, lambda: swap_roles(q, s, rng)),
        ]
    order = []
    remaining = list(makers)
    while remaining:  # weighted order without replacement
        pick = rng.choices(remaining, weights=[m[1] for m in remaining])[0]
        order.append(pick)
        remaining.remove(pick)
    for name, _, make in order:
        out = make()
        if out and out != q:
            return name, out
    return None


# Words that lead into an answer phrase and go with it when it is cut out ("in 1887", "by the council").
_LEAD_IN = re.compile(
    r"(?:\b(?:in|on|at|by|from|of|to|for|with|since|during|about|around|nearly|approximately|almost|over|"
    r"under|some|as|than|until|after|before|the|a|an|its|his|her|their)\s+){1,2}$",
    re.I,
)
_TIDY = [
    (re.compile(r"\(\s*[,;]?\s*\)"), ""),  # an emptied bracket
    (re.compile(r"\s+(?:and|or)\s*(?=[,.;:!?])"), ""),  # "A, B and ." -> "A, B."
    (re.compile(r"\s+([,.;:!?)])"), r"\1"),
    (re.compile(r"([,;:])(?:\s*[,;:])+"), r"\1"),
    (re.compile(r"[,;:]\s*([.!?])$"), r"\1"),
    (re.compile(r"(?<=[\w,;])\("), " ("),
    (re.compile(r"\s{2,}"), " "),
]
# A cut that leaves the sentence ending on a word that needs its object ("… was separated into.")
_DANGLING_END = re.compile(
    r"\b(?:in|on|at|by|from|of|to|for|with|into|onto|as|than|the|a|an|and|or|is|are|was|were|be|been)\W*$", re.I
)


def remove_answer(sentence: str, span: tuple[int, int], context: str = "") -> str | None:
    """The answer sentence with its answer cut out: on topic, nearly every word of the question, no answer.

    This is what most of our own eval sets' unanswerable questions meet ("How many physician-scientists
    will be trained?" against the sentence about the project, which gives no number). None when the cut
    would not leave a sentence: the answer opens it, is most of it, or is still there (twice, or before it).
    """
    a, b = span
    answer = sentence[a:b].strip()
    if not answer or b - a > 0.6 * len(sentence):
        return None
    if (a > 0 and _is_word_char(sentence[a - 1])) or (
        b < len(sentence) and (_is_word_char(sentence[b]) or sentence[b] == "-")
    ):
        return None  # part of a word ("large" in "largest", "150,000" in "150,000-strong")
    left = sentence[:a]
    lead = _LEAD_IN.search(left)
    if lead:
        left = left[: lead.start()]
    right = re.sub(r"^['’]s\b", "", sentence[b:])
    opening = left.strip()
    if not opening or (len(opening) < 3 and not opening[0].isalnum()):
        return None  # the answer opens the sentence (after at most a quote mark)
    right = right.lstrip()
    out = left.rstrip() + ((" " if right[:1].isalnum() else "") + right if right else ".")
    for pattern, repl in _TIDY:
        out = pattern.sub(repl, out)
    out = out.strip()
    if len(out.split()) < 5 or _DANGLING_END.search(out) or lower_in(answer, out) or lower_in(answer, context):
        return None
    return out
