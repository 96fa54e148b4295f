/* A stand-in for Plaid Link's web script (https://cdn.plaid.com/link/v2/stable/link-initialize.js),
 * served by the local Plaid sandbox at <mount>/link/v2/stable/link-initialize.js: the same interface,
 *   var handler = window.Plaid.create({token, onSuccess(public_token, metadata), onExit(error, metadata)});
 *   handler.open(); handler.exit(); handler.destroy();
 * so the console's code is the same against Plaid and against the sandbox. `open()` shows the sandbox's
 * Link page (<mount>/link/<token>) in a modal dialog's frame on this same origin; when the frame lands
 * on <mount>/link-complete the query says how Link ended: a `public_token` (onSuccess) or
 * `status=exited` (onExit). Closing the dialog (its button or Escape) is an exit too. No inline script
 * or style attribute: the console's Content-Security-Policy stays 'self' only. */
(function () {
  "use strict";
  var SCRIPT_PATH = "/link/v2/stable/link-initialize.js";
  var current = document.currentScript;
  var mount = current ? current.src.slice(0, current.src.length - SCRIPT_PATH.length) : "";

  function create(config) {
    var token = String((config && config.token) || "");
    var dialog = null;
    var finished = false;

    function metadataFrom(params) {
      var institutionId = params.get("institution_id");
      return {
        institution: institutionId ? { institution_id: institutionId, name: null } : null,
        link_session_id: params.get("link_session_id"),
        status: params.get("status"),
        request_id: null,
        accounts: [],
      };
    }

    function finish(callback, first, metadata) {
      if (finished) return;
      finished = true;
      close();
      if (typeof callback === "function") callback(first, metadata);
    }

    function exitLink() {
      finish(config.onExit, null, { institution: null, link_session_id: null, status: null, request_id: null });
    }

    function landed(frame) {
      var where;
      try {
        where = frame.contentWindow.location;
      } catch (error) {
        return; // not this origin (never expected): wait for the person to close the dialog
      }
      if (where.pathname !== new URL(mount + "/link-complete", window.location.href).pathname) return;
      var params = new URLSearchParams(where.search);
      var publicToken = params.get("public_token");
      if (publicToken) finish(config.onSuccess, publicToken, metadataFrom(params));
      else finish(config.onExit, null, metadataFrom(params));
    }

    function close() {
      if (!dialog) return;
      if (dialog.open) dialog.close();
      dialog.remove();
      dialog = null;
    }

    function open() {
      if (dialog || finished) return;
      dialog = document.createElement("dialog");
      dialog.setAttribute("aria-label", "Plaid Link (local sandbox)");
      dialog.style.width = "min(40rem, 95vw)";
      dialog.style.padding = "0.5rem";
      var frame = document.createElement("iframe");
      frame.title = "Plaid Link (local sandbox)";
      frame.style.width = "100%";
      frame.style.height = "28rem";
      frame.style.border = "0";
      frame.addEventListener("load", function () {
        landed(frame);
      });
      frame.src = mount + "/link/" + encodeURIComponent(token);
      var closeButton = document.createElement("button");
      closeButton.type = "button";
      closeButton.textContent = "Close Plaid Link";
      closeButton.addEventListener("click", exitLink);
      dialog.addEventListener("cancel", function (event) {
        event.preventDefault();
        exitLink();
      });
      dialog.appendChild(frame);
      dialog.appendChild(closeButton);
      document.body.appendChild(dialog);
      dialog.showModal();
    }

    return {
      open: open,
      exit: exitLink,
      destroy: function () {
        finished = true;
        close();
      },
      submit: function () {},
    };
  }

  window.Plaid = { create: create };
})();
