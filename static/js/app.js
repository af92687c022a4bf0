// Shutterbell's one script. The pages work without it; it makes the profile editor quicker.
// No inline scripts anywhere: the Content-Security-Policy forbids them.
document.documentElement.classList.add("js");

// The invoice's print view: its button opens the browser's print dialog (print or save as PDF).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// A part of a page that loads after it (a job's timeline, a profile's notification) and got an
// error or no answer: instead of "Loading…" for ever, say so and show its link or button that
// works without script; a link that opens its part in place (a job's details) is followed instead.
// Only such parts: a form's own errors come back as a page to swap.
for (const failure of ["htmx:responseError", "htmx:sendError"]) {
  document.addEventListener(failure, (event) => {
    const part = event.detail.elt;
    if (part.querySelector(":scope > .failed-only")) part.classList.add("load-failed");
    else if (part.matches("a[href][hx-get]")) window.location.assign(part.href);  // its own page, then
  });
}

// A search typed or a filter chosen while the page was still loading (a slow tablet) went to no
// one: htmx was not listening yet. Once it is, a list's search form that differs from what the
// page was drawn with asks for its list.
function changedSinceDrawn(field) {
  if (field.tagName !== "SELECT") return field.value !== field.defaultValue;
  const options = Array.from(field.options);
  if (field.multiple || field.size > 1) return options.some((option) => option.selected !== option.defaultSelected);
  const drawn = options.findIndex((option) => option.defaultSelected);
  // none marked selected: the browser shows the first it may
  return field.selectedIndex !== (drawn >= 0 ? drawn : options.findIndex((option) => !option.disabled));
}

document.addEventListener("htmx:load", (event) => {
  if (event.target !== document.body) return;
  for (const form of document.querySelectorAll("form[role=search][hx-get]")) {
    if (Array.from(form.querySelectorAll("input[type=search], select")).some(changedSinceDrawn)) {
      htmx.trigger(form, "submit");  // not requestSubmit: iPadOS 15 has none
    }
  }
});

(function () {
  "use strict";

  function rows() {
    return Array.from(document.querySelectorAll(".notification-row")).filter((row) => !row.hidden);
  }

  // Positions follow the order on screen; the server saves them as the notifications' order.
  function renumber() {
    rows().forEach((row, i) => {
      const input = row.querySelector("[data-position]");
      if (input) input.value = String(i);
    });
    const add = document.querySelector("[data-add-row]");
    if (add && rows().length) add.textContent = "+ " + add.dataset.labelMore;
  }

  // "Add another notification": tell the server which index and position the new row takes.
  document.addEventListener("htmx:configRequest", (event) => {
    if (!event.detail.elt.matches("[data-add-row]")) return;
    const indexes = Array.from(document.querySelectorAll(".notification-row")).map((r) => Number(r.dataset.index));
    event.detail.parameters = { index: String(Math.max(-1, ...indexes) + 1), position: String(rows().length) };
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    renumber();
    // A save that came back with errors: take the user to the first one.
    if (event.detail.elt.matches && event.detail.elt.matches("form.profile-form") && event.detail.xhr.status >= 400) {
      const invalid = document.querySelector('#profile-editor [aria-invalid="true"]');
      const banner = document.querySelector("#profile-editor .flash-error");
      if (banner) banner.scrollIntoView({ block: "center" });
      if (invalid) invalid.focus({ preventScroll: Boolean(banner) });
      return;
    }
    const added = event.detail.elt.matches && event.detail.elt.matches("#notifications");
    if (added) {
      const last = rows().pop();
      const select = last && last.querySelector("select");
      if (select) select.focus();
    }
  });

  document.addEventListener("click", (event) => {
    const move = event.target.closest("[data-move]");
    if (move) {
      event.preventDefault();
      const row = move.closest(".notification-row");
      const list = rows();
      const i = list.indexOf(row);
      const other = list[move.dataset.move === "up" ? i - 1 : i + 1];
      if (other) {
        if (move.dataset.move === "up") other.before(row); else other.after(row);
        renumber();
        move.focus();
      }
      return;
    }
    const remove = event.target.closest("[data-remove-row]");
    if (remove) {
      const row = remove.closest(".notification-row");
      const checkbox = row.querySelector('input[type="checkbox"][name$="-remove"]');
      if (checkbox) checkbox.checked = true;
      row.hidden = true; // stays in the form so the server retires it
      renumber();
      return;
    }
    const chip = event.target.closest("[data-insert]");
    if (chip) insertPlaceholder(chip);
  });

  // Put a placeholder where the cursor was in the row's subject or message.
  let lastField = null;
  document.addEventListener("focusin", (event) => {
    if (event.target.matches(".notification-row textarea, .notification-row .subject input")) lastField = event.target;
  });

  // Set-up: the browser's time zone, and the country of the chosen zone until someone picks one.
  document.addEventListener("DOMContentLoaded", () => {
    const zone = document.querySelector("[data-browser-zone]");
    const country = document.querySelector("[data-follows-zone]");
    if (!zone) return;
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (Array.from(zone.options).some((option) => option.value === browserZone)) zone.value = browserZone;
    const follow = () => {
      const code = zone.selectedOptions[0] && zone.selectedOptions[0].dataset.country;
      if (country && code && !country.dataset.picked) country.value = code;
    };
    zone.addEventListener("change", follow);
    if (country) country.addEventListener("change", () => { country.dataset.picked = "1"; });
    follow();
  });

  function insertPlaceholder(chip) {
    const row = chip.closest(".notification-row");
    const field = lastField && row.contains(lastField) ? lastField : row.querySelector("textarea");
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? field.value.length;
    field.value = field.value.slice(0, start) + chip.dataset.insert + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + chip.dataset.insert.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }
})();
