/* Tend knowledge base, staff side: put a Markdown snippet (an article link, an uploaded
   image) into a text box at the cursor. Used by the ticket page's suggested articles,
   the macro editor's article-link picker and the article editor. Plain JS, no inline
   handlers: buttons say what to insert (data-kb-insert) and where (data-kb-target). */
(function () {
  "use strict";

  function insertAtCursor(box, text) {
    var start = typeof box.selectionStart === "number" ? box.selectionStart : box.value.length;
    var end = typeof box.selectionEnd === "number" ? box.selectionEnd : start;
    var before = box.value.slice(0, start);
    var after = box.value.slice(end);
    // Keep the snippet a word of its own, so "see[link]" never glues onto the text.
    var lead = before && !/\s$/.test(before) ? " " : "";
    var trail = after && !/^\s/.test(after) ? " " : "";
    box.value = before + lead + text + trail + after;
    var caret = (before + lead + text).length;
    box.focus();
    if (typeof box.setSelectionRange === "function") box.setSelectionRange(caret, caret);
    // Let htmx (the live preview) and other listeners see the change.
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function targetFor(el) {
    var id = el.dataset.kbTarget || "id_body";
    return document.getElementById(id);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-kb-insert]");
    if (!button) return;
    var box = targetFor(button);
    if (!box) return;
    event.preventDefault();
    insertAtCursor(box, button.dataset.kbInsert);
    var done = button.dataset.kbDone;
    if (done) {
      var old = button.textContent;
      button.textContent = done;
      window.setTimeout(function () { button.textContent = old; }, 1500);
    }
  });

  // An uploaded image's Markdown arrives in a partial marked data-kb-autoinsert:
  // insert it once, where the writer's cursor was.
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("[data-kb-autoinsert]").forEach(function (el) {
      var box = targetFor(el);
      if (box) insertAtCursor(box, el.dataset.kbAutoinsert);
      el.removeAttribute("data-kb-autoinsert");
    });
  });

  // htmx drops 4xx answers by default; a refused upload names where its message goes.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 400 && xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The article editor: leaving (another language tab, a link) with unsaved text asks
  // first. Saving clears the mark.
  var dirty = false;
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target.closest || target.hasAttribute("data-kb-picker-input")) return;
    if (target.closest("form[data-kb-guard]")) dirty = true;
  });
  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches("form[data-kb-guard]")) dirty = false;
  });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });

  // Enter in a picker's search box searches; it must not submit the form around it
  // (the macro or article being edited).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    var input = event.target.closest && event.target.closest("[data-kb-picker-input]");
    if (!input) return;
    event.preventDefault();
    input.dispatchEvent(new Event("search", { bubbles: true }));
  });
})();
