"""The answer model as a torch module: built from MiniLM for training, loaded from the shipped weights for the
ONNX export and the torch backend, and saved (only the layers training changed, in fp16)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .answer_model import CONFIG_FILE, MAX_LENGTH, MODEL_DIR, WEIGHTS_FILE, base_model_path, read_config
from .errors import ModelError
from .hashing import file_sha256


def build_network(model_path: str | None = None, trainable_from_layer: int = 2) -> Any:
    """MiniLM with the two answer heads; layers below `trainable_from_layer` (and embeddings) frozen."""
    import torch
    from torch import nn
    from transformers import BertModel

    from .embedding import quiet_transformers

    class AnswerNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            with quiet_transformers():  # no load report or "Loading weights" bar on a user's first question
                self.bert = BertModel.from_pretrained(str(model_path or base_model_path()), add_pooling_layer=False)
            hidden = self.bert.config.hidden_size
            self.dropout = nn.Dropout(0.1)
            self.answer_head = nn.Linear(hidden, 1)
            self.span_head = nn.Linear(hidden, 2)
            self.trainable_from_layer = trainable_from_layer
            for p in self.bert.embeddings.parameters():
                p.requires_grad = False
            for layer in self.bert.encoder.layer[:trainable_from_layer]:
                for p in layer.parameters():
                    p.requires_grad = False

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            out = self.dropout(out)
            answer_logit = self.answer_head(out[:, 0]).squeeze(-1)
            span = self.span_head(out)
            very_negative = torch.finfo(span.dtype).min / 2
            span = span.masked_fill((token_type_ids == 0).unsqueeze(-1), very_negative)
            return answer_logit, span[..., 0], span[..., 1]

    return AnswerNetwork()


def trained_state(network: Any) -> dict[str, Any]:
    """The parameters training changed (what ships), in fp16."""
    return {name: p.detach().to("cpu").half().contiguous() for name, p in network.named_parameters() if p.requires_grad}


def save_model(network: Any, folder: Path, card: dict[str, Any]) -> None:
    save_state(trained_state(network), network.trainable_from_layer, folder, card)


def save_state(state: dict[str, Any], trainable_from_layer: int, folder: Path, card: dict[str, Any]) -> None:
    """Write trained parameters and their config (with the weights' sha256), each via a temp file."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (WEIGHTS_FILE + ".tmp")
    save_file(state, str(tmp))
    tmp.replace(folder / WEIGHTS_FILE)
    config = {
        **card,
        "weights_sha256": file_sha256(folder / WEIGHTS_FILE),
        "max_length": MAX_LENGTH,
        "trainable_from_layer": trainable_from_layer,
    }
    tmp = folder / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    tmp.replace(folder / CONFIG_FILE)


def load_network(folder: Path = MODEL_DIR, trainable_from_layer: int | None = None) -> Any:
    """The shipped model as a torch module in eval mode (base weights + the trained layers); a lower
    `trainable_from_layer` unfreezes more of the base's layers for a next training stage."""
    from safetensors.torch import load_file

    config = read_config(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(f"answer model weights missing: {weights}")
    if file_sha256(weights) != config.get("weights_sha256"):
        raise ModelError(f"answer model weights do not match their recorded sha256: {weights}")
    network = build_network(trainable_from_layer=int(config["trainable_from_layer"]))
    state = {k: v.float() for k, v in load_file(str(weights)).items()}
    missing = [k for k, p in network.named_parameters() if p.requires_grad and k not in state]
    if missing:
        raise ModelError(f"answer model weights lack {len(missing)} tensors, e.g. {missing[0]}")
    network.load_state_dict(state, strict=False)
    if trainable_from_layer is not None and trainable_from_layer < network.trainable_from_layer:
        for layer in network.bert.encoder.layer[trainable_from_layer : network.trainable_from_layer]:
            for p in layer.parameters():
                p.requires_grad = True
        network.trainable_from_layer = trainable_from_layer
    network.eval()
    return network
