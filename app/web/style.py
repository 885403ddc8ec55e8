"""The web UI's look: the stylesheet and the header (plain strings; `app.web.app` hands them to
gradio). The classes are those `app.web.views` writes: cards, alerts, tables, and the provenance
marks (`kv-s-reused` subtle, `kv-s-adapted` light blue, `kv-s-new` yellow, `kv-s-unverified`
orange, `kv-s-gap` red outline) with the part coverage list (`kv-cover`).
"""

CSS = """
.gradio-container { max-width: 1500px !important; margin: 0 auto; }
#kv-header { background: #154273; color: #fff; padding: 14px 20px; border-radius: 6px; }
#kv-header h1 { margin: 0; font-size: 1.45rem; color: #fff; }
#kv-header p { margin: 4px 0 0; opacity: .9; font-size: .92rem; color: #fff; }
#kv-header .kv-model { float: right; font-size: .8rem; opacity: .85; margin-top: 6px;
                       color: #fff; }
.kv-card { border: 1px solid #d0d7e2; border-left: 4px solid #154273; border-radius: 6px;
           padding: 10px 12px; margin-bottom: 10px; background: #fff; font-size: .9rem; }
.kv-card-unused { border-left-color: #9aa5b5; background: #f7f8fa; }
.kv-card-head { display: flex; gap: 8px; align-items: baseline; }
.kv-num { font-weight: 700; color: #154273; white-space: nowrap; }
.kv-unused { font-weight: 500; color: #6b7686; font-size: .8rem; }
.kv-title { font-weight: 600; color: #1b1f24; display: -webkit-box; -webkit-line-clamp: 2;
             -webkit-box-orient: vertical; overflow: hidden; }
.kv-df table, .kv-df td, .kv-df th, .kv-df textarea, .kv-df span {
  font-family: var(--font) !important; }
.kv-table, .kv-table tr, .kv-table th, .kv-table td { border: 0 !important; }
.kv-table tr { border-bottom: 1px solid #e3e7ee !important; }
.kv-meta, .kv-score { color: #535f6f; font-size: .82rem; margin-top: 2px; }
.kv-q { margin-top: 8px; }
.kv-a { margin-top: 6px; max-height: 14em; overflow-y: auto; white-space: pre-wrap;
        border-top: 1px dashed #d0d7e2; padding-top: 6px; }
.kv-empty { color: #6b7686; font-style: italic; padding: 8px 2px; }
.kv-alert { border-radius: 6px; padding: 10px 14px; margin-bottom: 8px; font-size: .92rem; }
.kv-alert ul { margin: 6px 0 0 18px; }
.kv-alert-error { background: #fde8e8; border: 1px solid #d52b1e; color: #7a1010; }
.kv-alert-warn { background: #fff4d6; border: 1px solid #e0a100; color: #5c4300; }
.kv-alert-ok { background: #e8f5eb; border: 1px solid #39870c; color: #1e4d08; }
.kv-audit { color: #6b7686; font-size: .8rem; }
.kv-table { width: 100%; border-collapse: collapse; font-size: .88rem; }
.kv-table th, .kv-table td { border-bottom: 1px solid #e3e7ee; padding: 5px 8px;
                             text-align: left; vertical-align: top; }
.kv-table tr.kv-contradicted td:first-child { color: #a4161a; font-weight: 600; }
.kv-table tr.kv-unsupported td:first-child { color: #8a5a00; font-weight: 600; }
#kv-cards { max-height: 78vh; overflow-y: auto !important; padding-right: 4px; }
.kv-review { border: 1px solid #d0d7e2; border-radius: 6px; padding: 10px 14px;
             margin-bottom: 8px; background: #fff; font-size: .92rem; }
.kv-review h4 { margin: 0 0 4px; font-size: .95rem; color: #154273; }
.kv-review h4 + .kv-counts { margin-top: -2px; }
.kv-review .kv-sec { margin-top: 12px; }
.kv-marked { line-height: 1.75; white-space: pre-wrap; margin-top: 6px; }
.kv-s { border-radius: 3px; padding: 1px 2px; -webkit-box-decoration-break: clone;
        box-decoration-break: clone; }
.kv-s-reused { background: #edf0f4; }
.kv-s-adapted { background: #d7e8f7; border-bottom: 2px dotted #4f83bd; }
.kv-s-new { background: #ffe27a; border-bottom: 2px solid #c98a00; }
.kv-s-unverified { background: #ffc39e; border-bottom: 2px solid #c2410c; }
.kv-s-gap { background: #fde8e8; color: #7a1010; font-weight: 600;
            outline: 1px dashed #d52b1e; }
.kv-legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .8rem;
             color: #535f6f; margin: 4px 0 2px; }
.kv-legend .kv-s { padding: 0 6px; color: #1b1f24; }
.kv-counts { color: #535f6f; font-size: .82rem; }
.kv-cover { list-style: none; margin: 4px 0 0; padding: 0; }
.kv-cover li { padding: 5px 6px 5px 28px; position: relative; border-top: 1px solid #eef1f5; }
.kv-cover li::before { position: absolute; left: 8px; font-weight: 700; }
.kv-cover li.kv-part-ok::before { content: "✓"; color: #39870c; }
.kv-cover li.kv-part-gap { background: #fff1f0; }
.kv-cover li.kv-part-gap::before { content: "✗"; color: #d52b1e; }
.kv-cover li.kv-part-nosource { background: #fff4d6; }
.kv-cover li.kv-part-nosource::before { content: "!"; color: #8a5a00; }
.kv-cover .kv-src { display: block; color: #535f6f; font-size: .82rem; }
.kv-cover .kv-open { display: block; color: #7a1010; font-size: .82rem; font-weight: 600; }
"""

HEADER = """<div id="kv-header"><span class="kv-model">Taalmodel: {model}</span><h1>{title}</h1>
<p>Concept-antwoorden op Kamervragen, consistent met wat het kabinet eerder antwoordde.
Elk concept is een voorstel: controleer het altijd voordat het de deur uitgaat.</p></div>"""
