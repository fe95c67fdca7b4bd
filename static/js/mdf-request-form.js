// Fund request form: shows the most the partner may ask for (the vendor's share of the total cost) as they type.
// Loaded as a file, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  document.documentElement.classList.add("js");
  var cost = document.getElementById("id_total_cost");
  var ask = document.getElementById("id_requested_amount");
  var currency = document.getElementById("id_currency");
  var out = document.getElementById("share-max");
  if (!cost || !ask || !out) { return; }
  var share = parseFloat(out.dataset.share) / 100;
  var locale = document.documentElement.lang || "en";
  function update() {
    var total = parseFloat(cost.value);
    var requested = parseFloat(ask.value);
    if (isNaN(total) || total <= 0) { out.textContent = ""; out.className = "js-only"; return; }
    var max = Math.floor(total * share * 100) / 100;
    var text = max.toLocaleString(locale, {minimumFractionDigits: 2, maximumFractionDigits: 2}) + " " + (currency ? currency.value : "");
    out.textContent = " " + out.dataset.label + " " + text + ".";
    out.className = "js-only" + (!isNaN(requested) && requested > max ? " text-danger fw-semibold" : "");
  }
  [cost, ask, currency].forEach(function (el) { if (el) { el.addEventListener("input", update); el.addEventListener("change", update); } });
  update();
})();
