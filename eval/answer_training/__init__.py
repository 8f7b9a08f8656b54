"""Building the answer model's training data and training it (eval/train_answer_model.py is the command).

- `pool`: the SQuAD train pool, its validation split and the held-out articles with real unanswerables;
- `perturbations`: negatives, the question or the answer sentence with one detail changed;
- `paraphrases`: positives, the question in other words (WordNet synonyms);
- `pairs`: the seeded (question, sentence) pairs of one training stage, built from the three above;
- `learning`: batches, losses, tensors and validation scores for the training loop.
"""
