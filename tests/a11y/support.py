"""Accessibility checks shared by tests/a11y: axe-core's WCAG 2.0/2.1 A and AA rules in Chromium, the phone
viewport checks (no sideways scrolling, touch target sizes), and the demo world the page sweeps run over."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
_axe = Axe()


def axe_violations(page) -> list[str]:
    """Every WCAG 2.0/2.1 A/AA violation axe-core finds on the page, one readable line per failing node."""
    results = _axe.run(
        page, options={"runOnly": {"type": "tag", "values": WCAG_AA_TAGS}, "resultTypes": ["violations"]}
    )
    lines = []
    for violation in results.response["violations"]:
        for node in violation["nodes"]:
            lines.append(
                f"{violation['id']} ({violation['impact']}): {node['target']} {node.get('failureSummary', '')}".replace(
                    "\n", " "
                )
            )
    return lines


# axe-core 4.x no longer reports duplicate ids or references to ids that do not exist (WCAG 4.1.1 is obsolete
# in 2.2), yet both break labels and descriptions: a label's `for` finds the first of two ids, and a missing
# aria-describedby target silently drops the help text. So these are checked here as well.
ID_PROBLEMS_JS = """() => {
  const problems = [];
  const seen = new Map();
  for (const el of document.querySelectorAll("[id]")) seen.set(el.id, (seen.get(el.id) || 0) + 1);
  for (const [id, n] of seen) if (n > 1) problems.push(`duplicate id "${id}" (${n} elements)`);
  for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls", "aria-activedescendant", "for", "list"]) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      if (attr === "aria-activedescendant" && !el.getAttribute(attr)) continue;
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) problems.push(`${attr}="${id}" on <${el.tagName.toLowerCase()} name="${el.getAttribute("name") || ""}"> points at no element`);
      }
    }
  }
  return problems;
}"""


def id_problems(page) -> list[str]:
    return page.evaluate(ID_PROBLEMS_JS)


def assert_accessible(page, where: str = "") -> None:
    problems = axe_violations(page) + id_problems(page)
    assert not problems, f"axe found WCAG A/AA violations on {where or page.url}:\n" + "\n".join(problems)


def sideways_overflow(page) -> int:
    """How many CSS pixels the document is wider than the viewport (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def sticking_out(page, limit: int = 3) -> str:
    """The innermost elements whose right edge passes the viewport's, for a sideways-scrolling failure's
    message: "td.cell[3] (right edge 335 px)"."""
    return page.evaluate(
        """(limit) => {
        const width = window.innerWidth, out = [];
        for (const el of document.body.querySelectorAll('*')) {
            const right = el.getBoundingClientRect().right;
            if (right <= width + 0.5) continue;
            if ([...el.children].some(c => c.getBoundingClientRect().right > width + 0.5)) continue;
            const cls = el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
            out.push(`${el.tagName.toLowerCase()}${cls} “${(el.textContent || '').trim().slice(0, 30)}” (right edge ${Math.round(right)} px)`);
            if (out.length >= limit) break;
        }
        return out.join('; ');
    }""",
        limit,
    )


def note_problems(page, where: str, failures: list[str], viewport: dict | None = None) -> None:
    """What assert_accessible finds on the page and, at phone width, sideways scrolling, added to `failures`
    (a sweep reports every page's problems at once instead of stopping at the first)."""
    try:
        assert_accessible(page, where)
    except AssertionError as e:
        failures.append(str(e))
    if viewport == PHONE and (overflow := sideways_overflow(page)) > 0:
        failures.append(f"{where} scrolls sideways at 375 px: {overflow} px too wide: {sticking_out(page)}")


SMALL_TARGETS_JS = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(el => el.offsetParent !== null || el.getClientRects().length)
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, r]) => r.width > 0 && (r.width < 24 || r.height < 24))
  .map(([el, r]) => `${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40)}" ${Math.round(r.width)}x${Math.round(r.height)}`)
"""


def small_targets(
    page, selector: str = "a, button, input, select, summary, textarea, [role=option]"
) -> list[str]:
    """Interactive elements drawn smaller than 24 x 24 CSS pixels (WCAG 2.2's minimum target size)."""
    return page.evaluate(SMALL_TARGETS_JS, selector)


# WCAG's contrast ratio between an element's computed colour property and the background behind it (the first
# ancestor with an opaque background), for the non-text contrast checks (1.4.11: 3:1 for components).
CONTRAST_JS = """([el, property]) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = null;
  for (let node = el.parentElement; node; node = node.parentElement) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] === 1)) { bg = c.slice(0, 3); break; }
  }
  bg = bg || [255, 255, 255];
  const fg = rgb(getComputedStyle(el)[property]).slice(0, 3);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def contrast(locator, css_property: str) -> float:
    return locator.evaluate(
        CONTRAST_JS.replace("([el, property])", "(el)").replace("[property]", f"[{css_property!r}]")
    )
