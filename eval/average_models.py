"""Average the trained weights of answer models of one lineage (a "model soup"): one model, one read.

    python eval/average_models.py --models rag/models/answer-minilm stage-14 --out soup
    python eval/average_models.py --models A B --weights 0.7 0.3 --out soup

Stages trained from one another share their starting point, so a weighted mean of their parameters is a
model between them, read at the cost of one. A stage that chooses the answer sentence better and one that
refuses better can meet halfway without a second model read per question. Models that train different
layers are averaged over the union: a layer one of them kept frozen is the base model's in that one (stage 15
trains layers 2-5, stage 18 from it all six). The config records the inputs and weights.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer_model import read_config  # noqa: E402
from rag.answer_network import load_network, save_state, trained_state  # noqa: E402

# what the models share; each one's own training (and validation) stays in its entry of "average_of"
KEPT = ("base_model", "data", "validation_split", "held_out", "seed", "context_words")


def average_states(states: list[dict], weights: list[float]) -> dict:
    """The weighted mean of each parameter, computed in fp32 and stored in fp16 as the models ship."""
    if len(states) != len(weights) or not states:
        raise ValueError(f"weights: {len(weights)} given for {len(states)} models")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be 0 or more with a positive sum, not {weights}")
    names = set(states[0])
    for k, s in enumerate(states[1:], start=2):
        if set(s) != names:
            raise ValueError(f"model {k} trains other parameters than model 1: {sorted(set(s) ^ names)[:3]}")
    total = sum(weights)
    return {
        n: sum(w / total * s[n].float() for s, w in zip(states, weights)).half().contiguous()  # type: ignore[union-attr]
        for n in sorted(names)
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, nargs="+", required=True)
    ap.add_argument("--weights", type=float, nargs="+", help="one per model (default: equal)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    weights = args.weights or [1.0] * len(args.models)
    if len(weights) != len(args.models):
        ap.error(f"--weights: {len(weights)} given for {len(args.models)} models")
    configs = [read_config(m) for m in args.models]
    lowest = min(int(c["trainable_from_layer"]) for c in configs)
    states = [trained_state(load_network(m, trainable_from_layer=lowest)) for m in args.models]
    try:
        state = average_states(states, weights)
    except ValueError as exc:
        ap.error(str(exc))
    card = {
        **{k: configs[0][k] for k in KEPT if k in configs[0]},
        "average_of": [{"model": str(m), "weight": w, "config": c} for m, w, c in zip(args.models, weights, configs)],
        "command": "python eval/average_models.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    save_state(state, lowest, args.out, card)
    print(f"wrote {args.out}: the mean of {len(states)} models, weights {weights}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
