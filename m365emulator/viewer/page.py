"""HTML for the Outlook viewer: the page shell and the week grid with events placed by time."""

from __future__ import annotations

import html
from datetime import date, timedelta

E = html.escape
HOUR_PX = 40
COLORS = {
    "free": "#e8f1fb",
    "tentative": "#b5d3f3",
    "busy": "#0f6cbd",
    "oof": "#8a3ffc",
    "workingElsewhere": "#5c9e5c",
}
CSS = """
body{font-family:Segoe UI,system-ui,sans-serif;margin:0;color:#242424;background:#faf9f8}
header{padding:12px 20px;background:#0f6cbd;color:#fff}header h1{margin:0;font-size:20px}
header a{color:#fff}nav{margin-top:6px}.cal{margin-right:10px;padding:2px 8px;border-radius:10px}
.cal.on{background:#fff;color:#0f6cbd}.grid{display:grid;grid-template-columns:50px repeat(7,minmax(0,1fr));margin:10px 20px}
.day{position:relative;border-left:1px solid #ddd;height:%(h)spx;background:repeating-linear-gradient(#fff 0,#fff %(hm)spx,#eee %(hm)spx,#eee %(hp)spx)}
.hours div{height:%(hp)spx;font-size:11px;color:#666}.head{text-align:center;font-weight:600;padding:4px;overflow-wrap:anywhere}
.ev{position:absolute;left:2px;right:2px;border-radius:4px;padding:2px 4px;font-size:12px;overflow:hidden;
color:#fff;text-decoration:none;border-left:4px solid rgba(0,0,0,.25)}.ev.free,.ev.tentative{color:#242424}
.allday{font-size:12px;padding:2px 4px;margin:1px;border-radius:4px;background:#c7e0f4;display:block}
form.event label{display:block;margin:6px 0}details,h1,h2,ul,form{margin:10px 20px}.danger{color:#a4262c}
form.inline{display:inline;margin:0 0 0 8px}
"""


def page(title: str, body: str) -> str:
    """The page shell. A body without its own <main> is the main content as a whole (a landmark for screen
    readers: every page has one)."""
    css = CSS % {"h": HOUR_PX * 24, "hm": HOUR_PX - 1, "hp": HOUR_PX}
    if "<main" not in body:
        body = f"<main>{body}</main>"
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{E(title)}</title>"
        f"<style>{css}</style></head><body>{body}</body></html>"
    )


def week_grid(monday: date, entries: list[dict]) -> str:
    """Seven day columns; each event is a block whose top and height follow its local start and end."""
    hours = "".join(f"<div>{h:02d}:00</div>" for h in range(24))
    heads = "<div></div>" + "".join(
        f"<div class=head>{(monday + timedelta(days=d)).strftime('%a %d %b')}</div>" for d in range(7)
    )
    columns = []
    for d in range(7):
        day = monday + timedelta(days=d)
        blocks, all_day = [], []
        for e in entries:
            if e["all_day"]:
                if e["start"].date() <= day < e["end"].date():
                    all_day.append(f'<a class=allday href="{E(e["href"])}">{E(e["subject"])}</a>')
                continue
            if (
                e["start"].date() > day
                or e["end"].date() < day
                or (
                    e["end"].date() == day
                    and e["end"].time() == e["end"].time().min
                    and e["start"].date() < day
                )
            ):
                continue
            top = 0 if e["start"].date() < day else e["start"].hour * 60 + e["start"].minute
            bottom = 24 * 60 if e["end"].date() > day else e["end"].hour * 60 + e["end"].minute
            height = max(bottom - top, 20) * HOUR_PX / 60
            color = COLORS.get(e["show_as"], "#0f6cbd")
            label = f"{e['start'].strftime('%H:%M')}-{e['end'].strftime('%H:%M')} {E(e['subject'])}"
            blocks.append(
                f'<a class="ev {E(e["show_as"])}" href="{E(e["href"])}" title="{label}" '
                f'style="top:{top * HOUR_PX / 60:.0f}px;height:{height:.0f}px;background:{color}">{label}</a>'
            )
        columns.append(
            f'<div class=day data-date="{day.isoformat()}">{"".join(all_day)}{"".join(blocks)}</div>'
        )
    return f"<div class=grid>{heads}<div class=hours>{hours}</div>{''.join(columns)}</div>"
