"""The answer model's training data (eval/answer_training/): pairs and negatives on a tiny inline article."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))
from answer_training.learning import (  # noqa: E402
    answer_lists,
    length_bucketed,
    listwise_loss,
    question_batches,
    training_rng,
)
from answer_training.pairs import (  # noqa: E402
    OVERLAP_BINS,
    build_pairs,
    overlap_bin,
    overlap_weights,
    unanswerable_pairs,
)
from answer_training.paraphrases import paraphrase, wordnet_synonyms  # noqa: E402
from answer_training.perturbations import negate, perturb, prefix_antonym, remove_answer, swap_entity, swap_roles  # noqa: E402
from answer_training.pool import (  # noqa: E402
    Pair,
    Paragraph,
    answer_sentence,
    is_held_out,
    is_validation,
    merged_articles,
    paragraphs_of,
    write_corpus,
)

PARAGRAPH_1 = (
    "Chopin was born in Warsaw in 1810. He moved to Paris in 1831, where he taught piano. "
    "In Paris he met George Sand in 1836."
)
PARAGRAPH_2 = "Chopin died in Paris in 1849. His heart was taken back to Warsaw by his sister Ludwika."


def _qa(qid: str, question: str, context: str, answer: str) -> dict:
    return {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}


ARTICLE = {
    "title": "Frederic_Chopin_test",
    "paragraphs": [
        {
            "context": PARAGRAPH_1,
            "qas": [
                _qa("q1", "In what year did Chopin move to Paris?", PARAGRAPH_1, "1831"),
                _qa("q2", "Where was Chopin born?", PARAGRAPH_1, "Warsaw"),
                _qa("q3", "Whom did Chopin meet in Paris in 1836?", PARAGRAPH_1, "George Sand"),
            ],
        },
        {
            "context": PARAGRAPH_2,
            "qas": [_qa("q4", "Who took Chopin's heart back to Warsaw?", PARAGRAPH_2, "his sister Ludwika")],
        },
    ],
}


@pytest.fixture(scope="module")
def paragraphs() -> list[Paragraph]:
    assert not is_validation(ARTICLE["title"])  # else the article would be held out
    return paragraphs_of([ARTICLE], validation=False)


def test_the_answer_sentence_is_the_one_holding_the_whole_answer_and_none_when_it_runs_across_two():
    spans = [(0, 34), (35, 84), (85, len(PARAGRAPH_1))]
    assert [PARAGRAPH_1[a:b] for a, b in spans][1] == "He moved to Paris in 1831, where he taught piano."
    start = PARAGRAPH_1.index("1831")
    assert answer_sentence(spans, {"text": "1831", "answer_start": start}) == (1, (start - 35, start - 35 + 4))
    across = PARAGRAPH_1.index("1810.")
    assert answer_sentence(spans, {"text": "1810. He moved", "answer_start": across}) is None


def test_negation_goes_after_a_one_word_subject_and_is_not_doubled():
    assert negate("Where did Chopin go?") == "Where did Chopin not go?"
    assert negate("Why did he never return?") is None


def test_a_swapped_year_comes_from_the_paragraph_and_is_not_in_the_answer_sentence():
    sentence = "He moved to Paris in 1831, where he taught piano."
    q = "What did he teach after 1831?"  # the year is all it shares with the sentence
    out = swap_entity(q, sentence, PARAGRAPH_1, PARAGRAPH_1 + " " + PARAGRAPH_2, random.Random(1))
    assert out is not None and out != q
    new_year = out.split("after ", 1)[1].rstrip("?")
    assert new_year in {"1810", "1836"}  # a year of the same paragraph, not the sentence's own


def test_pairs_are_the_same_for_the_same_seed_and_positives_carry_the_answer_span(paragraphs):
    first = build_pairs(paragraphs, None, random.Random(5))
    again = build_pairs(paragraphs, None, random.Random(5))
    assert [(p.question, p.sentence, p.label, p.kind) for p in first] == [
        (p.question, p.sentence, p.label, p.kind) for p in again
    ]
    positives = [p for p in first if p.label == 1]
    assert len(positives) == 4
    answers = {"1831", "Warsaw", "George Sand", "his sister Ludwika"}
    for p in positives:
        assert p.span is not None
        assert p.sentence[p.span[0] : p.span[1]] in answers
    negatives = [p for p in first if p.label == 0]
    assert negatives and all(p.kind != "positive" for p in negatives)
    # a perturbed question is never the original, and is paired with the original's answer sentence
    originals = {p.question for p in positives}
    answer_sentences = {p.sentence for p in positives}
    for p in negatives:
        if p.kind in {"swap-entity", "swap-word", "negation", "antonym", "condition"}:
            assert p.question not in originals
            assert p.sentence in answer_sentences


def test_a_second_stage_takes_only_questions_the_first_stage_never_saw(paragraphs):
    def questions(pairs: list[Pair]) -> set[str]:
        return {p.question for p in pairs if p.label == 1}

    stage_one = questions(build_pairs(paragraphs, 2, random.Random(9)))
    stage_two = questions(build_pairs(paragraphs, 2, random.Random(9), skip_questions=2))
    assert len(stage_one) == 2 and len(stage_two) == 2
    assert stage_one.isdisjoint(stage_two)


def test_each_pair_knows_its_question_number_so_a_cut_stage_says_where_the_next_one_starts(paragraphs):
    everything = build_pairs(paragraphs, None, random.Random(9))
    numbers = [p.question_number for p in everything]
    assert numbers[0] == 1 and numbers == sorted(numbers) and numbers[-1] == 4  # the article's 4 questions
    cut = everything[:5]  # a pair budget that ends inside a question's pairs
    after = build_pairs(paragraphs, None, random.Random(9), skip_questions=cut[-1].question_number)
    assert after[0].question_number == cut[-1].question_number + 1
    seen = {p.question for p in cut if p.label == 1}
    assert seen.isdisjoint(p.question for p in after if p.label == 1)


def test_a_later_epoch_reads_the_same_questions_in_another_order_and_epoch_one_is_unchanged(paragraphs):
    def pairs(epoch: int) -> list[Pair]:
        return build_pairs(paragraphs, None, training_rng(9, epoch))

    assert pairs(1) == build_pairs(paragraphs, None, random.Random(9))  # the shipped stages stay reproducible
    assert pairs(2) == pairs(2)
    first = [p.question for p in pairs(1) if p.label == 1]
    second = [p.question for p in pairs(2) if p.label == 1]
    assert sorted(first) == sorted(second) and first != second


def test_each_pair_carries_the_sentence_before_its_sentence(paragraphs):
    pairs = build_pairs(paragraphs, None, random.Random(3))
    context = {p.question: p.context for p in pairs if p.label == 1}
    assert context["Where was Chopin born?"] == ""  # the article's first sentence
    assert context["Whom did Chopin meet in Paris in 1836?"] == "He moved to Paris in 1831, where he taught piano."
    assert context["Who took Chopin's heart back to Warsaw?"] == "Chopin died in Paris in 1849."
    sentences = [PARAGRAPH_1[a:b] for a, b in paragraphs[0].sentences] + [
        PARAGRAPH_2[a:b] for a, b in paragraphs[1].sentences
    ]
    for p in pairs:  # negatives too; a paragraph's first sentence reads the previous paragraph's last one
        k = sentences.index(p.sentence)
        assert p.context == (sentences[k - 1] if k > 0 else "")
    assert any(p.sentence == sentences[3] and p.context == sentences[2] for p in pairs)  # across paragraphs


def test_articles_with_real_unanswerables_are_held_out_of_training(tmp_path):
    with_impossible = {
        "title": "Some_other_article_test",
        "paragraphs": [
            {"context": PARAGRAPH_2, "qas": [{"id": "u1", "question": "Who?", "answers": [], "is_impossible": True}]}
        ],
    }
    assert is_held_out(with_impossible) and not is_held_out(ARTICLE)
    assert [p.title for p in paragraphs_of([ARTICLE, with_impossible], validation=False)] == [
        "Frederic Chopin test"
    ] * 2
    write_corpus(tmp_path, [ARTICLE])
    (written,) = tmp_path.iterdir()
    assert written.read_text(encoding="utf-8") == PARAGRAPH_1 + "\n\n" + PARAGRAPH_2 + "\n"


def test_a_negating_prefix_makes_only_words_the_pool_uses():
    vocabulary = frozenset({"consistent", "inconsistent", "capable", "able"})
    sentence = "Seitz called the film inconsistent and capable of more."
    q = "Who called the film inconsistent?"
    assert prefix_antonym(q, sentence, vocabulary, random.Random(1)) == "Who called the film consistent?"
    # "called" and "film" take no prefix the pool knows: nothing to make
    assert prefix_antonym("Who called the film?", sentence, vocabulary, random.Random(1)) is None


def test_swapped_roles_trade_two_names_the_sentence_holds():
    sentence = "At his death, Pippin left his kingdom to his sons, Charles and Carloman."
    q = "Along with Carloman, who was the son of Pippin?"
    assert swap_roles(q, sentence, random.Random(2)) == "Along with Pippin, who was the son of Carloman?"
    assert swap_roles("Who was the son of Pippin?", sentence, random.Random(2)) is None  # one name: no swap


def test_the_newer_negatives_only_come_with_negatives_2(paragraphs):
    old_kinds = {"positive", "other-sentence", "other-paragraph", "swap-entity", "swap-word", "negation", "antonym"}
    one = build_pairs(paragraphs, None, random.Random(4))
    assert one == build_pairs(paragraphs, None, random.Random(4), negatives=1)  # stages 1-8 stay reproducible
    assert {p.kind for p in one} <= old_kinds | {"condition"}
    sentence = "At his death, Pippin left his kingdom to his sons, Charles and Carloman."
    q = "Along with Carloman, who was the son of Pippin?"

    def kinds(vocabulary: frozenset[str] | None) -> set[str]:
        made = [perturb(q, sentence, sentence, sentence, random.Random(seed), vocabulary) for seed in range(40)]
        return {m[0] for m in made if m}

    assert "swap-roles" not in kinds(None)
    assert "swap-roles" in kinds(frozenset({"kingdom"}))


def test_a_cut_out_answer_leaves_the_sentence_without_it_and_reads_as_a_sentence():
    sentence = "The chemical structure of penicillin was determined by Dorothy Crowfoot Hodgkin in 1945."
    span = (sentence.index("Dorothy"), sentence.index(" in 1945"))
    # the lead-in "by" goes with the answer
    assert remove_answer(sentence, span) == "The chemical structure of penicillin was determined in 1945."
    year = (sentence.index("1945"), sentence.index("1945") + 4)
    assert (
        remove_answer(sentence, year)
        == "The chemical structure of penicillin was determined by Dorothy Crowfoot Hodgkin."
    )
    listed = "Sand sold the piano to a local French couple, the Canuts."
    assert remove_answer(listed, (listed.index("the Canuts"), len(listed) - 1)) == (
        "Sand sold the piano to a local French couple."
    )


def test_no_cut_when_what_is_left_is_not_a_negative():
    sentence = "Chopin was born in Warsaw in 1810, and Warsaw shaped him."
    assert remove_answer(sentence, (0, 6)) is None  # the answer opens the sentence
    assert remove_answer(sentence, (19, 25)) is None  # Warsaw is still there
    assert remove_answer("It has the largest effect on growth.", (11, 16)) is None  # "large" in "largest"
    split = "By 1500 Britain was separated into two kingdoms."
    assert remove_answer(split, (split.index("two"), len(split) - 1)) is None  # "... separated into."
    moved = "In 1831 the young composer moved to Paris for good."
    paris = (moved.index("Paris"), moved.index("Paris") + 5)
    assert remove_answer(moved, paris) == "In 1831 the young composer moved for good."
    assert remove_answer(moved, paris, context="He loved Paris.") is None  # the sentence before still answers


def test_answer_removed_pairs_come_only_when_asked_for(paragraphs):
    assert all(p.kind != "answer-removed" for p in build_pairs(paragraphs, None, random.Random(4)))
    pairs = build_pairs(paragraphs, None, random.Random(4), answer_removed=1.0)
    cut = [p for p in pairs if p.kind == "answer-removed"]
    assert cut and all(p.label == 0 for p in cut)
    answers = {qa["question"]: qa["answers"][0]["text"] for par in ARTICLE["paragraphs"] for qa in par["qas"]}
    for p in cut:
        assert answers[p.question] not in p.sentence


def _pair(question: str, sentence: str, label: int) -> Pair:
    return Pair(question, "Chopin", sentence, label)


OVERLAP_PAIRS = [
    # the question's words all in the sentence: two positives, one negative
    _pair("Where was Chopin born?", "Chopin was born in Warsaw.", 1),
    _pair("When was Chopin born?", "Chopin was born in 1810.", 1),
    _pair("Where was Chopin not born?", "Chopin was born in Warsaw not far from here.", 0),
    # none of them: one positive, three negatives
    _pair("Where did the composer grow up?", "He spent his youth in Warsaw.", 1),
    _pair("Where did the composer grow up?", "Paris was cold.", 0),
    _pair("Where did the composer grow up?", "Sand wrote novels.", 0),
    _pair("Where did the composer grow up?", "His heart went back.", 0),
]


def test_overlap_weights_give_every_overlap_bin_the_same_share_of_positives():
    bins = [overlap_bin(p) for p in OVERLAP_PAIRS]
    assert bins[:3] == [OVERLAP_BINS - 1] * 3 and bins[3:] == [0] * 4
    weights = overlap_weights(OVERLAP_PAIRS, 1.0)
    assert sum(weights) == pytest.approx(len(OVERLAP_PAIRS))  # the loss keeps its scale
    share = 3 / 7
    for b in (0, OVERLAP_BINS - 1):
        pos = sum(w for p, w, k in zip(OVERLAP_PAIRS, weights, bins) if k == b and p.label)
        every = sum(w for w, k in zip(weights, bins) if k == b)
        assert pos / every == pytest.approx(share)
    # the paraphrased positive and the word-copying negative count most
    assert weights.index(max(weights)) in (2, 3)
    assert weights[3] > weights[0] and weights[2] > weights[4]


def test_overlap_weights_at_strength_0_weigh_every_pair_the_same_and_halfway_is_between():
    assert overlap_weights(OVERLAP_PAIRS, 0.0) == [1.0] * len(OVERLAP_PAIRS)
    full, half = overlap_weights(OVERLAP_PAIRS, 1.0), overlap_weights(OVERLAP_PAIRS, 0.5)
    assert 1.0 < half[3] < full[3]
    assert overlap_weights([_pair("Where was Chopin born?", "Chopin was born in Warsaw.", 1)], 1.0) == [1.0]


def test_shortlist_negatives_add_the_most_word_sharing_sentences_without_the_answer_and_change_nothing_else(
    paragraphs,
):
    plain = build_pairs(paragraphs, None, random.Random(4))
    with_shortlist = build_pairs(paragraphs, None, random.Random(4), shortlist=2)
    assert [p for p in with_shortlist if p.kind != "shortlist"] == plain  # no random number drawn for them
    answers = {qa["question"]: qa["answers"][0]["text"] for par in ARTICLE["paragraphs"] for qa in par["qas"]}
    added = [p for p in with_shortlist if p.kind == "shortlist"]
    sentences = [par.text[a:b] for par in paragraphs for a, b in par.sentences]
    for question, answer in answers.items():
        number = next(p.question_number for p in plain if p.question == question)
        earlier = {o.sentence for o in plain if o.question_number == number}
        eligible = [s for s in sentences if answer not in s and s not in earlier]
        mine = [p.sentence for p in added if p.question == question]
        assert len(mine) == min(2, len(eligible)) and set(mine) <= set(eligible)
    assert all(p.label == 0 for p in added) and len(added) >= len(answers)
    # the sentence sharing "Chopin" and "Paris" before the one sharing "Chopin" only, before none
    met = [p.sentence for p in added if p.question == "Whom did Chopin meet in Paris in 1836?"]
    assert met == ["Chopin died in Paris in 1849.", "Chopin was born in Warsaw in 1810."]


def test_question_batches_keep_each_question_whole_and_hold_every_pair_once(paragraphs):
    pairs = build_pairs(paragraphs, None, random.Random(4), shortlist=2)
    batches = question_batches(pairs, 8, random.Random(1))
    assert sorted(i for b in batches for i in b) == list(range(len(pairs)))
    where = {i: k for k, b in enumerate(batches) for i in b}
    for number in {p.question_number for p in pairs}:
        rows = [i for i, p in enumerate(pairs) if p.question_number == number]
        assert len({where[i] for i in rows}) == 1
    sizes = {len([p for p in pairs if p.question_number == n]) for n in {p.question_number for p in pairs}}
    assert all(len(b) <= max(8, max(sizes)) for b in batches)
    assert question_batches(pairs, 8, random.Random(1)) == batches  # seeded


def test_length_bucketed_batches_hold_every_row_once_sorted_within_a_block_and_repeat_for_a_seed():
    lengths = [random.Random(i).randint(3, 300) for i in range(2_000)]
    batches = length_bucketed(lengths, 8, random.Random(5))
    rows = [r for b in batches for r in b]
    assert sorted(rows) == list(range(2_000))
    assert all(len(b) == 8 for b in batches)
    assert all(lengths[a] <= lengths[b] for batch in batches for a, b in zip(batch, batch[1:]))
    spread = sum(lengths[b[-1]] - lengths[b[0]] for b in batches) / len(batches)
    assert spread < 10  # unbucketed batches of 8 would spread over about 230
    assert batches == length_bucketed(lengths, 8, random.Random(5))
    assert batches != length_bucketed(lengths, 8, random.Random(6))


def test_answer_lists_hold_the_answer_sentence_and_its_questions_other_sentences_only():
    pairs = [
        Pair("Where was Chopin born?", "t", "Chopin was born in Warsaw.", 1, question_number=1),
        Pair("Where was Chopin born?", "t", "Chopin died in Paris.", 0, question_number=1),
        Pair("Where was Chopin not born?", "t", "Chopin was born in Warsaw.", 0, question_number=1),
        Pair("When did Chopin die?", "t", "Chopin died in Paris.", 0, question_number=2),  # no answer: no list
        Pair("Who met Sand?", "t", "Chopin met Sand.", 1, question_number=3),  # alone: nothing to choose among
    ]
    assert answer_lists(pairs) == [(0, [0, 1])]


def test_the_listwise_loss_is_the_cross_entropy_of_the_answer_among_its_list_and_a_null_option():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([2.0, 0.5, -1.0, 3.0])
    lists = [(0, [0, 1, 2]), (3, [3])]
    first = torch.logsumexp(torch.tensor([0.0, 2.0, 0.5, -1.0]), 0) - 2.0
    second = torch.logsumexp(torch.tensor([0.0, 3.0]), 0) - 3.0  # against the null option alone
    assert listwise_loss(logits, lists).item() == pytest.approx(((first + second) / 2).item())
    # a negative above the answer costs more than one below it
    assert listwise_loss(torch.tensor([0.5, 2.0]), [(0, [0, 1])]) > listwise_loss(
        torch.tensor([2.0, 0.5]), [(0, [0, 1])]
    )
    assert listwise_loss(logits, []).item() == 0.0


PIANO = "He moved to Paris in 1831, where he taught piano."
SYNONYMS = {"moved": ["relocated"], "piano": ["pianoforte", "taught"], "born": ["native"]}


def _synonyms(word: str) -> list[str]:
    return SYNONYMS.get(word, [])


def test_a_paraphrase_swaps_words_the_question_shares_with_the_sentence_for_synonyms_the_sentence_lacks():
    q = "Where did Chopin teach piano after he moved?"
    made = {paraphrase(q, PIANO, _synonyms, random.Random(seed)) for seed in range(6)}
    assert made == {
        "Where did Chopin teach pianoforte after he moved?",
        "Where did Chopin teach piano after he relocated?",
        "Where did Chopin teach pianoforte after he relocated?",
    }  # never "taught": the sentence has it, so the question would not be in other words
    assert paraphrase(q, PIANO, lambda word: [], random.Random(0)) is None
    # a synonym of a word the sentence lacks changes nothing the sentence could be matched on
    assert paraphrase("Where was Chopin born?", PIANO, _synonyms, random.Random(0)) is None


def test_paraphrased_positives_keep_the_answer_span_and_come_only_when_asked_for(paragraphs):
    plain = build_pairs(paragraphs, None, random.Random(4))
    assert all(p.kind != "paraphrase" for p in plain)
    pairs = build_pairs(paragraphs, None, random.Random(4), paraphrases=1.0, synonyms=_synonyms)
    made = [p for p in pairs if p.kind == "paraphrase"]
    assert [p.question for p in made] == ["Where was Chopin native?"]
    original = next(p for p in pairs if p.kind == "positive" and p.question == "Where was Chopin born?")
    assert (made[0].label, made[0].sentence, made[0].span) == (1, original.sentence, original.span)
    assert original.sentence[slice(*made[0].span)] == "Warsaw"
    with pytest.raises(ValueError, match="paraphrases"):
        build_pairs(paragraphs, None, random.Random(4), paraphrases=1.0)


def test_wordnet_synonyms_come_from_the_senses_a_word_heads_and_pass_the_similarity_bar():
    everything = wordnet_synonyms(lambda word, others: [1.0] * len(others))
    assert {"speed up", "quicken"} <= set(everything("accelerate"))
    assert everything("capital") == []  # "working capital" is another sense, and the word with a word added
    assert "port wine" not in everything("port")
    assert "aerials" in everything("antennas")  # a plural noun's synonyms, pluralised
    seen: list[tuple[str, list[str]]] = []

    def picky(word: str, others: list[str]) -> list[float]:
        seen.append((word, list(others)))
        return [0.9 if other == "quicken" else 0.2 for other in others]

    assert wordnet_synonyms(picky)("accelerate") == ["quicken"]
    assert seen == [("accelerate", ["speed up", "speed", "quicken"])]


UNANSWERABLE = {
    "title": "Frederic_Chopin_test",
    "paragraphs": [
        {
            "context": PARAGRAPH_1,
            "qas": [
                {
                    "id": "u1",
                    "question": "In what year did Chopin leave Paris, where he taught violin?",
                    "answers": [],
                    "is_impossible": True,
                    "unans_reason": "A*",
                },
                {
                    "id": "u2",
                    "question": "Whom did Chopin's sister meet in Paris in 1836?",
                    "answers": [],
                    "is_impossible": True,
                    "unans_reason": "E",
                },
            ],
        }
    ],
}


def test_real_unanswerables_merge_by_title_and_context_and_hold_nothing_more_out():
    merged = merged_articles([ARTICLE], [UNANSWERABLE])
    assert [len(p["qas"]) for p in merged[0]["paragraphs"]] == [5, 1]
    assert [len(p["qas"]) for p in ARTICLE["paragraphs"]] == [3, 1]  # the pool's own lists untouched
    assert not is_held_out(merged[0])  # the merged questions carry unans_reason: not the pool's own
    stray = {"title": "Frederic_Chopin_test", "paragraphs": [{"context": "Another text.", "qas": [{"id": "u3"}]}]}
    with pytest.raises(ValueError, match="1 questions have no paragraph"):
        merged_articles([ARTICLE], [stray])


def test_a_real_unanswerable_is_paired_with_the_sentence_it_was_written_from():
    (paragraph,) = paragraphs_of([UNANSWERABLE], validation=False)
    pairs = unanswerable_pairs([paragraph], None, random.Random(0))
    by_question = {p.question: p for p in pairs}
    leave = by_question["In what year did Chopin leave Paris, where he taught violin?"]
    meet = by_question["Whom did Chopin's sister meet in Paris in 1836?"]
    assert leave.sentence == "He moved to Paris in 1831, where he taught piano."
    assert meet.sentence == "In Paris he met George Sand in 1836."
    assert {leave.label, meet.label} == {0} and {leave.kind, meet.kind} == {"real-unanswerable"}
    assert (leave.reason, meet.reason) == ("A", "E")  # the human-label star dropped
    assert meet.context == leave.sentence  # the sentence before, as the composer gives it
    assert all(p.question_number < 0 for p in pairs)  # never grouped with an answerable question's pairs
    assert len(unanswerable_pairs([paragraph], 1, random.Random(0), skip_questions=1)) == 1
