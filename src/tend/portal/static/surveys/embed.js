/*
 * Tend in-product survey snippet.
 *
 *   <script src="https://support.example.com/s/embed.js" async
 *           data-user-id="USER_ID" data-user-hash="HMAC_SHA256_HEX"></script>
 *
 * or, once the user is known: Tend.survey({userId: "...", userHash: "...", lang: "zh"}).
 * userHash is hex HMAC-SHA256(in-product secret, userId), computed on the customer's
 * server, never in the browser. The widget lives in a shadow root, so the page's styles
 * do not leak in; all text comes from the server and is set as text, never as HTML.
 */
(function () {
  "use strict";
  var me = document.currentScript;
  var base = me && me.src ? me.src.replace(/embed\.js(\?.*)?$/, "") : "/s/";

  function post(path, data) {
    // text/plain keeps this a "simple" cross-origin request (no preflight).
    return fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify(data),
      credentials: "omit",
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.detail || r.status);
        return body;
      });
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  var CSS =
    ":host{all:initial}" +
    ".card{position:fixed;right:16px;bottom:16px;z-index:2147483000;max-width:min(460px,calc(100vw - 32px));" +
    "background:#fff;color:#1f2328;border:1px solid #d1d9e0;border-radius:8px;padding:16px;" +
    "box-shadow:0 8px 24px rgba(0,0,0,.15);font:14px/1.5 system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',sans-serif}" +
    ".q{font-weight:600;margin:0 24px 12px 0}" +
    ".scale{display:flex;flex-wrap:wrap;gap:4px}" +
    ".scale button{flex:1 0 28px;padding:6px 0;border:1px solid #d1d9e0;border-radius:4px;background:#fff;font:inherit;font-weight:600;cursor:pointer}" +
    ".scale button[aria-pressed=true]{background:#0b6e4f;color:#fff;border-color:#0b6e4f}" +
    ".ends{display:flex;justify-content:space-between;font-size:12px;color:#59636e;margin-top:4px}" +
    "textarea{display:block;width:100%;box-sizing:border-box;margin:12px 0 8px;font:inherit;padding:6px;border:1px solid #d1d9e0;border-radius:4px}" +
    ".send{padding:6px 14px;border-radius:4px;border:1px solid #0b6e4f;background:#0b6e4f;color:#fff;font:inherit;cursor:pointer}" +
    ".close{position:absolute;top:8px;right:8px;border:0;background:none;font-size:18px;line-height:1;cursor:pointer;color:#59636e}" +
    ".msg{margin:8px 0 0;color:#59636e}";

  function show(q) {
    var host = el("div");
    host.setAttribute("data-tend-survey", "");
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style");
    style.textContent = CSS;
    var card = el("div", "card");
    card.setAttribute("role", "dialog");
    card.setAttribute("aria-label", q.question);
    var close = el("button", "close", "\u00d7");
    close.setAttribute("aria-label", q.labels.close);
    var question = el("p", "q", q.question);
    var scale = el("div", "scale");
    var ends = el("div", "ends");
    ends.appendChild(el("span", "", q.labels.low));
    ends.appendChild(el("span", "", q.labels.high));
    var msg = el("p", "msg");
    var answered = false;
    var chosen = null;
    var extra = null;

    function done(text) {
      card.textContent = "";
      card.appendChild(el("p", "q", text));
      setTimeout(function () { host.remove(); }, 3000);
    }

    function record(score, comment) {
      var data = { token: q.token, score: score, lang: q.lang };
      if (comment != null) data.comment = comment;
      return post("api/answer", data);
    }

    for (var n = q.scale_min; n <= q.scale_max; n++) {
      (function (score) {
        var b = el("button", "", String(score));
        b.type = "button";
        b.setAttribute("aria-pressed", "false");
        b.addEventListener("click", function () {
          chosen = score;
          Array.prototype.forEach.call(scale.children, function (x) {
            x.setAttribute("aria-pressed", x === b ? "true" : "false");
          });
          // The score counts at once; the comment, if any, is added to it.
          record(score, null).then(function () {
            answered = true;
            msg.textContent = "";
            if (!extra) {
              extra = el("div");
              var box = el("textarea");
              box.rows = 3;
              box.maxLength = 5000;
              box.setAttribute("aria-label", q.labels.comment);
              box.placeholder = q.labels.comment;
              var send = el("button", "send", q.labels.send);
              send.type = "button";
              send.addEventListener("click", function () {
                var text = box.value.trim();
                if (!text) return done(q.labels.thanks);
                record(chosen, text).then(function () { done(q.labels.thanks); },
                  function () { msg.textContent = q.labels.error; });
              });
              extra.appendChild(box);
              extra.appendChild(send);
              card.insertBefore(extra, msg);
            }
          }, function () { msg.textContent = q.labels.error; });
        });
        scale.appendChild(b);
      })(n);
    }

    close.addEventListener("click", function () {
      if (!answered) post("api/dismiss", { token: q.token }).catch(function () {});
      host.remove();
    });

    card.appendChild(close);
    card.appendChild(question);
    card.appendChild(scale);
    card.appendChild(ends);
    card.appendChild(msg);
    root.appendChild(style);
    root.appendChild(card);
    document.body.appendChild(host);
  }

  function survey(opts) {
    if (!opts || !opts.userId || !opts.userHash) return Promise.resolve(false);
    var lang = opts.lang || document.documentElement.lang || navigator.language || "";
    var url = base + "api/ask?user_id=" + encodeURIComponent(opts.userId) +
      "&user_hash=" + encodeURIComponent(opts.userHash) + "&lang=" + encodeURIComponent(lang);
    return fetch(url, { credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (q) {
        if (!q.ask) return false;
        q.lang = lang;
        show(q);
        return true;
      })
      .catch(function () { return false; });
  }

  window.Tend = window.Tend || {};
  window.Tend.survey = survey;
  if (me && me.dataset && me.dataset.userId && me.dataset.userHash) {
    var start = function () {
      survey({ userId: me.dataset.userId, userHash: me.dataset.userHash, lang: me.dataset.lang });
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})();
