/* Tend staff UI: keyboard shortcuts, the list row cursor and bulk selection.
   Plain JS, no build step. Everything here is an enhancement: every page works without it. */
(function () {
  "use strict";

  var pendingPrefix = null; // "g" after the first key of a two-key shortcut
  var prefixTimer = null;

  function isTyping(target) {
    if (!target) return false;
    var tag = target.tagName;
    return (
      target.isContentEditable ||
      tag === "INPUT" ||
      tag === "TEXTAREA" ||
      tag === "SELECT"
    );
  }

  function rows() {
    return Array.prototype.slice.call(
      document.querySelectorAll("table.tickets tbody tr[data-href]")
    );
  }

  function cursorRow() {
    return document.querySelector("table.tickets tbody tr.cursor");
  }

  function moveCursor(step) {
    var all = rows();
    if (!all.length) return;
    var current = cursorRow();
    var index = current ? all.indexOf(current) + step : 0;
    index = Math.max(0, Math.min(all.length - 1, index));
    if (current) current.classList.remove("cursor");
    var row = all[index];
    row.classList.add("cursor");
    row.scrollIntoView({ block: "nearest" });
    // Move real focus too, so screen readers follow the cursor.
    var link = row.querySelector("td.subject a");
    if (link) link.focus({ preventScroll: true });
  }

  function toggleSelection() {
    var row = cursorRow();
    if (!row) return;
    var box = row.querySelector('input[type="checkbox"][name="ticket"]');
    if (box) {
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function openCursorRow() {
    var row = cursorRow();
    if (row && row.dataset.href) window.location.href = row.dataset.href;
  }

  function goTo(key) {
    var link = document.querySelector('[data-go-key="' + key + '"]');
    if (link) window.location.href = link.href;
  }

  function helpDialog() {
    return document.getElementById("shortcut-help");
  }

  function showHelp() {
    var dialog = helpDialog();
    if (dialog && !dialog.open) dialog.showModal();
  }

  function refreshSelection(scope) {
    var root = scope || document;
    var boxes = root.querySelectorAll('table.tickets input[type="checkbox"][name="ticket"]');
    var chosen = 0;
    boxes.forEach(function (box) {
      var row = box.closest("tr");
      if (row) row.classList.toggle("selected", box.checked);
      if (box.checked) chosen += 1;
    });
    document.querySelectorAll("[data-selected-count]").forEach(function (el) {
      el.textContent = (el.dataset.template || "{n}").replace("{n}", chosen);
    });
    document.querySelectorAll(".bulk-bar").forEach(function (bar) {
      bar.dataset.empty = chosen ? "false" : "true";
      bar.querySelectorAll("button[data-needs-selection]").forEach(function (b) {
        b.disabled = chosen === 0;
      });
    });
    var all = root.querySelector('input[type="checkbox"][data-select-all]');
    if (all) {
      all.checked = boxes.length > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input[data-select-all]")) {
      document
        .querySelectorAll('table.tickets input[type="checkbox"][name="ticket"]')
        .forEach(function (box) {
          box.checked = target.checked;
        });
    }
    if (target.matches && target.matches('input[type="checkbox"]')) refreshSelection();
  });

  // Clicking a row (outside a link or control) moves the cursor there.
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("table.tickets tbody tr[data-href]");
    if (!row) return;
    var current = cursorRow();
    if (current && current !== row) current.classList.remove("cursor");
    row.classList.add("cursor");
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key;
    if (key === "Escape") {
      var dialog = helpDialog();
      if (dialog && dialog.open) dialog.close();
      if (isTyping(event.target)) event.target.blur();
      return;
    }
    if (isTyping(event.target)) return;

    if (pendingPrefix === "g") {
      pendingPrefix = null;
      clearTimeout(prefixTimer);
      goTo(key);
      event.preventDefault();
      return;
    }
    switch (key) {
      case "/": {
        var search = document.getElementById("global-search");
        if (search) {
          search.focus();
          search.select();
          event.preventDefault();
        }
        break;
      }
      case "?":
        showHelp();
        event.preventDefault();
        break;
      case "g":
        pendingPrefix = "g";
        clearTimeout(prefixTimer);
        prefixTimer = setTimeout(function () {
          pendingPrefix = null;
        }, 1500);
        break;
      case "j":
        moveCursor(1);
        event.preventDefault();
        break;
      case "k":
        moveCursor(-1);
        event.preventDefault();
        break;
      case "x":
        toggleSelection();
        event.preventDefault();
        break;
      case "o":
        openCursorRow();
        break;
      case "Enter":
        // A focused link or button already handles Enter itself; act only when
        // nothing in particular has focus.
        if (event.target === document.body && cursorRow()) {
          openCursorRow();
          event.preventDefault();
        }
        break;
      default:
        break;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    refreshSelection();
    var opener = document.getElementById("shortcut-help-open");
    if (opener) opener.addEventListener("click", showHelp);
    var closer = document.getElementById("shortcut-help-close");
    if (closer) closer.addEventListener("click", function () { helpDialog().close(); });
  });

  // After htmx swaps in a fresh list (bulk update), recount the selection.
  document.addEventListener("htmx:afterSwap", function () {
    refreshSelection();
  });
})();
