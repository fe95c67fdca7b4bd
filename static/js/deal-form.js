// Deal form: line amounts and totals as the partner types, and the htmx "add a line" button.
// Loaded as a file, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  // The script tag carries the page's numbers (data-max-lines).
  document.documentElement.classList.add("js");
  var form = document.getElementById("deal-form");
  if (!form) { return; }
  var rows = document.getElementById("line-rows");
  var total = document.getElementById("id_lines-TOTAL_FORMS");
  var addButton = document.getElementById("add-line");
  var currencySelect = document.getElementById("id_currency");
  var maxLines = parseInt(document.currentScript.dataset.maxLines, 10);
  var locale = document.documentElement.lang || "en";

  function currency() { return currencySelect ? currencySelect.value : ""; }
  function format(value) {
    var digits = currency() === "JPY" ? 0 : 2;
    return value.toLocaleString(locale, {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }
  function recalc() {
    var sum = 0, any = false;
    rows.querySelectorAll("[data-line]").forEach(function (row) {
      var quantity = parseFloat(row.querySelector(".line-quantity").value);
      var price = parseFloat(row.querySelector(".line-price").value);
      var product = row.querySelector(".line-product").value;
      var cell = row.querySelector(".line-amount");
      if (product && !isNaN(quantity) && !isNaN(price)) {
        var amount = quantity * price;
        sum += amount; any = true;
        cell.textContent = format(amount);
      } else {
        cell.textContent = "—";
      }
    });
    var text = any ? format(sum) + " " + currency() : "—";
    document.getElementById("lines-total").textContent = text;
    document.getElementById("deal-total").textContent = text;
    document.querySelectorAll(".deal-currency-label").forEach(function (el) { el.textContent = currency(); });
  }
  function updateAddButton() {
    if (addButton) {
      addButton.setAttribute("hx-vals", JSON.stringify({index: total.value}));
      addButton.disabled = parseInt(total.value, 10) >= maxLines;
    }
  }
  rows.addEventListener("input", recalc);
  rows.addEventListener("change", function (event) {
    var select = event.target.closest(".line-product");
    if (select) {
      var option = select.options[select.selectedIndex];
      var price = select.closest("[data-line]").querySelector(".line-price");
      // Suggest the list price when it is in the deal's currency and nothing was typed yet.
      if (option && option.dataset.price && !price.value && option.dataset.currency === currency()) {
        price.value = option.dataset.price;
      }
    }
    recalc();
  });
  rows.addEventListener("click", function (event) {
    var button = event.target.closest(".line-remove");
    if (!button) { return; }
    var row = button.closest("[data-line]");
    // An emptied row is ignored by the server, so hiding it removes the line.
    row.querySelector(".line-product").value = "";
    row.querySelector(".line-price").value = "";
    row.querySelector(".line-quantity").value = "1";
    row.classList.add("d-none");
    recalc();
  });
  if (currencySelect) { currencySelect.addEventListener("change", recalc); }
  if (addButton) {
    addButton.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) {
        total.value = parseInt(total.value, 10) + 1;
        updateAddButton();
        var added = rows.querySelector("[data-line]:last-child .line-product");
        if (added) { added.focus(); }
      }
    });
  }
  updateAddButton();
  recalc();
})();
