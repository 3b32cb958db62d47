//! The import direction rule (docs/ARCHITECTURE.md, "Import direction"), checked over the source:
//! - no module imports, directly or through others, a module that imports it back;
//! - inside a feature: model ← db ← (service) ← api ← page — `model.rs` imports no sibling but
//!   models, `db.rs` no `api`/`page`, `api.rs` no `page`;
//! - `components/` imports no feature; the store imports only features' `model` modules; a
//!   feature's `page` is imported only by its own feature, `shell` and `lib.rs`;
//! - nothing outside `features/live` imports the sampling engine (`live::sampler`, `compute`,
//!   `incremental`, `texts`): others read live data through the hub's read methods.
//!
//! Modules are the files under app/src (`a/b.rs` and `a/b/mod.rs` are `a::b`); an edge is every
//! `crate::…` path, and every `super::…` path in a feature file (a sibling in the feature: code in
//! an inline `mod server` reaches siblings with `super::super::`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `features/live/hub.rs` → `features::live::hub`; `shell/mod.rs` → `shell`; `lib.rs` → ``.
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).expect("under root");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("file name");
    let stem = last.trim_end_matches(".rs").to_owned();
    if stem != "mod" && stem != "lib" {
        parts.push(stem);
    }
    parts.join("::")
}

/// Paths after `crate::` or a run of `super::` on each line (comments skipped).
fn references(text: &str, module: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let parent: Vec<&str> = module.split("::").collect();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (start, _) in code
            .match_indices("crate::")
            .chain(code.match_indices("super::"))
        {
            // Only the start of a path (not `super::` inside `super::super::`).
            let before = &code[..start];
            if before.ends_with("::") {
                continue;
            }
            let is_super = code[start..].starts_with("super::");
            let mut rest = &code[start..];
            let mut supers = 0;
            if is_super {
                while let Some(r) = rest.strip_prefix("super::") {
                    rest = r;
                    supers += 1;
                }
            } else {
                rest = &rest["crate::".len()..];
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let mut full: Vec<String> = Vec::new();
            if is_super {
                // A file's `super` is its parent module; from an inline module one more level.
                if parent.len() < 2 || supers == 0 {
                    continue;
                }
                full.extend(parent[..parent.len() - 1].iter().map(|s| s.to_string()));
            }
            full.extend(segments.iter().map(|s| s.to_string()));
            // The longest prefix that is a module of the crate.
            while !full.is_empty() {
                let candidate = full.join("::");
                if modules.contains(&candidate) {
                    if candidate != module {
                        out.insert(candidate);
                    }
                    break;
                }
                full.pop();
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&root, &mut all);
    let modules: BTreeSet<String> = all.iter().map(|f| module_of(&root, f)).collect();
    all.iter()
        .map(|f| {
            let m = module_of(&root, f);
            let text = fs::read_to_string(f).expect("read");
            let refs = references(&text, &m, &modules);
            (m, refs)
        })
        .collect()
}

/// Every cycle's modules (strongly connected components of more than one module).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's algorithm.
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        if let Some(edges) = t.g.get(v) {
            for w in edges {
                let w = w.as_str();
                if !t.g.contains_key(w) {
                    continue;
                }
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(lw));
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(iw));
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_module_imports_itself_through_others() {
    let g = graph();
    assert!(
        g.len() > 50,
        "the source was not found: {} modules",
        g.len()
    );
    let found = cycles(&g);
    assert!(found.is_empty(), "import circles: {found:#?}");
}

#[test]
fn imports_follow_the_direction_rule() {
    let g = graph();
    let mut wrong = Vec::new();
    for (m, refs) in &g {
        let parts: Vec<&str> = m.split("::").collect();
        for r in refs {
            let rp: Vec<&str> = r.split("::").collect();
            let to_feature = rp.first() == Some(&"features");
            if parts.first() == Some(&"components") && to_feature {
                wrong.push(format!("{m} → {r}: components import no feature"));
            }
            if parts.first() == Some(&"store") && to_feature && rp.get(2) != Some(&"model") {
                wrong.push(format!("{m} → {r}: the store imports only model types"));
            }
            if rp.len() == 3
                && rp[0] == "features"
                && rp[2] == "page"
                && parts.first() == Some(&"features")
                && parts.get(1) != Some(&rp[1])
            {
                wrong.push(format!(
                    "{m} → {r}: only the shell imports another feature's page"
                ));
            }
            let engine = ["sampler", "compute", "incremental", "texts"];
            if rp.len() >= 3
                && rp[..2] == ["features", "live"]
                && engine.contains(&rp[2])
                && parts.get(1) != Some(&"live")
            {
                wrong.push(format!("{m} → {r}: the sampling engine is live's own"));
            }
            // Layers inside one feature.
            if parts.first() == Some(&"features")
                && parts.len() == 3
                && rp.len() >= 3
                && rp[..2] == parts[..2]
            {
                let (from, to) = (parts[2], rp[2]);
                let forbidden: &[&str] = match from {
                    "model" => &["db", "api", "page"],
                    "db" => &["api", "page"],
                    "api" => &["page"],
                    _ => &[],
                };
                if forbidden.contains(&to) {
                    wrong.push(format!("{m} → {r}: {from} may not import {to}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_check_sees_a_circle_and_a_wrong_edge() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_owned()].into());
    g.insert("b".into(), ["a".to_owned()].into());
    g.insert("c".into(), ["a".to_owned()].into());
    assert_eq!(cycles(&g), vec![vec!["a".to_owned(), "b".to_owned()]]);
    let modules: BTreeSet<String> = ["features::x::db", "features::x::page", "features::x"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let refs = references(
        "    use super::super::page::View; // in an inline module\nuse crate::features::x::db::f;",
        "features::x::api",
        &modules,
    );
    assert_eq!(
        refs,
        ["features::x::db", "features::x::page"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}
