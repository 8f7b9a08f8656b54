"""The (question, sentence, label) pairs of one training stage, in a seeded order that a later stage continues."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from rag.text_analysis import terms

from .paraphrases import paraphrase
from .perturbations import lower_in, perturb, remove_answer
from .pool import Pair, Paragraph, answer_sentence


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
        held = answer_sentence(p.sentences, ans)
        if held is None:
            continue
        i, span = held
        s0, s1 = p.sentences[i]
        sentence = p.text[s0:s1]
        q = qa["question"].strip()
        context = before(p, i)
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
                if not lower_in(ans["text"], sents[k]):
                    pairs.append(Pair(q, p.title, sents[k], 0, kind="other-paragraph", context=before(other, k)))
        if shortlist:
            taken = {pair.sentence for pair in pairs[first_pair:]}
            ranked = sorted(
                (c for c in sentences_of(p.article) if c[2] not in taken and not lower_in(ans["text"], c[2])),
                key=lambda c: -len(q_terms & c[3]),
            )
            for o, k, text, _ in ranked[:shortlist]:
                pairs.append(Pair(q, p.title, text, 0, kind="shortlist", context=before(o, k)))
        for pair in pairs[first_pair:]:
            pair.question_number = number
    return pairs


def unanswerable_pairs(
    paragraphs: list[Paragraph], n_questions: int | None, rng: random.Random, skip_questions: int = 0
) -> list[Pair]:
    """Negatives from SQuAD 2.0's real unanswerable questions, in a seeded order of their own.

    Each question is paired with the sentence of its paragraph that shares most of its words: the one a
    crowdworker most likely rewrote it from (the question copies its words and changes a detail), and the one the
    composer's shortlist would put first. That is the case the rule-made negatives only imitate."""
    items = [(p, qa) for p in paragraphs for qa in p.qas if qa.get("is_impossible")]
    rng.shuffle(items)
    items = items[skip_questions:]
    if n_questions is not None:
        items = items[:n_questions]
    pairs = []
    for number, (p, qa) in enumerate(items, start=skip_questions + 1):
        if not p.sentences:
            continue
        q = qa["question"].strip()
        q_terms = set(terms(q))
        texts = [p.text[a:b] for a, b in p.sentences]
        best = max(range(len(texts)), key=lambda j: _overlap(q_terms, texts[j]))
        before = p.text[p.sentences[best - 1][0] : p.sentences[best - 1][1]] if best > 0 else ""
        reason = str(qa.get("unans_reason", "")).rstrip("*")
        # negative numbers: question numbers of their own, never grouped with an answerable question's pairs
        pairs.append(
            Pair(
                q,
                p.title,
                texts[best],
                0,
                kind="real-unanswerable",
                context=before,
                question_number=-number,
                reason=reason,
            )
        )
    return pairs
