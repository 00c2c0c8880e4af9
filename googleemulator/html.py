"""The page shell every Google emulator page uses: landmarks (header, main), one h1, labelled controls,
a visible focus ring and text colours with at least 4.5:1 contrast (WCAG 2.1 AA; tests/a11y runs axe); on
phones long ids and addresses in tables wrap, so no page scrolls sideways at 375 px."""

from __future__ import annotations

import html

E = html.escape

CSS = """
*{box-sizing:border-box}body{font-family:Roboto,Arial,system-ui,sans-serif;margin:0;color:#202124;background:#fff}
header{padding:12px 24px;border-bottom:1px solid #dadce0;display:flex;gap:16px;align-items:center}
header .brand{font-size:20px;color:#3c4043;font-weight:500;text-decoration:none}
main{max-width:960px;margin:24px auto;padding:0 24px}
main.narrow{max-width:460px;border:1px solid #dadce0;border-radius:8px;padding:36px 40px}
h1{font-size:24px;font-weight:400;margin:0 0 12px}h2{font-size:18px;font-weight:500;margin:24px 0 8px}
a{color:#1a56c4}p.muted,.muted{color:#4d5156}
label{display:block;margin:12px 0 4px;font-weight:500}
input[type=text],input[type=email],input[type=password],input[type=datetime-local],input[type=date],select,textarea{
 width:100%;padding:10px;border:1px solid #70757a;border-radius:4px;font:inherit;color:#202124}
input[type=checkbox],input[type=radio]{width:18px;height:18px;vertical-align:middle}
.choice label{display:inline;font-weight:400;margin-left:6px}
button,.button{background:#1a56c4;color:#fff;border:0;border-radius:4px;padding:9px 22px;font:inherit;
 font-weight:500;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:#1a56c4;border:1px solid #70757a}
button.danger{background:#b3261e}
:focus-visible{outline:3px solid #e37400;outline-offset:2px}
.actions{display:flex;gap:12px;justify-content:flex-end;margin-top:24px}
.error{color:#b3261e}.ok{color:#137333}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:8px;border-bottom:1px solid #dadce0}
ul.accounts{list-style:none;padding:0}ul.accounts li{border-bottom:1px solid #dadce0}
ul.accounts button{background:none;color:#202124;width:100%;text-align:left;padding:12px 4px}
ul.scopes li{margin:8px 0}code.value{background:#f1f3f4;padding:4px 6px;border-radius:4px;word-break:break-all}
.copy{margin-left:8px;padding:4px 10px}
@media (max-width:600px){main{padding:0 12px}main.narrow{padding:24px 16px}table{font-size:14px}
 th,td{padding:6px 4px;overflow-wrap:anywhere}}
"""

COPY_SCRIPT = (
    "<script>document.querySelectorAll('button.copy').forEach(function(b){b.addEventListener('click',"
    "function(){navigator.clipboard&&navigator.clipboard.writeText(document.getElementById("
    "b.dataset.target).textContent);b.textContent='Copied';});});</script>"
)


def page(title: str, body: str, *, header: str = "Google", narrow: bool = False, script: str = "") -> str:
    """`body` is the content of <main>; it must hold the page's one <h1>."""
    cls = ' class="narrow"' if narrow else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{E(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f'<body><header><span class="brand">{E(header)}</span></header>'
        f"<main{cls}>{body}</main>{script}</body></html>"
    )


def hidden(fields: dict[str, str | None]) -> str:
    return "".join(
        f'<input type="hidden" name="{E(k)}" value="{E(v)}">' for k, v in fields.items() if v is not None
    )
