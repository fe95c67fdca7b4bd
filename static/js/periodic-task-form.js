// django_celery_beat's periodic task form (templates/admin/djcelery/change_periodictask_form.html):
// the chosen crontab's schedule in words under the field. A file, not an inline script, for the
// Content-Security-Policy.
"use strict";
(function () {
  const $ = django.jQuery;
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const originalHelp = document.currentScript.dataset.crontabHelp || "";
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(() => {
    const help = $(".field-crontab .help");
    help.text(originalHelp);
    help.append(document.createElement("br"));
    help.append(document.createTextNode(`Translation: ${readableCrontabs[$("#id_crontab").val()] || ""}`));
  });
})();
