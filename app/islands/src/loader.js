// Loads the page's wasm and hydrates its islands (docs/ARCHITECTURE.md §11). In place of leptos'
// island script, which waits for the browser to be idle before it even starts compiling the wasm:
// here the wasm compiles while it downloads and the HTML is parsed, and the islands are hydrated
// as soon as both are done, in one synchronous walk of the document.
// Called with the page's JS and wasm paths; marks `pgpanel:instantiated` and `pgpanel:hydrated`
// on the page's performance timeline (read by `pgpanel bench`).
((js, wasm) => {
  // The same request as the preload link above, so the browser answers it from there.
  const bytes = fetch(wasm, { credentials: "same-origin" });
  const parsed = document.readyState === "loading"
    ? new Promise((done) => addEventListener("DOMContentLoaded", done, { once: true }))
    : Promise.resolve();
  // An island's children (`leptos-children`) carry the callback that makes the island's owner
  // current, so an island inside them sees the outer island's context (the frame's, for a page).
  const walk = (node, mod, children) => {
    for (const el of node.children) {
      const tag = el.localName;
      if (tag === "leptos-island") {
        const id = el.dataset.component;
        if (typeof mod[id] === "function") {
          const inner = children[children.length - 1];
          if (inner) inner();
          mod[id](el);
        } else {
          console.warn(`pgpanel: no wasm function for the island ${id}`);
        }
        walk(el, mod, children);
      } else if (tag === "leptos-children") {
        children.push(el.$$on_hydrate);
        walk(el, mod, children);
        children.pop();
      } else {
        walk(el, mod, children);
      }
    }
  };
  import(js)
    .then(async (mod) => {
      await mod.default({ module_or_path: bytes });
      performance.mark("pgpanel:instantiated");
      await parsed;
      mod.hydrate();
      walk(document.body, mod, []);
      mod.hydrated();
      performance.mark("pgpanel:hydrated");
      // The page is taken over (the first script stops holding clicks; tests and the benchmark
      // wait for this mark) once the effects the hydration queued have run: they are microtasks
      // queued before this one, so they run first, and before any click or message reaches the
      // page (a task, after every microtask).
      queueMicrotask(() => {
        document.querySelector(".app")?.setAttribute("data-hydrated", "true");
        // A "still loading" note a click before this left (shell/before_hydration.js).
        document.getElementById("still-loading")?.remove();
      });
    })
    .catch((e) => {
      console.error(e);
      if (window.__pgpanelStopped) window.__pgpanelStopped(e);
    });
})
