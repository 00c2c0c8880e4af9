// Small behaviours without inline script (the Content-Security-Policy forbids it).
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
document.addEventListener("change", (event) => {
  // <select data-toggle-target="#id" data-toggle-value="x">: show #id only while the value is x.
  const select = event.target.closest("[data-toggle-target]");
  if (!select) return;
  const target = document.querySelector(select.dataset.toggleTarget);
  if (target) target.hidden = select.value !== select.dataset.toggleValue;
});
