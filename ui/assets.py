"""The page's look and one behaviour: its CSS, and the script that scrolls a new question into view."""

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
#rag-chat .rag-retrieved th { white-space: nowrap; overflow-wrap: normal; }  /* "dense", not "dens/e" */
/* 👍/👎 rate answers and abstentions; a notice ("Please type a question first.") has nothing to rate. */
#rag-chat .message:has(.rag-notice) + .message-buttons { display: none !important; }
/* Before the first question the chat is one padded line, not an empty box the height of the screen: on a
   phone the input, the examples and what the documents are about then fit on the first screen. */
#rag-chat:has(.placeholder-content) { height: auto !important; min-height: 0 !important; }
#rag-chat .placeholder-content { padding: .7rem 1rem !important; }
#rag-chat .placeholder-content p { margin: 0 !important; color: var(--body-text-color-subdued); }
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
