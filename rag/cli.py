"""The `rag` command: a thin layer over the Python API (ask, index, add, chat, serve, eval, bench)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path


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


def _load(args, rebuild: bool = False, warm: bool = True):
    from .assistant import Assistant
    from .settings import Settings

    settings = Settings()
    if getattr(args, "settings", None):
        settings = Settings.from_dict(json.loads(Path(args.settings).read_text(encoding="utf-8")))
    return Assistant.load(corpus_dir=args.corpus, index_dir=args.index, settings=settings, rebuild=rebuild,
                          progress=_progress_factory(sys.stderr.isatty()), warm=warm)


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    print(answer.text)
    for c in answer.citations:
        print(f"  [{c.number}] {c.title} — {c.location}")
    if not answer.answered and answer.related:
        print("  Related (not an answer):")
        for c in answer.related:
            print(f"   · {c.quote}  ({c.location})")


def cmd_ask(args) -> int:
    from .question import validate_question
    from .settings import Settings

    validate_question(args.question, Settings().max_question_chars)  # fail fast, before loading the model
    assistant = _load(args)
    answer = assistant.ask(args.question, history=args.history or None, top_k=args.top_k)
    _print_answer(answer, args.json)
    return 0


def cmd_index(args) -> int:
    assistant = _load(args, rebuild=args.rebuild, warm=False)
    info = assistant.build_info
    m = assistant.store.manifest
    print(f"{info.get('action')} index in {assistant.index_dir}: {m['counts']['documents']} documents, "
          f"{m['counts']['chunks']} chunks, {m['counts']['sentences']} sentences, {m['faiss'].get('type')} "
          f"({info.get('load_seconds', 0):.2f}s)")
    for reason in info.get("reasons", [])[:10]:
        print(f"  because: {reason}")
    for err in assistant.load_errors:
        print(f"  skipped: {err}", file=sys.stderr)
    return 0


def cmd_add(args) -> int:
    assistant = _load(args)
    ids = assistant.add_documents(args.paths)
    print(f"added {len(ids)} document(s): {', '.join(ids)}")
    return 0


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
    from ui.app import serve

    from .settings import Settings

    settings = None
    if args.settings:
        settings = Settings.from_dict(json.loads(Path(args.settings).read_text(encoding="utf-8")))
    serve(host=args.host, port=args.port, corpus_dir=args.corpus, index_dir=args.index,
          feedback_path=args.feedback, settings=settings)
    return 0


def _location_options(default) -> argparse.ArgumentParser:
    """--corpus, --index, --settings and -v: accepted before or after the command."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--corpus", type=Path, default=default, help="documents folder (default: ./corpus)")
    options.add_argument("--index", type=Path, default=default, help="index folder (default: ./index)")
    options.add_argument("--settings", type=Path, default=default, help="JSON file of Settings overrides")
    options.add_argument("-v", "--verbose", action="store_true", default=default if default is not None else False,
                         help="show warnings and progress details")
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Cited, extractive answers from your documents.",
                                     parents=[_location_options(None)])
    # The same options after the command (`rag index --corpus DIR`); SUPPRESS keeps a value given
    # before the command from being overwritten by the subcommand's default.
    after = [_location_options(argparse.SUPPRESS)]
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ask", parents=after, help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (1-50)")
    p.add_argument("--history", action="append", help="an earlier question of the conversation (repeatable)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("index", parents=after, help="build or update the index")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("add", parents=after, help="add files to the corpus and index them")
    p.add_argument("paths", nargs="+", type=Path)
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("chat", parents=after, help="a conversation in the terminal")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", parents=after, help="start the web chat")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--feedback", type=Path, default=None, help="JSONL file for 👍/👎 votes")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", parents=after, help="measure answer quality on the eval sets")
    _lazy_arguments(p, "rag.evaluation.cli")
    p = sub.add_parser("bench", parents=after, help="measure speed, memory and scale")
    _lazy_arguments(p, "rag.benchmark")
    return parser


def _lazy_arguments(parser: argparse.ArgumentParser, module_name: str) -> None:
    """Subcommands owned by other modules declare their own options and run function."""
    try:
        import importlib

        module = importlib.import_module(module_name)
    except ImportError:
        parser.set_defaults(func=lambda args: _missing(module_name))
        return
    module.add_arguments(parser)
    parser.set_defaults(func=module.run)


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
