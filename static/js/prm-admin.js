// The admin's accessibility fixes (issue 14). Django's filter_horizontal widget (SelectFilter2.js,
// set up on the window's load event) puts an aria-label on a plain <span> (the magnifier icon in
// the search box's label), where ARIA forbids one: as an image the icon keeps its words.
"use strict";
window.addEventListener("load", () => {
  window.setTimeout(() => {
    document.querySelectorAll("span.help-tooltip[aria-label]:not([role])").forEach((icon) => {
      icon.setAttribute("role", "img");
    });
  }, 0);
});
