"""The public entry point: load a corpus and its index, ask questions, add documents."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .answer_model import MODEL_DIR as _SHIPPED_MODEL_DIR
from .answer_model import AnswerScorer
from .answer_reader import scorer_for
from .calibration import Calibration, load_calibration
from .composer import Composer, QuestionPart
from .corpus import Document, load_corpus
from .embedding import Embedder
from .errors import CorpusError, DocumentError, IndexStoreError, InvalidQuestionError, ModelError
from .follow_up import answer_subject, follow_up_search_text
from .intake import Addition, discard_copies, prepare_additions, publish_copies, stage_copies
from .locking import Lock, index_lock, remove_crash_leftovers
from .question import analyse_question, needs_history, split_compound, validate_question
from .retrieval import Retriever
from .settings import Settings
from .spelling import SpellingFixer
from .store import IndexStore, build_store, load_store, save_store
from .types import Answer

if TYPE_CHECKING:
    from .stores.milvus_retrieval import MilvusRetriever
    from .stores.milvus_store import MilvusStore

log = logging.getLogger("rag")


def default_dir(name: str) -> Path:
    """`RAG_<NAME>_DIR`, else ./<name> if it exists, else the folder beside the package (source checkout)."""
    env = os.environ.get(f"RAG_{name.upper()}_DIR")
    if env:
        return Path(env)
    here = Path.cwd() / name
    if here.exists():
        return here
    beside = Path(__file__).resolve().parent.parent / name
    return beside if beside.exists() else here


@dataclass(frozen=True)
class _State:
    """Everything one question reads; swapped whole when documents are added."""

    documents: Mapping[str, Document]
    store: IndexStore | MilvusStore
    retriever: Retriever | MilvusRetriever
    composer: Composer
    spelling: SpellingFixer | None  # None: Settings.correct_spelling is off


class Assistant:
    def __init__(
        self,
        documents: Mapping[str, Document],
        store: IndexStore | MilvusStore,
        settings: Settings,
        embedder: Embedder,
        corpus_dir: Path | None = None,
        index_dir: Path | None = None,
        load_errors: list[DocumentError] | None = None,
        build_info: dict | None = None,
        answer_model: tuple[AnswerScorer | None, Calibration | None] | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.corpus_dir = corpus_dir
        self.index_dir = index_dir
        self.load_errors = list(load_errors or [])
        self.build_info = build_info or {}
        self.answer_scorer, self.calibration = answer_model if answer_model is not None else answer_model_for(settings)
        if self.answer_scorer is not None and index_dir is not None:
            self.answer_scorer.use_index(index_dir)  # ONNX export beside the embedder's, made once
        self._state = self._make_state(documents, store)
        self._write_lock = threading.Lock()
        # recent answers, by (question, history, mode): what a follow-up's pronoun stands for (rag/follow_up.py)
        self._recent: dict[tuple, Answer] = {}
        self._recent_lock = threading.Lock()

    def _make_state(self, documents: Mapping[str, Document], store: IndexStore | MilvusStore) -> _State:
        if not isinstance(store, IndexStore):  # Milvus (rag/stores/): searched there, not in this process
            from .stores.milvus_retrieval import MilvusRetriever

            store.documents = documents
            retriever: Retriever | MilvusRetriever = MilvusRetriever(store, documents, self.settings)
        else:
            retriever = Retriever(store, documents, self.settings)
        return _State(
            dict(documents),
            store,
            retriever,
            Composer(store, documents, self.settings, self.answer_scorer, self.calibration),
            SpellingFixer([d.text for d in documents.values()]) if self.settings.correct_spelling else None,
        )

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        corpus_dir: str | os.PathLike | None = None,
        index_dir: str | os.PathLike | None = None,
        settings: Settings | None = None,
        rebuild: bool = False,
        embedder: Embedder | None = None,
        progress: Callable[[int, int], Callable[[int], None]] | None = None,
        warm: bool = True,
        answer_model: tuple[AnswerScorer | None, Calibration | None] | None = None,
    ) -> Assistant:
        """Load documents and their index; build or update the index when missing, stale or corrupt.

        `warm=True` also loads the embedding model now, so the first question is as fast as the rest;
        commands that never embed a question (`rag index`) pass False. `embedder` and `answer_model` (scorer,
        calibration: what `answer_model_for(settings)` returns) let one process share loaded models
        between several indexes, as the eval does.
        """
        started = time.perf_counter()
        settings = settings or Settings()
        corpus_dir = Path(corpus_dir) if corpus_dir is not None else default_dir("corpus")
        index_dir = Path(index_dir) if index_dir is not None else default_dir("index")
        loaded = load_corpus(corpus_dir, settings)
        for err in loaded.errors:
            log.warning("skipped %s", err)
        if not loaded.documents:
            detail = "; ".join(str(e) for e in loaded.errors) or "no .txt, .md or .html files"
            raise CorpusError(f"no usable documents in {corpus_dir} ({detail})")
        embedder = embedder or Embedder.from_settings(settings)
        if hasattr(embedder, "use_index"):  # ONNX export cached in <index>/onnx (made there once if missing)
            embedder.use_index(index_dir)
        store, info = cls._open_index(loaded.documents, settings, embedder, index_dir, rebuild, progress, corpus_dir)
        if warm:
            embedder.encode_query("warm-up")
        assistant = cls(
            loaded.documents, store, settings, embedder, corpus_dir, index_dir, loaded.errors, info, answer_model
        )
        if warm and assistant.answer_scorer is not None:
            assistant.answer_scorer.score("warm-up", ["warm-up"], ["warm-up"])
        info["load_seconds"] = time.perf_counter() - started
        return assistant

    @staticmethod
    def _open_index(documents, settings, embedder, index_dir, rebuild, progress, corpus_dir=None):
        if settings.vector_store == "milvus":
            from .stores.milvus_open import open_milvus

            return open_milvus(documents, settings, embedder, index_dir, rebuild, progress)
        previous: IndexStore | None = None
        reasons: list[str] = []
        if not rebuild:
            try:
                previous = load_store(index_dir, documents, settings)
                reasons = previous.staleness(documents, settings, embedder.model_name)
            except IndexStoreError as exc:
                if (Path(index_dir) / "CURRENT").exists():
                    log.warning("index unusable, rebuilding: %s", exc)
                reasons = [str(exc)]
            if previous is not None and not reasons:
                return previous, {"action": "loaded", "reasons": []}
        else:
            reasons = ["rebuild requested"]
        with index_lock(index_dir) as lock:  # one writer per folder; readers above need no lock
            if lock.held:
                remove_crash_leftovers(index_dir, corpus_dir)
            if lock.waited and not rebuild:  # the process we waited for may have built just this
                try:
                    fresh = load_store(index_dir, documents, settings)
                    if not fresh.staleness(documents, settings, embedder.model_name):
                        return fresh, {"action": "loaded", "reasons": []}
                    previous = fresh
                except IndexStoreError:
                    pass
            return Assistant._build_and_save(documents, settings, embedder, index_dir, previous, progress, reasons)

    @staticmethod
    def _build_and_save(documents, settings, embedder, index_dir, previous, progress, reasons):
        callback = None
        if progress is not None:
            todo = sum(
                1
                for d, doc in documents.items()
                if previous is None or d not in previous.entries or previous.entries[d].content_hash != doc.content_hash
            )
            callback = progress(todo, len(documents))
        store, stats = build_store(documents, settings, embedder, previous, callback)
        try:
            save_store(store, index_dir)
        except OSError as exc:  # questions are still answered from the index in memory
            log.warning("index built but not saved to %s: %s", index_dir, exc)
            return store, {"action": "built", "reasons": reasons, **stats, "save_error": str(exc)}
        return store, {"action": "built", "reasons": reasons, **stats}

    # ---- asking ----------------------------------------------------------------------------
    @property
    def documents(self) -> Mapping[str, Document]:
        return self._state.documents

    @property
    def store(self) -> IndexStore | MilvusStore:
        return self._state.store

    def ask(
        self,
        question: str,
        history: list[str] | None = None,
        top_k: int | None = None,
        retrieval_mode: str | None = None,
    ) -> Answer:
        """Answer with verbatim, cited sentences, or abstain when the documents don't say."""
        t0 = time.perf_counter()
        asked = validate_question(question, self.settings.max_question_chars)
        state = self._state
        text, turns = asked, self._clean_history(history)
        if state.spelling is not None:  # what follows reads the question as meant
            text, turns = state.spelling.correct(asked), [state.spelling.correct(t) for t in turns]
        if top_k is None:
            top_k = self.settings.top_k
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 50:
            raise InvalidQuestionError(f"top_k must be an integer from 1 to 50, got {top_k!r}")
        if retrieval_mode not in (None, "hybrid", "dense", "bm25"):
            raise InvalidQuestionError(f"retrieval_mode must be 'hybrid', 'dense' or 'bm25', got {retrieval_mode!r}")
        subject = self._previous_subject(turns, retrieval_mode) if turns and needs_history(text) else None
        search_text = follow_up_search_text(text, turns, self.settings.history_turns, subject)
        q = analyse_question(text, search_text)
        timings: dict[str, float] = {}
        t1 = time.perf_counter()
        vector = self.embedder.encode_query(q.query)
        t2 = time.perf_counter()
        pool = state.retriever.search(q.query, vector, max(top_k, self.settings.answer_pool), retrieval_mode, timings)
        t3 = time.perf_counter()
        pieces = split_compound(text)
        if len(pieces) > 1:
            parts = [QuestionPart(analyse_question(p), self.embedder.encode_query(p)) for p in pieces]
        else:
            parts = [QuestionPart(q, vector)]
        answer = state.composer.compose(q, parts, pool, shown=top_k)
        t4 = time.perf_counter()
        timings.update(
            validate=(t1 - t0) * 1000, embed=(t2 - t1) * 1000, compose=(t4 - t3) * 1000, total=(t4 - t0) * 1000
        )
        answer = replace(answer, question=asked, read_as=text if text != asked else None, timings_ms=timings)
        self._remember((text, tuple(turns), retrieval_mode), answer)
        return answer

    def _previous_subject(self, turns: list[str], retrieval_mode: str | None) -> tuple[str, str] | None:
        """Who or what the previous turn's answer names: from the answers kept from this conversation, else by
        asking it again (with at most one turn of its own history, so a long conversation costs one ask)."""
        previous, earlier = turns[-1], turns[:-1]
        answer = self._recent.get((previous, tuple(earlier), retrieval_mode))
        if answer is None:
            answer = self.ask(previous, history=earlier[-1:] or None, retrieval_mode=retrieval_mode)
        return answer_subject(previous, answer)

    def _remember(self, key: tuple, answer: Answer) -> None:
        """Keep the last answers (forgotten when the documents change), so a follow-up finds the answer it follows."""
        with self._recent_lock:
            self._recent[key] = answer
            while len(self._recent) > 256:
                self._recent.pop(next(iter(self._recent)))

    def _clean_history(self, history) -> list[str]:
        if history is None:
            return []
        if isinstance(history, str) or not isinstance(history, (list, tuple)):
            raise InvalidQuestionError(f"history must be a list of earlier questions, got {type(history).__name__}")
        cleaned = []
        for item in list(history)[-self.settings.max_history_items :]:
            if not isinstance(item, str):
                raise InvalidQuestionError(f"history items must be strings, got {type(item).__name__}")
            if item.strip():
                cleaned.append(" ".join(item.split())[: self.settings.max_question_chars])
        return cleaned

    # ---- growing the corpus -----------------------------------------------------------------
    def add_documents(
        self, paths: Iterable[str | Path], copy_into_corpus: bool = True, replace: bool = False
    ) -> list[str]:
        """Read, index and (by default) copy new files into the corpus folder; returns their ids.

        Only what a folder load would read is accepted: a regular file (not a symlink, folder, FIFO or
        device) with a supported extension, valid UTF-8 text, at most `Settings.max_document_bytes`.
        A name already in the corpus with other content is refused unless `replace=True`. A file whose
        document is already loaded with the same content changes nothing: its id is returned all the same,
        and `build_info["unchanged"]` lists such ids (`build_info["added"]` the others), so a caller can say
        so instead of "added". Raises DocumentError (naming the file) before anything changes; an index
        that cannot be saved raises OSError with the corpus and index unchanged.
        """
        corpus_dir = Path(self.corpus_dir) if copy_into_corpus and self.corpus_dir is not None else None
        additions = prepare_additions(paths, self.settings, corpus_dir, self._state.documents, replace)
        unchanged = [a.doc_id for a in additions if self._already_loaded(a)]
        if len(unchanged) == len(additions):  # nothing to copy, embed or save
            self.build_info = {"action": "unchanged", "added": [], "unchanged": unchanged}
            return unchanged
        lock_here = index_lock(self.index_dir) if self.index_dir is not None else contextlib.nullcontext(Lock(False))
        with self._write_lock, lock_here as lock:
            if lock.held and self.index_dir is not None:
                remove_crash_leftovers(self.index_dir, self.corpus_dir)
            documents = {**self._state.documents, **{a.doc_id: a.document for a in additions}}
            previous = self._state.store
            store: IndexStore | MilvusStore = previous
            if isinstance(previous, IndexStore):
                store, stats = build_store(documents, self.settings, self.embedder, previous)
            stage_copies(additions)  # hidden temporary files: the corpus is unchanged until the rename below
            try:
                if not isinstance(previous, IndexStore):  # Milvus: only the new documents are written
                    stats = previous.sync(documents, self.settings, self.embedder)
                elif self.index_dir is not None and isinstance(store, IndexStore):
                    save_store(store, self.index_dir)
            except BaseException:
                discard_copies(additions)
                raise
            publish_copies(additions)
            self._state = self._make_state(documents, store)
            with self._recent_lock:
                self._recent.clear()  # answers of the old documents
            added = [a.doc_id for a in additions if a.doc_id not in unchanged]
            self.build_info = {"action": "added", **stats, "added": added, "unchanged": unchanged}
        return [a.doc_id for a in additions]

    def _already_loaded(self, addition: Addition) -> bool:
        """Whether adding this file changes nothing: no copy to write, and the same content already loaded."""
        loaded = self._state.documents.get(addition.doc_id)
        return addition.target is None and loaded is not None and loaded.content_hash == addition.document.content_hash


def answer_model_for(settings: Settings) -> tuple[AnswerScorer | None, Calibration | None]:
    """The answer model named by the settings (None: the baseline composer)."""
    if settings.answer_model is None:
        return None, None
    given = Path(settings.answer_model)
    folder = given if given.is_dir() else _SHIPPED_MODEL_DIR.parent / settings.answer_model
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"answer model {settings.answer_model!r} not found (looked in {folder}); "
            "use Settings(answer_model=None) for the baseline composer"
        )
    scorer = scorer_for(
        folder,
        threads=settings.query_threads,
        backend=settings.query_backend,
        verify_checksums=settings.verify_checksums,
    )
    return scorer, load_calibration(folder)
