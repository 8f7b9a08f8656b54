"""The web chat: a Gradio Blocks app over one shared `rag.Assistant`.

    rag serve --port 7860            # or: python -c "from ui.app import serve; serve()"

`build_app(assistant, feedback_path)` returns the Blocks (used by tests); start it with `launch(demo, ...)`,
which also applies the page's CSS and theme (Gradio 6 takes those in `launch`, not in `Blocks`).

Named API endpoints (callable with gradio_client):
    /ask       (question, history=None, top_k=None) -> Answer.to_dict()
    /feedback  (question, vote, history=None, top_k=None) -> the JSON line written
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Assistant, EmptyQuestionError, InvalidQuestionError
from rag.settings import MAX_TOP_K

from .assets import CSS, SCROLL_TO_QUESTION_JS
from .examples import EXAMPLE_COUNT, pick_examples  # noqa: F401 (EXAMPLE_COUNT: part of this module's API)
from .feedback import FeedbackLog, make_record, normalise_vote
from .messages import EMPTY_MESSAGE, notice_for
from .render import esc, is_notice, render_answer, render_notice, render_user
from .security import AuthConfigError, exposure_warning, public_message, security_options
from .serving import queue_options, thread_options  # queue and threads: tuned by the load test

log = logging.getLogger("rag.ui")

CHAT_PLACEHOLDER = "Ask a question below, or try one of the examples."
TOP_K_LABEL = "Passages shown (top k)"  # the answer weighs max(top_k, Settings.answer_pool) passages; top_k are shown
ERROR_MESSAGE = "Sorry — something went wrong while answering. Please try again or rephrase the question."


# ---- page text --------------------------------------------------------------------------------
def describe_corpus(assistant: Assistant) -> tuple[str, str]:
    """(page title, header HTML) naming what the documents are about."""
    docs = list(assistant.documents.values())
    subject = os.environ.get("RAG_UI_SUBJECT", "").strip()
    if not subject:
        subject = docs[0].title if len(docs) == 1 else f"{len(docs)} documents"
    if len(docs) == 1:
        doc = docs[0]
        source = ", ".join(x for x in (doc.metadata.get("publisher"), doc.date) if x)
        about = f'About: <span class="rag-about">{esc(subject)}</span>' + (f" ({esc(source)})" if source else "")
    else:
        about = f'About: <span class="rag-about">{esc(subject)}</span>'
    header = (
        f'<div id="rag-header"><h1>Ask the documents</h1><p>{about}</p>'
        '<p class="rag-how">Answers are verbatim quotes with their sources; when the documents don\'t say, '
        "it says so.</p></div>"
    )
    return f"Ask the documents — {subject}", header


# ---- the app --------------------------------------------------------------------------------
FEEDBACK_NOT_SAVED = "Your vote could not be saved: the server cannot write its feedback file (disk full?)."


def default_feedback_path() -> Path:
    return Path(os.environ.get("RAG_FEEDBACK_PATH") or "feedback.jsonl")


def build_app(
    assistant: Assistant, feedback_path: str | os.PathLike | None = None, examples: Sequence[str] | None = None
) -> gr.Blocks:
    """The chat page plus the `/ask` and `/feedback` API endpoints, all sharing `assistant`."""
    feedback = FeedbackLog(feedback_path if feedback_path is not None else default_feedback_path())
    if examples is None:
        examples = pick_examples(assistant)
    page_title, header = describe_corpus(assistant)
    default_top_k = assistant.settings.top_k

    def answer_question(
        question: Any, history: Sequence[str], top_k: Any, show_passages: bool, replaced: str | None = None
    ):
        """(assistant message HTML, record for votes or None, question to remember or None); `replaced` is the
        notice this reply takes the place of, if any."""
        if not isinstance(question, str) or not question.strip():
            return render_notice(EMPTY_MESSAGE, _example_hint(examples, replaced)), None, None
        try:
            answer = assistant.ask(question, history=list(history), top_k=_top_k(top_k, default_top_k))
        except InvalidQuestionError as exc:
            limit = assistant.settings.max_question_chars
            hint = _example_hint(examples, replaced) if isinstance(exc, EmptyQuestionError) else None
            return render_notice(*notice_for(exc, question, limit, hint)), None, None
        except Exception:
            log.exception("answering %r failed", question[:200])
            return render_notice(ERROR_MESSAGE), None, None
        try:
            html = render_answer(answer, assistant.documents, bool(show_passages))
        except Exception:
            log.exception("rendering the answer to %r failed", question[:200])
            return render_notice(ERROR_MESSAGE), None, None
        record = {
            "question": question,
            "history": list(history),
            "top_k": _top_k(top_k, default_top_k),
            "answer": answer.to_dict(),
        }
        return html, record, question

    def respond(message, chat, history, records, top_k, show_passages):
        chat, history, records = list(chat or []), list(history or []), dict(records or {})
        replaced = None
        if _ends_with_lone_notice(chat):  # one "type a question" notice at a time, never a stack of them
            replaced = str(chat.pop()["content"])
        if isinstance(message, str) and message.strip():
            chat.append({"role": "user", "content": render_user(message)})
        html, record, asked = answer_question(message, history, top_k, show_passages, replaced)
        chat.append({"role": "assistant", "content": html})
        if record is not None:
            records[len(chat) - 1] = record
        if asked is not None:
            history.append(asked)
        return "", chat, chat, history, records

    def clear():
        return "", [], [], [], {}

    def on_vote(records, data: gr.LikeData):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        record = (records or {}).get(index)
        if record is None:
            gr.Info("Only answers can be rated.")
            return
        try:
            vote = normalise_vote(data.liked)
        except ValueError:
            return  # a vote taken back: nothing to log
        try:
            feedback.append(make_record(record["question"], record["history"], record["answer"], vote, record["top_k"]))
        except OSError:  # disk full: say so (no path for web users); the chat goes on answering
            gr.Warning(FEEDBACK_NOT_SAVED)
            return
        gr.Info("Thanks — your feedback was saved.")

    def ask_api(question: str, history: list[str] | None = None, top_k: int | None = None) -> dict:
        """Answer a question from the documents. Returns the Answer as JSON: text (quoted sentences with
        [n] markers), answered, confidence, citations (doc_id, start, end, quote, ...), related, passages."""
        try:
            return assistant.ask(question, history=history, top_k=top_k).to_dict()
        except InvalidQuestionError as exc:
            raise gr.Error(public_message(exc), print_exception=False) from None
        except Exception:  # logged here in full; the user gets no traceback and no path
            log.exception("/ask failed")
            raise gr.Error(ERROR_MESSAGE, print_exception=False) from None

    def feedback_api(question: str, vote: str, history: list[str] | None = None, top_k: int | None = None) -> dict:
        """Record a 👍/👎 ('up'/'down') for the answer to `question`; returns the JSON line written."""
        try:
            vote = normalise_vote(vote)
            answer = assistant.ask(question, history=history, top_k=top_k).to_dict()
        except (InvalidQuestionError, ValueError) as exc:
            raise gr.Error(public_message(exc), print_exception=False) from None
        except Exception:
            log.exception("/feedback failed")
            raise gr.Error(ERROR_MESSAGE, print_exception=False) from None
        record = make_record(question, history or [], answer, vote, top_k)
        try:
            feedback.append(record)
        except OSError:
            log.exception("could not write a feedback line")
            raise gr.Error(FEEDBACK_NOT_SAVED, print_exception=False) from None
        return record

    with gr.Blocks(title=page_title, analytics_enabled=False) as demo:
        gr.HTML(header, elem_id="rag-header-block", padding=False)
        chat_state = gr.State([])  # per-session: rendered messages
        history_state = gr.State([])  # per-session: earlier questions, for follow-ups
        records_state = gr.State({})  # per-session: message index -> what a vote on it records
        chatbot = gr.Chatbot(
            elem_id="rag-chat",
            show_label=False,
            height="62vh",
            min_height=320,
            layout="panel",
            autoscroll=False,
            latex_delimiters=[],
            allow_tags=False,
            sanitize_html=True,
            buttons=[],
            placeholder=CHAT_PLACEHOLDER,
        )
        with gr.Row(equal_height=True):
            question_box = gr.Textbox(
                show_label=False,
                placeholder="Ask a question about the documents…",
                lines=1,
                max_lines=4,
                autofocus=True,
                submit_btn="Ask",
                elem_id="rag-question",
                scale=1,
            )
        if examples:
            with gr.Row(elem_classes="rag-examples"):
                gr.Markdown("Try:", elem_classes="rag-examples-label")
                example_buttons = [
                    gr.Button(q, size="sm", variant="secondary", elem_classes="rag-example") for q in examples
                ]
        else:
            example_buttons = []
        with gr.Row():
            with gr.Column(scale=3, min_width=220):
                with gr.Accordion("Settings", open=False, elem_id="rag-settings"):
                    top_k = gr.Slider(
                        1,
                        MAX_TOP_K,
                        value=default_top_k,
                        step=1,
                        label=TOP_K_LABEL,
                        info=f"Answers are drawn from the top {assistant.settings.answer_pool} "
                        "passages (or top k, if more); this sets how many are shown.",
                    )
                    show_passages = gr.Checkbox(False, label="Show all retrieved passages with scores")
            with gr.Column(scale=1, min_width=160):
                clear_button = gr.Button("Clear conversation", variant="secondary", size="md", elem_id="rag-clear")

        outputs = [question_box, chatbot, chat_state, history_state, records_state]
        inputs = [chat_state, history_state, records_state, top_k, show_passages]
        scroll = dict(
            fn=None,
            inputs=[chatbot],
            outputs=None,
            js=SCROLL_TO_QUESTION_JS,
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )
        question_box.submit(
            respond, [question_box, *inputs], outputs, api_name="chat_submit", api_visibility="undocumented"
        ).then(**scroll)
        for button in example_buttons:
            button.click(
                respond, [button, *inputs], outputs, api_name="chat_example", api_visibility="undocumented"
            ).then(**scroll)
        clear_button.click(clear, None, outputs, api_name="chat_clear", api_visibility="undocumented", queue=False)
        chatbot.clear(clear, None, outputs, api_name="chat_trash", api_visibility="undocumented", queue=False)
        chatbot.like(on_vote, [records_state], None, api_name="chat_vote", api_visibility="undocumented")
        gr.api(ask_api, api_name="ask")
        gr.api(feedback_api, api_name="feedback")

    demo.queue(**queue_options())
    demo.rag_feedback = feedback  # for tests and callers
    demo.rag_examples = list(examples)
    return demo


def _top_k(value: Any, default: int) -> int:
    try:
        return max(1, min(MAX_TOP_K, int(value)))
    except (TypeError, ValueError):
        return default


def _ends_with_lone_notice(chat: Sequence[dict]) -> bool:
    """Whether the last message is a notice that answers no shown question (an empty submission's)."""
    if not chat or chat[-1].get("role") != "assistant" or not is_notice(str(chat[-1].get("content", ""))):
        return False
    return len(chat) == 1 or chat[-2].get("role") != "user"


def _example_hint(examples: Sequence[str], after: str | None = None) -> str | None:
    """An example question to try; after a notice that offered one, the next, so a repeat says something new."""
    if not examples:
        return None
    offered = [i for i, q in enumerate(examples) if after and esc(q) in after]
    return f"For example: “{examples[(offered[0] + 1) % len(examples) if offered else 0]}”"


# ---- running it -------------------------------------------------------------------------------
def limit_torch_threads(threads: int | None = None) -> int | None:
    """Give each request one torch thread (`RAG_TORCH_THREADS`, default 1); returns the previous count.

    A server answers several questions at once, so parallelism comes from concurrent requests; letting
    every tiny query encoding also spread over all cores makes them wait on each other (on a busy
    2-core machine a query took ~1 s with 2 threads and ~20 ms with 1).
    """
    if (
        "torch" not in sys.modules
    ):  # the ONNX query backend never loads torch; the torch one sets Settings.query_threads
        return None
    try:
        import torch
    except ImportError:  # pragma: no cover - the engine needs torch anyway
        return None
    previous = torch.get_num_threads()
    if threads is None:
        try:
            threads = int(os.environ.get("RAG_TORCH_THREADS", "1"))
        except ValueError:
            threads = 1
    if threads > 0:
        torch.set_num_threads(threads)
    return previous


def launch(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    *,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
    private_paths: Sequence[str | os.PathLike | None] = (),
):
    """Start the server with the page's CSS and theme; blocks unless `prevent_thread_lock`.

    Also applies ui/security.py (login from RAG_AUTH/RAG_AUTH_FILE, request size limit, `private_paths`
    kept out of Gradio's file routes) and ui/serving.py's thread count.
    """
    options = security_options(private_paths)
    warning = exposure_warning(host, bool(options["auth"]))
    if warning:
        print(f"rag: {warning}", file=sys.stderr, flush=True)
    return demo.launch(
        **options,
        **thread_options(),
        server_name=host,
        server_port=port,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        share=False,
        inbrowser=False,
        ssr_mode=False,
        show_error=False,
        footer_links=["api"],
        theme=gr.themes.Soft(primary_hue="blue", neutral_hue="slate"),
        css=CSS,
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 7860,
    corpus_dir: str | os.PathLike | None = None,
    index_dir: str | os.PathLike | None = None,
    feedback_path: str | os.PathLike | None = None,
    settings=None,
    assistant: Assistant | None = None,
    examples: Sequence[str] | None = None,
) -> None:
    """Load the documents and model once (unless given a loaded `assistant`, and its `examples` if already
    picked), then serve the chat until interrupted (blocking)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("MPLBACKEND", "agg")  # Gradio's per-event backend switch then imports no pyplot
    if assistant is None:
        print("rag: loading the documents and the model…", file=sys.stderr, flush=True)
        limit_torch_threads()
        assistant = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, settings=settings)
    limit_torch_threads()
    path = Path(feedback_path) if feedback_path is not None else default_feedback_path()
    demo = build_app(assistant, path, examples)
    print(f"rag: {len(assistant.documents)} document(s) ready; votes go to {path}", file=sys.stderr, flush=True)
    try:
        # quiet: Gradio's own lines include "To create a public link, set `share=True`", which does not apply
        # to a server that binds 127.0.0.1 by design; the address is printed here instead.
        _, url, _ = launch(
            demo,
            host,
            port,
            prevent_thread_lock=True,
            quiet=True,
            private_paths=(assistant.corpus_dir, assistant.index_dir, path),
        )
    except AuthConfigError as exc:
        raise SystemExit(f"rag: error: {exc}") from None
    except OSError as exc:
        raise SystemExit(f"could not start the web server on {host}:{port}: {exc} (try --port {port + 1})") from None
    print(f"rag: the web chat is on {url} (Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:  # Gradio's own block_thread() would print "Keyboard interruption in main thread..." on Ctrl-C
        while demo.is_running:
            time.sleep(0.5)
    finally:
        demo.close(verbose=False)
