/* Tend ticket page: composer shortcuts (r, n, m, Ctrl+Enter), reply/note styling,
   dismissing warnings, and letting htmx show the server's 400/409 answers (a refused
   send or a collision warning) instead of dropping them. Plain JS, no build step;
   the page works without it. */
(function () {
  "use strict";

  function isTyping(target) {
    if (!target) return false;
    var tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function composer() {
    return document.getElementById("composer-form");
  }

  // The form's class follows the chosen mode so a note looks like a note while typed.
  function syncMode() {
    var form = composer();
    if (!form) return;
    var note = form.querySelector('input[name="mode"][value="note"]');
    var isNote = !!(note && note.checked);
    form.classList.toggle("mode-note", isNote);
    form.classList.toggle("mode-public", !isNote);
    var body = document.getElementById("composer-body");
    if (body) {
      body.placeholder = isNote
        ? form.dataset.notePlaceholder || body.placeholder
        : form.dataset.replyPlaceholder || body.placeholder;
    }
  }

  function startWriting(mode) {
    var form = composer();
    if (!form) return false;
    var radio = form.querySelector('input[name="mode"][value="' + mode + '"]');
    if (radio) radio.checked = true;
    syncMode();
    var body = document.getElementById("composer-body");
    if (body) {
      body.focus();
      body.scrollIntoView({ block: "center" });
    }
    return true;
  }

  function openMacroPicker() {
    var picker = document.getElementById("macro-picker");
    if (!picker) return false;
    picker.focus();
    picker.scrollIntoView({ block: "center" });
    if (typeof picker.showPicker === "function") {
      try {
        picker.showPicker();
      } catch (e) {
        /* Some browsers refuse showPicker outside a click; focus is enough. */
      }
    }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented) return;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var form = event.target && event.target.closest && event.target.closest("form");
      if (form && (form.id === "composer-form" || form.id === "ticket-fields")) {
        event.preventDefault();
        var submit = form.querySelector("[data-default-submit]") || form.querySelector('button[type="submit"]');
        if (typeof form.requestSubmit === "function") form.requestSubmit(submit || undefined);
        else if (submit) submit.click();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    var handled = false;
    if (event.key === "r") handled = startWriting("public");
    else if (event.key === "n") handled = startWriting("note");
    else if (event.key === "m") handled = openMacroPicker();
    if (handled) event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "mode") syncMode();
  });

  // "Cancel" on a warning: hide it, keep the draft, go back to writing.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-dismiss]");
    if (!link) return;
    var box = document.getElementById(link.dataset.dismiss);
    if (!box) return;
    event.preventDefault();
    box.remove();
    var body = document.getElementById("composer-body");
    if (body && link.dataset.dismiss === "conflict-box") body.focus();
  });

  // htmx leaves 4xx answers unswapped by default. These carry the message the agent
  // must see (what changed, why nothing was sent), aimed by HX-Retarget at the alert box.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if ((status === 400 || status === 409) && event.detail.xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    syncMode();
    var box = document.getElementById("conflict-box") || document.getElementById("composer-error");
    if (box && !box.dataset.seen) {
      box.dataset.seen = "1";
      box.scrollIntoView({ block: "nearest" });
    }
  });

  document.addEventListener("DOMContentLoaded", syncMode);
})();
