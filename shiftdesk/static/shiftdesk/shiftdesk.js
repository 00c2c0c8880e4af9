// Small behaviours without inline script (the Content-Security-Policy forbids it).
document.documentElement.classList.add("js");

document.addEventListener("click", (event) => {
  // <button data-copy="#element-id"> copies that element's text (the Redirect URL box uses it).
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = (source.value !== undefined ? source.value : source.textContent).trim();
  navigator.clipboard.writeText(text).then(
    () => { button.textContent = "Copied"; },
    () => { if (source.select) source.select(); },
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
