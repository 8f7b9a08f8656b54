"""The web chat: a Gradio Blocks app over one shared `rag.Assistant`.

    rag serve --port 7860            # or: python -c "from ui.app import serve; serve()"

`build_app(assistant, feedback_path)` returns the Blocks (used by tests); start it with `launch(demo, ...)`,
which also applies the page's CSS and theme (Gradio 6 takes those in `launch`, not in `Blocks`).

Named API endpoints (callable with gradio_client):
    /ask       (question, history=None, top_k=None) -> Answer.to_dict()
    /feedback  (question, vote, history=None, top_k=None) -> the JSON line written
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Assistant, EmptyQuestionError, InvalidQuestionError, QuestionTooLongError
from rag.settings import MAX_TOP_K

from .feedback import FeedbackLog, make_record, normalise_vote
from .render import esc, render_answer, render_notice, render_user
from .security import AuthConfigError, exposure_warning, public_message, security_options
from .serving import queue_options, thread_options  # queue and threads: tuned by the load test

log = logging.getLogger("rag.ui")

EXAMPLE_COUNT = 4
PREFERRED_EXAMPLES = (
    "Where was the fifth export strategy meeting held?",
    "Which hospital will work with MIT on medical big data?",
    "What did Yoon visit during his U.S. trip?",
    "Who wrote the article?",
)
EMPTY_MESSAGE = "Please type a question first."
TOP_K_LABEL = "Passages shown (top k)"  # the answer weighs max(top_k, Settings.answer_pool) passages; top_k are shown
ERROR_MESSAGE = "Sorry — something went wrong while answering. Please try again or rephrase the question."

CSS = """
.gradio-container { max-width: 980px !important; margin: 0 auto !important; }
.gradio-container .main { padding: 16px clamp(8px, 3vw, 32px) !important; }  /* outside @media: Gradio scopes those */
#rag-header h1 { font-size: 1.45rem; margin: 0 0 .2rem 0; line-height: 1.25; }
#rag-header p { margin: 0; color: var(--body-text-color-subdued); font-size: .92rem; }
#rag-header p.rag-how { font-size: .82rem; margin-top: .15rem; }
#rag-header-block { padding: 0 !important; }
#rag-header-block .html-container { padding: 4px 2px 6px 2px !important; }
#rag-header .rag-about { font-weight: 600; color: var(--body-text-color); }
#rag-chat button[aria-label="Clear"] { display: none !important; }  /* the "Clear conversation" button does this */
#rag-chat .rag-user { white-space: normal; overflow-wrap: anywhere; }
#rag-chat .rag-answer, #rag-chat .rag-notice { overflow-wrap: anywhere; line-height: 1.5; }
#rag-chat .rag-text { font-size: 1rem; }
#rag-chat sup.rag-cite { color: var(--color-accent); font-weight: 700; font-size: .72em; margin-left: 1px; }
#rag-chat .rag-sources { margin-top: .7rem; border-top: 1px solid var(--border-color-primary); padding-top: .45rem; }
#rag-chat .rag-sources-h { font-size: .78rem; font-weight: 700; text-transform: uppercase; letter-spacing: .04em;
  color: var(--body-text-color-subdued); margin-bottom: .35rem; }
#rag-chat .rag-sources-h .rag-muted { text-transform: none; letter-spacing: 0; font-weight: 400; margin-left: .4rem; }
#rag-chat .rag-source { margin: .45rem 0 .7rem 0; }
#rag-chat .rag-source-h { font-size: .86rem; margin-bottom: .2rem; }
#rag-chat .rag-num { display: inline-block; min-width: 1.35em; padding: 0 .3em; margin-right: .15em; border-radius: 4px;
  background: var(--color-accent); color: white; font-weight: 700; font-size: .78rem; text-align: center; }
#rag-chat .rag-title { font-weight: 600; }
#rag-chat .rag-date, #rag-chat .rag-muted { color: var(--body-text-color-subdued); font-size: .85em; }
#rag-chat .rag-tag { display: inline-block; font-size: .72rem; padding: 0 .4em; border-radius: 4px;
  border: 1px solid var(--border-color-primary); color: var(--body-text-color-subdued); }
#rag-chat .rag-tag-related { border-color: #b45309; color: #b45309; text-transform: uppercase; font-weight: 700; }
#rag-chat .rag-passage { font-size: .88rem; color: var(--body-text-color-subdued); border-left: 3px solid var(--border-color-primary);
  padding: .15rem 0 .15rem .65rem; }
#rag-chat mark.rag-quote { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
#rag-chat strong.rag-short { font-weight: 700; }
#rag-chat mark.rag-related-quote { background: rgba(100, 116, 139, .14); color: var(--body-text-color); text-decoration: none;
  padding: 0 .1em; border-radius: 2px; cursor: text; }  /* "related": a faint wash, unlike an answer or a link */
/* The chat scrolls a new question to its top (SCROLL_TO_QUESTION_JS), so the arrow Gradio floats over the
   messages to jump to the bottom would cover the answer's text: hidden. */
#rag-chat .scroll-down-button-container { display: none !important; }
#rag-chat .rag-abstain-h, #rag-chat .rag-notice-h { font-weight: 700; }
#rag-chat .rag-abstain-h::before { content: "∅ "; color: #b45309; }
#rag-chat .rag-abstain .rag-text { color: var(--body-text-color-subdued); font-size: .92rem; }
#rag-chat .rag-related .rag-passage { border-left-style: dashed; }
#rag-chat .rag-notice-h::before { content: "ℹ️ "; }
#rag-chat details.rag-retrieved { margin-top: .5rem; font-size: .8rem; }
#rag-chat details.rag-retrieved summary { cursor: pointer; color: var(--body-text-color-subdued); }
#rag-chat .rag-table-wrap { overflow-x: auto; }
#rag-chat .rag-retrieved table { border-collapse: collapse; width: 100%; margin-top: .3rem; }
#rag-chat .rag-retrieved th, #rag-chat .rag-retrieved td { border-bottom: 1px solid var(--border-color-primary);
  padding: .2rem .35rem; text-align: left; vertical-align: top; }
#rag-chat .rag-retrieved td:nth-child(-n+4) { white-space: nowrap; font-variant-numeric: tabular-nums; }
.rag-examples { gap: .4rem !important; flex-wrap: wrap !important; }
.rag-examples button { flex: 0 1 auto !important; min-width: 0 !important; white-space: normal !important;
  font-weight: 400 !important; text-align: left !important; }
.rag-examples-label { flex: 0 0 auto !important; min-width: 0 !important; align-self: center; }
.rag-examples-label p { margin: 0 !important; color: var(--body-text-color-subdued); font-size: .85rem; }
@media (max-width: 640px) {
  #rag-header h1 { font-size: 1.15rem; }
  #rag-chat .rag-passage { padding-left: .45rem; }
}
"""


# After each reply: bring the new question (or, with no question, the reply) to the top of the chat's scroll
# box, so the question and the start of its answer are in view rather than the end of a long answer.
# Gradio's own autoscroll is off (`autoscroll=False`). `chat` is the chatbot's value: the script waits until
# that many messages are on the page, then scrolls once, and once more after layout settles unless the reader
# has scrolled meanwhile.
SCROLL_TO_QUESTION_JS = """
(chat) => {
  const root = document.querySelector('#rag-chat');
  if (!root) return [];
  const want = Array.isArray(chat) ? chat.length : 0;
  const started = performance.now();
  let placed = null;
  const place = () => {
    const box = root.querySelector('[role=log]');
    const messages = [...root.querySelectorAll('[data-testid=user], [data-testid=bot]')];
    if (!box || !messages.length) return null;
    let target = messages[messages.length - 1];
    const before = messages[messages.length - 2];
    if (target.dataset.testid === 'bot' && before && before.dataset.testid === 'user') target = before;
    // a question: its whole row; a reply with no question (grouped with the reply before it): the reply itself
    const row = (target.dataset.testid === 'user' ? target.closest('.message-row') : target.closest('.message')) || target;
    box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 4;
    const r = row.getBoundingClientRect();
    if (r.top < 0 || r.top > window.innerHeight - 120) window.scrollBy(0, r.top - 8);
    return box.scrollTop;
  };
  const wait = () => {
    const count = root.querySelectorAll('[data-testid=user], [data-testid=bot]').length;
    if (count < want && performance.now() - started < 5000) { requestAnimationFrame(wait); return; }
    requestAnimationFrame(() => {
      placed = place();
      setTimeout(() => {
        const box = root.querySelector('[role=log]');
        if (box && placed !== null && Math.abs(box.scrollTop - placed) < 2) place();
      }, 300);
    });
  };
  requestAnimationFrame(wait);
  return [];
}
"""


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


def _eval_files(assistant: Assistant) -> list[Path]:
    roots = []
    if assistant.corpus_dir is not None:
        roots.append(Path(assistant.corpus_dir).resolve().parent)
    roots += [Path.cwd(), Path(__file__).resolve().parent.parent]
    seen, files = set(), []
    for root in roots:
        path = root / "eval" / "article_qa.jsonl"
        if path not in seen and path.is_file():
            seen.add(path)
            files.append(path)
    return files


def pick_examples(assistant: Assistant, limit: int = EXAMPLE_COUNT) -> list[str]:
    """Short, answerable questions: the preferred list, then the eval set's; kept only if answered now."""
    candidates = list(PREFERRED_EXAMPLES)
    for path in _eval_files(assistant):
        try:
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                if item.get("answerable") and not item.get("history") and len(item.get("question", "")) <= 70:
                    candidates.append(item["question"])
        except (OSError, ValueError) as exc:
            log.warning("could not read example questions from %s: %s", path, exc)
    chosen: list[str] = []
    for question in dict.fromkeys(candidates):
        try:
            if assistant.ask(question).answered:
                chosen.append(question)
        except Exception:  # an example must never stop the server
            log.exception("example question failed: %r", question)
        if len(chosen) >= limit:
            break
    return chosen


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

    def answer_question(question: Any, history: Sequence[str], top_k: Any, show_passages: bool):
        """(assistant message HTML, record for votes or None, question to remember or None)."""
        if not isinstance(question, str) or not question.strip():
            return render_notice(EMPTY_MESSAGE, _example_hint(examples)), None, None
        try:
            answer = assistant.ask(question, history=list(history), top_k=_top_k(top_k, default_top_k))
        except EmptyQuestionError:
            return render_notice(EMPTY_MESSAGE, _example_hint(examples)), None, None
        except QuestionTooLongError as exc:
            return (
                render_notice("That question is too long for me.", f"{exc}. Please ask one short question at a time."),
                None,
                None,
            )
        except InvalidQuestionError as exc:
            return render_notice("I can't take that question as written.", public_message(exc)), None, None
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
        if isinstance(message, str) and message.strip():
            chat.append({"role": "user", "content": render_user(message)})
        html, record, asked = answer_question(message, history, top_k, show_passages)
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
            placeholder="Ask a question below. Answers quote the documents and show where each sentence comes from.",
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


def _example_hint(examples: Sequence[str]) -> str | None:
    return f"For example: “{examples[0]}”" if examples else None


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
) -> None:
    """Load the documents and model once (unless given a loaded `assistant`), then serve the chat until
    interrupted (blocking)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if assistant is None:
        print("Loading the documents and the model…", file=sys.stderr, flush=True)
        limit_torch_threads()
        assistant = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, settings=settings)
    limit_torch_threads()
    path = Path(feedback_path) if feedback_path is not None else default_feedback_path()
    demo = build_app(assistant, path)
    print(f"{len(assistant.documents)} document(s) ready; votes go to {path}", file=sys.stderr, flush=True)
    try:
        launch(demo, host, port, private_paths=(assistant.corpus_dir, assistant.index_dir, path))
    except AuthConfigError as exc:
        raise SystemExit(f"rag: error: {exc}") from None
    except OSError as exc:
        raise SystemExit(f"could not start the web server on {host}:{port}: {exc} (try --port {port + 1})") from None
