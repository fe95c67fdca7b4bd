// Quiz countdown: shows the time left and submits the answers when it runs out.
// Loaded as a file, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  var box = document.getElementById("quiz-timer");
  var value = document.getElementById("quiz-timer-value");
  var form = document.getElementById("quiz-form");
  if (!box || !value || !form) { return; }
  var end = Date.now() + parseInt(box.dataset.secondsLeft, 10) * 1000;
  var sent = false;
  function tick() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    var minutes = Math.floor(left / 60), seconds = left % 60;
    value.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    box.classList.toggle("quiz-timer-low", left <= 60);
    if (left === 0 && !sent) { sent = true; form.submit(); return; }
    if (left > 0) { window.setTimeout(tick, 500); }
  }
  tick();
})();
