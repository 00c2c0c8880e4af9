// Small behaviours without inline script (the Content-Security-Policy forbids it).
document.documentElement.classList.add("js");

document.addEventListener("click", (event) => {
  // <button data-copy="#element-id"> copies that element's text (the Redirect URL and Feed URL boxes use it),
  // and says so in the page's status region (#copy-status, base.html), which screen readers read out.
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = (source.value !== undefined ? source.value : source.textContent).trim();
  const label = source.id && document.querySelector(`label[for="${source.id}"]`);
  const what = label ? label.textContent.trim() : "The text";
  const say = (words) => {
    const status = document.getElementById("copy-status");
    if (status) status.textContent = words;
  };
  navigator.clipboard.writeText(text).then(
    () => {
      button.textContent = "Copied";
      say(`${what} copied to the clipboard.`);
    },
    () => {
      if (source.select) source.select();
      say(`${what} is selected: press Ctrl+C (Command+C on a Mac) to copy it.`);
    },
  );
});

document.addEventListener("click", (event) => {
  // The phone navigation: the Menu button shows and hides the links it controls.
  const toggle = event.target.closest(".nav-toggle");
  if (!toggle) return;
  const menu = document.getElementById(toggle.getAttribute("aria-controls"));
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", String(open));
  menu.classList.toggle("open", open);
});

document.addEventListener("keydown", (event) => {
  // Escape closes the open phone menu and puts focus back on its button.
  if (event.key !== "Escape") return;
  const toggle = document.querySelector(".nav-toggle[aria-expanded=true]");
  if (!toggle || !document.getElementById(toggle.getAttribute("aria-controls")).contains(event.target)) return;
  toggle.click();
  toggle.focus();
});

document.addEventListener("change", (event) => {
  // <select data-toggle-target="#id" data-toggle-value="x">: show #id only while the value is x.
  const select = event.target.closest("[data-toggle-target]");
  if (!select) return;
  const target = document.querySelector(select.dataset.toggleTarget);
  if (target) target.hidden = select.value !== select.dataset.toggleValue;
});

// Tables that show the same week below the grid (the busy times) follow the day the grid shows on phones.
function followWeekGridDay() {
  const grid = document.getElementById("week-grid");
  if (!grid) return;
  for (const table of document.querySelectorAll(".busy-grid")) table.dataset.day = grid.dataset.day;
}
followWeekGridDay();

document.addEventListener("click", (event) => {
  // The week grid's day buttons on phones: show that day's column (CSS keys off the table's data-day).
  const button = event.target.closest("[data-show-day]");
  if (!button) return;
  const table = document.getElementById(button.getAttribute("aria-controls"));
  table.dataset.day = button.dataset.showDay;
  followWeekGridDay();
  for (const other of button.parentElement.querySelectorAll("[data-show-day]")) {
    other.setAttribute("aria-pressed", String(other === button));
  }
});

// The grid's assign box: a WAI-ARIA combobox (list autocomplete) over the schedule's roster, matching a
// name or an email address as typed. The roster comes from the page's <datalist>; the native datalist popup
// is switched off once the box is enhanced, so the keyboard behaves the same in every browser.
const combo = {
  listbox() {
    let list = document.getElementById("staff-options");
    if (!list) {
      list = document.createElement("ul");
      list.id = "staff-options";
      list.className = "combo-list";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", "Staff on the roster");
      list.hidden = true;
      document.body.append(list);
      list.addEventListener("mousedown", (event) => {
        const option = event.target.closest("[role=option]");
        if (!option) return;
        event.preventDefault(); // keep focus in the box
        combo.choose(combo.input, option);
      });
    }
    return list;
  },
  enhance(input) {
    combo.listbox(); // (again, if an in-place update took it away with the cell it was shown in)
    if (input.getAttribute("role") === "combobox") return;
    input.dataset.roster = input.getAttribute("list");
    input.removeAttribute("list");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", "staff-options");
  },
  people(input) {
    const source = document.getElementById(input.dataset.roster);
    if (!source) return [];
    return Array.from(source.options, (o) => ({ email: o.value, name: o.label || o.textContent }));
  },
  open(input) {
    const wanted = input.value.trim().toLowerCase();
    const people = combo.people(input);
    const matches = people.filter((p) => !wanted || p.name.toLowerCase().includes(wanted) || p.email.toLowerCase().includes(wanted)).slice(0, 8);
    const list = combo.listbox();
    combo.input = input;
    list.replaceChildren(...matches.map((p, i) => {
      const li = document.createElement("li");
      li.id = `staff-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      const sameName = people.filter((q) => q.name.toLowerCase() === p.name.toLowerCase()).length > 1;
      li.dataset.value = sameName ? p.email : p.name;
      li.append(p.name);
      const email = document.createElement("span");
      email.className = "muted";
      email.textContent = p.email;
      li.append(email);
      return li;
    }));
    if (!matches.length) return combo.close(input);
    input.closest(".assign, .combo-anchor").append(list);
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    input.removeAttribute("aria-activedescendant");
  },
  close(input) {
    const list = document.getElementById("staff-options");
    if (list) list.hidden = true;
    if (input) {
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
  },
  move(input, step) {
    const list = combo.listbox();
    if (list.hidden) combo.open(input);
    const options = Array.from(list.querySelectorAll("[role=option]"));
    if (!options.length) return;
    const current = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
    const next = current < 0 ? (step > 0 ? 0 : options.length - 1) : (current + step + options.length) % options.length;
    options.forEach((o, i) => o.setAttribute("aria-selected", String(i === next)));
    input.setAttribute("aria-activedescendant", options[next].id);
    options[next].scrollIntoView({ block: "nearest" });
  },
  choose(input, option) {
    input.value = option.dataset.value;
    combo.close(input);
    input.focus();
  },
};

document.addEventListener("focusin", (event) => {
  const input = event.target.closest(".staff-combo");
  if (input) combo.enhance(input);
});
document.addEventListener("input", (event) => {
  const input = event.target.closest(".staff-combo");
  if (input) combo.open(input);
});
document.addEventListener("focusout", (event) => {
  const input = event.target.closest(".staff-combo");
  if (input) combo.close(input);
});
document.addEventListener("keydown", (event) => {
  const input = event.target.closest(".staff-combo");
  if (!input) return;
  const list = document.getElementById("staff-options");
  const isOpen = list && !list.hidden && combo.input === input;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    combo.move(input, event.key === "ArrowDown" ? 1 : -1);
  } else if (event.key === "Enter" && isOpen && input.getAttribute("aria-activedescendant")) {
    // Enter takes the highlighted suggestion; the next Enter assigns.
    event.preventDefault();
    combo.choose(input, document.getElementById(input.getAttribute("aria-activedescendant")));
  } else if (event.key === "Escape") {
    if (isOpen) combo.close(input);
    else input.value = "";
  }
});

// An in-place update that did not save: htmx swaps nothing, so say so where screen readers and eyes will find
// it (the next successful update replaces #grid-status with a fresh, hidden one).
function sayNotSaved(words) {
  const status = document.getElementById("grid-status");
  if (!status) return;
  status.classList.remove("visually-hidden");
  status.classList.add("alert", "alert-error");
  status.textContent = words;
}
document.addEventListener("htmx:responseError", () => {
  // The server refused it (e.g. the shift was deleted meanwhile, or the session ended).
  sayNotSaved("That did not save: the page may be out of date. Reload the page and try again.");
});
document.addEventListener("htmx:sendError", () => {
  // No answer at all: the network or the server is down.
  sayNotSaved("That did not save: ShiftDesk could not be reached. Check the connection and try again.");
});
