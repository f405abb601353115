//! The layering check: in every crate of the workspace, no module uses one that uses it back.
//!
//! A module is a source file (`src/a/b.rs` is `a::b`); it uses another when its code names a path
//! into it (`crate::a::…`, `super::…`, or a child module's name). Re-exports (`pub use`) are a
//! crate's or a module's front door, not a dependency: a path through one is followed to the
//! module that defines the item. Test modules at the end of a file (`#[cfg(test)] mod …`) are
//! left out: they use their parent by design.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// A crate's module graph: module → the modules it uses.
#[derive(Debug, Default)]
pub struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    /// The cycles: each a set of modules that reach each other (strongly connected, more than one).
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let nodes: Vec<&String> = self.edges.keys().collect();
        let mut cycles = Vec::new();
        let mut done: BTreeSet<&String> = BTreeSet::new();
        for start in &nodes {
            if done.contains(start) {
                continue;
            }
            let reach = self.reachable(start);
            let mut component: Vec<String> =
                reach.iter().filter(|n| self.reachable(n).contains(*start)).map(|n| (*n).clone()).collect();
            if !component.contains(*start) {
                component.push((*start).clone());
            }
            for node in &component {
                if let Some(key) = nodes.iter().find(|k| **k == node) {
                    done.insert(key);
                }
            }
            if component.len() > 1 {
                component.sort();
                cycles.push(component);
            }
        }
        cycles
    }

    fn reachable(&self, from: &str) -> BTreeSet<&String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = self.edges.get(from).map(|e| e.iter().collect()).unwrap_or_default();
        while let Some(node) = stack.pop() {
            if seen.insert(node) {
                stack.extend(self.edges.get(node).into_iter().flatten());
            }
        }
        seen
    }
}

/// The module path of `file` under `src`: `crate` for the root.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        return "crate".into();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments, string and char contents, and its trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            // A raw string: r"…", r#"…"#, br#"…"#.
            'r' if !chars.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
                && matches!(next, Some('"' | '#')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) == Some(&'"') {
                    j += 1;
                    let closing: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                    while j < chars.len() && chars[j..].iter().take(closing.len()).ne(closing.iter()) {
                        j += 1;
                    }
                    out.push_str("\"\"");
                    i = j + closing.len();
                    continue;
                }
                out.push(c);
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                out.push_str("\"\"");
            }
            // A char literal ('"', '\'', 'x'), not a lifetime ('a).
            '\'' if next == Some('\\') => {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                out.push_str("' '");
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => {
                i += 2;
                out.push_str("' '");
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn ident_at(text: &str) -> String {
    text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// Every path the code names after `prefix` (`crate::`, `super::`, `child::`), with `{a, b::c}`
/// groups expanded to their first segments: `["a", "b"]`, each with the rest of its path.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find(prefix) {
        let at = from + found;
        from = at + prefix.len();
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        out.extend(segments(&code[from..]));
    }
    out
}

/// The path segments at the start of `rest` (`a::b::C` → `[a, b, C]`; a group → each member).
fn segments(rest: &str) -> Vec<Vec<String>> {
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut items = Vec::new();
        let mut item = String::new();
        for c in group.chars() {
            match c {
                '{' => {
                    depth += 1;
                    item.push(c);
                }
                '}' if depth == 0 => break,
                '}' => {
                    depth -= 1;
                    item.push(c);
                }
                ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                c => item.push(c),
            }
        }
        items.push(item);
        return items.iter().flat_map(|i| segments(i.trim())).collect();
    }
    let mut path = Vec::new();
    let mut rest = rest;
    loop {
        let ident = ident_at(rest);
        if ident.is_empty() {
            break;
        }
        rest = &rest[ident.len()..];
        path.push(ident);
        match rest.strip_prefix("::") {
            Some(next) if next.starts_with('{') => {
                let prefix = path.clone();
                return segments(next).into_iter().map(|tail| [prefix.clone(), tail].concat()).collect();
            }
            Some(next) => rest = next,
            None => break,
        }
    }
    if path.is_empty() { Vec::new() } else { vec![path] }
}

/// The `pub use a::{X, Y};` statements of a module (over as many lines as they take): item name →
/// the module path it names.
fn reexports(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for statement in pub_uses(code) {
        let rest = statement.trim_start_matches("crate::").trim_start_matches("self::");
        for path in segments(rest) {
            if let Some((item, module)) = path.split_last() {
                out.push((item.clone(), module.to_vec()));
            }
        }
    }
    out
}

/// The text of each `pub use …;` statement (without `pub use` and `;`).
fn pub_uses(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("pub use ") {
        let start = from + found + "pub use ".len();
        let end = code[start..].find(';').map_or(code.len(), |e| start + e);
        out.push(code[start..end].split_whitespace().collect::<Vec<_>>().join(" ").replace(":: ", "::"));
        from = end;
    }
    out
}

/// `code` without its `pub use …;` statements (a re-export is not a use).
fn without_pub_uses(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut from = 0;
    while let Some(found) = code[from..].find("pub use ") {
        let start = from + found;
        out.push_str(&code[from..start]);
        from = code[start..].find(';').map_or(code.len(), |e| start + e + 1);
    }
    out.push_str(&code[from..]);
    out
}

/// The module graph of the crate whose sources are in `src`.
pub fn graph(src: &Path) -> anyhow::Result<Graph> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    // With a lib.rs, main.rs (and src/bin/) are other crates: binaries over the library.
    if src.join("lib.rs").is_file() {
        files.retain(|f| f != &src.join("main.rs") && !f.starts_with(src.join("bin")));
    }
    let mut codes = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        // A re-export for the crate (or the parent) is a re-export too.
        let code = code_of(&text).replace("pub(crate) use ", "pub use ").replace("pub(super) use ", "pub use ");
        codes.insert(module_of(src, file), code);
    }
    let modules: BTreeSet<String> = codes.keys().cloned().collect();
    // Items re-exported by a module, and where they really are.
    let mut aliases: BTreeMap<(String, String), String> = BTreeMap::new();
    for (module, code) in &codes {
        for (item, path) in reexports(code) {
            let target = resolve(&modules, &aliases, &absolute(module, &path));
            aliases.insert((module.clone(), item), target);
        }
    }
    let mut graph = Graph::default();
    for (module, code) in &codes {
        let used = without_pub_uses(code);
        let mut targets = BTreeSet::new();
        for path in paths_after(&used, "crate::") {
            targets.insert(resolve(&modules, &aliases, &path));
        }
        for path in paths_after(&used, "super::") {
            targets.insert(resolve(&modules, &aliases, &absolute(&parent(module), &path)));
        }
        for path in paths_after(&used, "self::") {
            targets.insert(resolve(&modules, &aliases, &absolute(module, &path)));
        }
        for child in modules.iter().filter(|m| parent(m) == *module && *m != module) {
            let name = child.rsplit("::").next().unwrap_or(child);
            for path in paths_after(&used, &format!("{name}::")) {
                let mut full = vec![name.to_string()];
                full.extend(path);
                targets.insert(resolve(&modules, &aliases, &absolute(module, &full)));
            }
        }
        targets.remove(module);
        targets.retain(|t| modules.contains(t));
        graph.edges.insert(module.clone(), targets);
    }
    Ok(graph)
}

fn parent(module: &str) -> String {
    match module.rsplit_once("::") {
        Some((parent, _)) => parent.to_string(),
        None if module == "crate" => "crate".into(),
        None => "crate".into(),
    }
}

/// `path` named inside `module`, as a path from the crate root (without `crate`).
fn absolute(module: &str, path: &[String]) -> Vec<String> {
    let mut full: Vec<String> =
        if module == "crate" { Vec::new() } else { module.split("::").map(str::to_string).collect() };
    full.extend(path.iter().cloned());
    full
}

/// The module a root-relative path lands in: its longest module prefix, through re-exports.
fn resolve(modules: &BTreeSet<String>, aliases: &BTreeMap<(String, String), String>, path: &[String]) -> String {
    for len in (1..=path.len()).rev() {
        let candidate = path[..len].join("::");
        if modules.contains(&candidate) {
            if let Some(item) = path.get(len)
                && let Some(target) = aliases.get(&(candidate.clone(), item.clone()))
            {
                return target.clone();
            }
            return candidate;
        }
    }
    match path.first().and_then(|item| aliases.get(&("crate".to_string(), item.clone()))) {
        Some(target) => target.clone(),
        None => "crate".into(),
    }
}

/// Checks every crate of the workspace at `root` (those with a `src/` under `crates/`, and the
/// app, xtask and bench); fails naming each cycle.
pub fn check(root: &Path) -> anyhow::Result<usize> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .context("reading crates/")?
        .flatten()
        .map(|e| e.path().join("src"))
        .collect();
    sources.extend(["src-tauri", "xtask", "bench", "e2e"].iter().map(|c| root.join(c).join("src")));
    sources.retain(|s| s.is_dir());
    sources.sort();
    let mut problems = Vec::new();
    for src in &sources {
        for cycle in graph(src)?.cycles() {
            problems.push(format!("{}: {}", src.display(), cycle.join(" ↔ ")));
        }
    }
    if !problems.is_empty() {
        bail!("modules that use each other (a layer must point one way):\n  {}", problems.join("\n  "));
    }
    Ok(sources.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_of(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_circle_is_found_and_one_way_layers_pass() {
        let circle = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\npub use a::Thing;\n"),
            ("a.rs", "use crate::b::Other;\npub struct Thing;\n"),
            ("b.rs", "use crate::{Thing};\npub struct Other;\n"),
        ]);
        assert_eq!(graph(circle.path()).unwrap().cycles(), [vec!["a".to_string(), "b".to_string()]]);
        let layers = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\npub use a::Thing;\nfn f() { b::go(); }\n"),
            ("a.rs", "pub struct Thing;\n// crate::b::nothing in a comment\nconst S: &str = \"crate::b::x\";\n"),
            ("b.rs", "use crate::a::Thing;\npub fn go() {}\n#[cfg(test)]\nmod tests { use super::*; use crate::b; }\n"),
        ]);
        assert!(graph(layers.path()).unwrap().cycles().is_empty());
    }

    #[test]
    fn quotes_in_chars_raw_strings_and_comments_hide_no_code() {
        let tricky = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            (
                "a.rs",
                "const Q: char = '\"';\nconst R: &str = r#\"crate::b::x \"quoted\"\"#;\n/* crate::b::y */\nuse crate::b::Thing;\nfn f<'a>(x: &'a str) {}\n",
            ),
            ("b.rs", "use crate::a::Q;\npub struct Thing;\n"),
        ]);
        assert_eq!(
            graph(tricky.path()).unwrap().cycles(),
            [vec!["a".to_string(), "b".to_string()]],
            "after the quotes"
        );
    }

    #[test]
    fn multi_line_reexports_self_paths_and_a_binary_beside_the_library() {
        let crate_dir = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\npub use a::{\n    Thing,\n    Other,\n};\n"),
            ("main.rs", "fn main() { lib::run(); }\n"),
            (
                "a.rs",
                "pub struct Thing;\npub struct Other;\nfn f() { self::inner(); crate::b::go(); }\nfn inner() {}\n",
            ),
            ("b.rs", "use crate::Other;\npub fn go() {}\n"),
        ]);
        assert_eq!(graph(crate_dir.path()).unwrap().cycles(), [vec!["a".to_string(), "b".to_string()]]);
    }

    #[test]
    fn groups_children_and_super_count() {
        let nested = crate_of(&[
            ("lib.rs", "mod http;\n"),
            ("http/mod.rs", "mod tasks;\npub fn router() { tasks::router(); }\n"),
            ("http/tasks.rs", "use super::{router as r, other};\npub fn router() {}\n"),
        ]);
        assert_eq!(graph(nested.path()).unwrap().cycles(), [vec!["http".to_string(), "http::tasks".to_string()]]);
    }
}
