// The admin's accessibility fixes (issue 14), for markup Django's admin scripts build in the page.
// - filter_horizontal (SelectFilter2.js) puts an aria-label on a plain <span> (the magnifier icon
//   in the search box's label), where ARIA forbids one: as an image the icon keeps its words.
// - autocomplete_fields (Select2) builds a combobox and a read-only textbox named only by the
//   chosen value, so an empty one has no name: both take the field's label (or, in an inline row,
//   the select's own aria-label).
"use strict";
(function () {
  function fix() {
    document.querySelectorAll("span.help-tooltip[aria-label]:not([role])").forEach((icon) => {
      icon.setAttribute("role", "img");
    });
    document.querySelectorAll("select.admin-autocomplete[id]").forEach((select) => {
      const container = select.nextElementSibling;
      if (!container || !container.classList.contains("select2")) { return; }
      const label = document.querySelector(`label[for="${select.id}"]`);
      const named = container.querySelectorAll("[role=combobox], [role=textbox]");
      if (label) {
        label.id = label.id || `${select.id}-label`;
        named.forEach((element) => element.setAttribute("aria-labelledby", label.id));
      } else if (select.getAttribute("aria-label")) {
        named.forEach((element) => {
          element.removeAttribute("aria-labelledby");
          element.setAttribute("aria-label", select.getAttribute("aria-label"));
        });
      }
    });
  }
  // After the admin's own scripts: they set up their widgets on DOM ready and on the window's load.
  window.addEventListener("load", () => window.setTimeout(fix, 0));
  document.addEventListener("formset:added", () => window.setTimeout(fix, 0));
})();
