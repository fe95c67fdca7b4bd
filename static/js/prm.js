// Behaviour every page shares. It lives in a file because the Content-Security-Policy allows
// scripts from 'self' only: no inline <script> and no onclick=/onsubmit= attributes.
(function () {
  "use strict";

  // <form data-confirm="Question?"> asks before it is submitted (instead of onsubmit="return confirm(...)").
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) { return; }
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
