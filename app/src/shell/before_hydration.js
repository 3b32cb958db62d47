// The page's first script (inline, with the render's nonce): what the page does until the wasm
// has taken over (`.app[data-hydrated="true"]`).
// - A control that needs the scripts (a button that is not a form's submit button, a checkbox or
//   select outside a form that can be submitted) says "still loading" instead of silently doing
//   nothing. Links, plain forms (sign-in, filters, the Users forms) and the Menu popover work
//   without scripts and are left alone.
// - If the scripts cannot be loaded at all, a banner says so with a Reload link; the same banner
//   if they stop later (a panic: the wasm's panic hook calls `__pgpanelStopped`; or a trapped
//   wasm), instead of a page that silently stops updating.
(function () {
  function ready() {
    return !!document.querySelector('[data-hydrated="true"]');
  }
  var NEEDS_SCRIPT = 'button, [role="button"], input[type="checkbox"], input[type="radio"], select';
  var SUBMIT = 'button:not([type="button"]), input[type="submit"]';
  function needsScript(target) {
    var c = target && target.closest ? target.closest(NEEDS_SCRIPT) : null;
    if (!c || c.hasAttribute("popovertarget")) return null;
    // A plain form works without scripts: its submit button, and its fields when it has one.
    var form = c.closest("form");
    if (form && (c.matches(SUBMIT) || (!c.matches("button") && form.querySelector(SUBMIT)))) return null;
    return c;
  }
  function hold(e) {
    if (ready() || document.getElementById("load-failed")) return;
    if (e.type === "keydown" && e.key !== "Enter" && e.key !== " ") return;
    if (e.type === "mousedown" && !(e.target && e.target.closest && e.target.closest("select"))) return;
    if (!needsScript(e.target)) return;
    e.preventDefault();
    e.stopPropagation();
    var n = document.getElementById("still-loading");
    if (!n) {
      n = document.createElement("div");
      n.id = "still-loading";
      n.className = "still-loading";
      n.setAttribute("role", "status");
      n.setAttribute("data-testid", "still-loading");
      document.body.appendChild(n);
    }
    n.textContent = "pgpanel is still loading its scripts: this control works in a moment.";
  }
  addEventListener("click", hold, true);
  addEventListener("mousedown", hold, true);
  addEventListener("keydown", hold, true);
  function stopped(why) {
    if (document.getElementById("load-failed")) return;
    var d = document.createElement("div");
    d.id = "load-failed";
    d.className = "load-failed";
    d.setAttribute("role", "alert");
    d.textContent = ready()
      ? "pgpanel's scripts stopped (" + why + "): this page no longer updates and its buttons do " +
        "nothing. "
      : "pgpanel could not load its scripts (" + why + "). The page shows what the server rendered, " +
        "but its buttons do nothing until it loads. ";
    var a = document.createElement("a");
    a.href = location.href;
    // A full reload even while the wasm's router still listens for link clicks.
    a.rel = "external";
    a.className = "button small primary";
    a.textContent = "Reload";
    d.appendChild(a);
    document.body.insertBefore(d, document.body.firstChild);
    var n = document.getElementById("still-loading");
    if (n) n.remove();
  }
  function describe(reason) {
    return String((reason && reason.message) || reason || "unknown error");
  }
  // Called by the wasm's panic hook with the panic's message.
  window.__pgpanelStopped = function (message) {
    stopped(describe(message));
  };
  addEventListener("unhandledrejection", function (e) {
    // Before hydration: the scripts failed to load or start. After it, only a trapped wasm.
    if (!ready() || e.reason instanceof WebAssembly.RuntimeError) stopped(describe(e.reason));
  });
  addEventListener("error", function (e) {
    if (e.error instanceof WebAssembly.RuntimeError) stopped(describe(e.error));
  });
})();
