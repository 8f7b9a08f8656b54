"""eval/average_models.py: the weighted mean of trained weights, on inline tensors and a real saved model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))
import average_models as A  # noqa: E402

from rag.answer_model import MODEL_DIR, WEIGHTS_FILE, read_config  # noqa: E402


def test_the_mean_is_weighted_computed_in_fp32_and_stored_in_fp16():
    a = {"w": torch.tensor([1.0, 2.0], dtype=torch.float16), "b": torch.tensor([0.0], dtype=torch.float16)}
    b = {"w": torch.tensor([3.0, 6.0], dtype=torch.float16), "b": torch.tensor([4.0], dtype=torch.float16)}
    equal = A.average_states([a, b], [1.0, 1.0])
    assert equal["w"].tolist() == [2.0, 4.0] and equal["b"].tolist() == [2.0]
    assert equal["w"].dtype == torch.float16
    leaning = A.average_states([a, b], [3.0, 1.0])  # weights need not sum to 1
    assert leaning["w"].tolist() == [1.5, 3.0]


def test_models_that_train_other_parameters_or_bad_weights_are_refused():
    a = {"w": torch.zeros(2, dtype=torch.float16)}
    with pytest.raises(ValueError, match="other parameters"):
        A.average_states([a, {"v": torch.zeros(2, dtype=torch.float16)}], [1.0, 1.0])
    with pytest.raises(ValueError, match="weights"):
        A.average_states([a, a], [1.0])
    with pytest.raises(ValueError, match="weights must be"):
        A.average_states([a, a], [-1.0, 1.0])


def test_a_model_averaged_with_itself_is_itself_and_records_what_it_came_from(tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "soup"
    assert A.main(["--models", str(MODEL_DIR), str(MODEL_DIR), "--out", str(out)]) == 0
    mean, shipped = load_file(str(out / WEIGHTS_FILE)), load_file(str(MODEL_DIR / WEIGHTS_FILE))
    assert mean.keys() == shipped.keys()
    assert all(torch.equal(mean[n], shipped[n]) for n in shipped)  # equal values (-0.0 may come out as 0.0)
    config = read_config(out)
    assert [e["weight"] for e in config["average_of"]] == [1.0, 1.0]
    assert config["trainable_from_layer"] == read_config(MODEL_DIR)["trainable_from_layer"]
    assert "validation" not in config  # the inputs' own validation stays with each input


def test_models_training_different_layers_average_over_the_union_with_the_base_layers_filled_in(tmp_path):
    from safetensors.torch import load_file

    from rag.answer_network import load_network, save_model

    # the shipped model written out with all six layers trainable: the same network, layers 0-1 the base's
    wider = tmp_path / "all-layers"
    save_model(load_network(MODEL_DIR, trainable_from_layer=0), wider, {"note": "test"})
    out = tmp_path / "soup"
    assert A.main(["--models", str(MODEL_DIR), str(wider), "--out", str(out)]) == 0
    mean, full = load_file(str(out / WEIGHTS_FILE)), load_file(str(wider / WEIGHTS_FILE))
    assert read_config(out)["trainable_from_layer"] == 0
    assert mean.keys() == full.keys()
    assert any(n.startswith("bert.encoder.layer.0.") for n in mean)
    assert all(torch.equal(mean[n], full[n]) for n in full)
