"""The `rag` command: a thin layer over the Python API (ask, index, add, chat, serve, eval, bench)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import cast


def _progress_factory(enabled: bool):
    """A tqdm bar per build, shown only when there is real work (more than a handful of documents)."""
    if not enabled:
        return None

    def make(todo_docs: int, total_docs: int):
        if todo_docs < 5:
            return None
        from tqdm import tqdm

        bar = tqdm(desc=f"embedding {todo_docs}/{total_docs} documents", unit="text", file=sys.stderr)
        return bar.update

    return make


def _load(args, rebuild: bool = False, warm: bool = True, embedder=None):
    from .assistant import Assistant

    return Assistant.load(
        corpus_dir=args.corpus,
        index_dir=args.index,
        settings=_settings(args),
        rebuild=rebuild,
        embedder=embedder,
        progress=_progress_factory(sys.stderr.isatty()),
        warm=warm,
    )


def _settings(args):
    from .settings import Settings

    settings = Settings()
    if getattr(args, "settings", None):
        settings = Settings.from_dict(json.loads(Path(args.settings).read_text(encoding="utf-8")))
    from .stores.options import apply_store_options

    return apply_store_options(settings, args)


def _timed_embedder(settings):
    """The embedder for one `rag index`, recording what it spends (whatever its backend).

    `timings.model_load`: until the first vector (importing torch and sentence-transformers, reading
    the weights, preparing an ONNX export); `embedding`: encoding the chunks and sentences once the
    model is ready; `texts`: how many were encoded.
    """
    from types import SimpleNamespace

    from .embedding import Embedder

    timings = SimpleNamespace(model_load=0.0, embedding=0.0, texts=0, ready=False)

    class TimedEmbedder(Embedder):
        def encode(self, texts, *args, **kwargs):
            texts = list(texts)
            if texts and not timings.ready:
                started = time.perf_counter()
                super().encode(texts[:1])  # the first vector loads the model: timed on its own
                timings.model_load += time.perf_counter() - started
                timings.ready = True
            started = time.perf_counter()
            vectors = super().encode(texts, *args, **kwargs)
            timings.embedding += time.perf_counter() - started
            timings.texts += len(texts)
            return vectors

        def use_index(self, index_dir) -> None:
            started = time.perf_counter()
            try:
                super().use_index(index_dir)
            finally:
                timings.model_load += time.perf_counter() - started

    embedder = TimedEmbedder.from_settings(settings)
    return embedder, timings


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    if answer.read_as:  # a misspelt word was read as a word of the documents (rag/spelling.py)
        print(f"(read as: {answer.read_as})")
    if not answer.answered:
        print(answer.text)
        print(
            f"  {answer.abstain_reason}"
            if answer.abstain_reason
            else "  The closest passages are shown as related, not as an answer."
        )
        if answer.related:
            print("  Related (not an answer):")
            for c in answer.related:
                print(f"   · {c.quote}  ({c.location})")
        return
    bold = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    pieces = []
    short = answer.short_answer
    for c in answer.citations:
        quote = c.quote
        if bold and short and short.doc_id == c.doc_id and c.start <= short.start and short.end <= c.end:
            a, b = short.start - c.start, short.end - c.start
            quote = f"{quote[:a]}\033[1m{quote[a:b]}\033[0m{quote[b:]}"
        pieces.append(f"{quote} [{c.number}]")
    print(" ".join(pieces))
    if short and not bold:
        print(f"  Short answer: {short.text}")
    for c in answer.citations:
        print(f"  [{c.number}] {c.title} — {c.location}")
    print(f"  confidence {answer.confidence:.2f}")


def cmd_ask(args) -> int:
    from .question import validate_question

    # fail fast, before loading the model, with the settings the assistant will use
    validate_question(args.question, _settings(args).max_question_chars)
    assistant = _load(args)
    answer = assistant.ask(args.question, history=args.history or None, top_k=args.top_k)
    _print_answer(answer, args.json)
    return 0


def cmd_index(args) -> int:
    started = time.perf_counter()
    embedder, spent = _timed_embedder(_settings(args))
    assistant = _load(args, rebuild=args.rebuild, warm=False, embedder=embedder)
    seconds = time.perf_counter() - started
    info = assistant.build_info
    if info.get("save_error"):  # saving is what `rag index` is for: fail, and print no "built" line
        print(f"rag: error: {info['save_error']}", file=sys.stderr)
        return 2
    m = assistant.store.manifest
    # What this command spent; the rest of `time rag index` is starting Python and importing `rag`.
    if spent.texts:
        timing = (
            f"in {seconds:.1f} s: model load {spent.model_load:.1f} s, "
            f"embedding {spent.texts} texts {spent.embedding:.1f} s"
        )
    elif spent.model_load >= 0.05:  # e.g. preparing the ONNX query model next to the index
        timing = f"in {seconds:.2f} s: model load {spent.model_load:.2f} s, nothing to embed"
    else:
        timing = f"in {seconds:.2f} s, nothing to embed"
    print(
        f"{info.get('action')} index in {assistant.index_dir}: {m['counts']['documents']} documents, "
        f"{m['counts']['chunks']} chunks, {m['counts']['sentences']} sentences, {m['faiss'].get('type')} "
        f"({timing})"
    )
    for reason in info.get("reasons", [])[:10]:
        print(f"  because: {reason}")
    for err in assistant.load_errors:
        print(f"  skipped: {err}", file=sys.stderr)
    return 0


def cmd_add(args) -> int:
    from .assistant import default_dir
    from .intake import prepare_additions

    # every check that needs no model, first: a bad file fails at once, not after loading the model
    prepare_additions(args.paths, _settings(args), args.corpus or default_dir("corpus"), {}, args.replace)
    assistant = _load(args)
    ids = assistant.add_documents(args.paths, replace=args.replace)
    print(describe_addition(assistant.build_info.get("added", ids), assistant.build_info.get("unchanged", [])))
    return 0


def describe_addition(added: list[str], unchanged: list[str]) -> str:
    """What `rag add` did, in one line: an identical file is "already in the corpus", never "added"."""
    parts = []
    if added:
        parts.append(f"added {len(added)} document(s): {', '.join(added)}")
    if unchanged:
        names = ", ".join(unchanged)
        parts.append(
            f"already in the corpus, unchanged: {names}" if added else f"{names}: already in the corpus, unchanged"
        )
    return "; ".join(parts) or "nothing to add"


def cmd_chat(args) -> int:
    from .errors import InvalidQuestionError

    assistant = _load(args)
    history: list[str] = []
    print("Ask about the documents (empty line or Ctrl-D to quit, /clear to forget the conversation).")
    while True:
        try:
            line = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line.strip():
            return 0
        if line.strip() == "/clear":
            history = []
            print("rag> Conversation cleared.")
            continue
        try:
            answer = assistant.ask(line, history=history)
        except InvalidQuestionError as exc:
            print(f"rag> {exc}")
            continue
        print("rag> ", end="")
        _print_answer(answer, False)
        history.append(line)


def cmd_serve(args) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from .assistant import Assistant

    settings = _settings(args)
    print("rag: loading the documents and the model…", file=sys.stderr, flush=True)
    # Gradio wraps every event in matplotlib's backend switch: importing matplotlib and, with no backend named,
    # pyplot to find one cost the first answer 0.4 s. A server draws nothing on screen: "agg" needs no pyplot.
    os.environ.setdefault("MPLBACKEND", "agg")

    # The documents, index and models load on a thread while this one imports Gradio (≈ 4 s of CPU, the
    # largest part of the start-up): ONNX session set-up and file reads release the GIL, so they overlap.
    def load_and_pick_examples():
        try:
            from rag.ui.examples import pick_examples  # installed: ui/ is the package rag.ui
        except ImportError:  # a source checkout used without `pip install -e .`
            from ui.examples import pick_examples
        assistant = Assistant.load(corpus_dir=args.corpus, index_dir=args.index, settings=settings)
        examples = pick_examples(assistant)  # answering them runs the ONNX models: overlaps too
        import matplotlib  # noqa: F401  (what Gradio's first event would import, while Gradio is imported)

        return assistant, examples

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-load") as pool:
        loading = pool.submit(load_and_pick_examples)
        try:
            from rag.ui.app import serve
        except ImportError:
            from ui.app import serve
        assistant, examples = loading.result()
    serve(host=args.host, port=args.port, feedback_path=args.feedback, assistant=assistant, examples=examples)
    return 0


def _location_options(default) -> argparse.ArgumentParser:
    """--corpus, --index, --settings and -v: accepted before or after the command."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--corpus", type=Path, default=default, help="documents folder (default: ./corpus)")
    options.add_argument("--index", type=Path, default=default, help="index folder (default: ./index)")
    options.add_argument("--settings", type=Path, default=default, help="JSON file of Settings overrides")
    options.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default if default is not None else False,
        help="show warnings and progress details",
    )
    from .stores.options import add_store_options

    add_store_options(options, default)
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Cited, extractive answers from your documents.", parents=[_location_options(None)]
    )
    # The same options after the command (`rag index --corpus DIR`); SUPPRESS keeps a value given
    # before the command from being overwritten by the subcommand's default.
    after = [_location_options(argparse.SUPPRESS)]
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, parser_class=_CommandParser),
    )

    p = sub.add_parser("ask", parents=after, help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument(
        "--top-k",
        type=int,
        default=None,
        help="passages to show (1-50); at least Settings.answer_pool (8) are always searched",
    )
    p.add_argument("--history", action="append", help="an earlier question of the conversation (repeatable)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("index", parents=after, help="build or update the index")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("add", parents=after, help="add files to the corpus and index them")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument(
        "--replace", action="store_true", help="overwrite a corpus document of the same name (else: an error)"
    )
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("chat", parents=after, help="a conversation in the terminal")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", parents=after, help="start the web chat")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--feedback", type=Path, default=None, help="JSONL file for 👍/👎 votes")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "eval", parents=after, help="measure answer quality on the eval sets", options_from="rag.evaluation.cli"
    )
    p.set_defaults(func=cmd_eval)
    p = sub.add_parser("bench", parents=after, help="measure speed, memory and scale", options_from="rag.bench")
    p.set_defaults(func=cmd_bench)
    return parser


def cmd_eval(args) -> int:
    from .evaluation.cli import run

    return run(args)


def cmd_bench(args) -> int:
    from .bench import run

    return run(args)


class _CommandParser(argparse.ArgumentParser):
    """A subcommand's parser. With `options_from`, that module's `add_arguments` declares the options, and the
    module is imported only when this subcommand is parsed: the tooling (eval, bench) stays out of `rag ask`
    and `rag --help`."""

    def __init__(self, *args, options_from: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.options_from = options_from

    def parse_known_args(self, args=None, namespace=None):
        if self.options_from:
            import importlib

            name, self.options_from = self.options_from, None
            try:
                module = importlib.import_module(name)
            except ImportError:
                self.set_defaults(func=lambda _args: _missing(name))
            else:
                module.add_arguments(self)
        return super().parse_known_args(args, namespace)


def _missing(name: str) -> int:
    print(f"rag: error: {name} is not available in this installation", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="rag: %(message)s")
    if not args.verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from .errors import RagError

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0
    except (RagError, ValueError, OSError) as exc:
        if args.verbose:
            raise
        print(f"rag: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
