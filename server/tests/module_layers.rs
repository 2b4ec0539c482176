//! The top-level modules of each crate (app: api, controller, services, …; server: adapters,
//! config, web, …) must form layers: if `a` refers to `b`, `b` must not refer back to `a`,
//! directly or through others. A cycle means neither module can be understood, tested or
//! moved without the other.
//!
//! The check reads the source text rather than compiler output so that it needs no extra
//! tooling and sees every `#[cfg(feature)]` branch at once. It finds `crate::x` paths (in
//! `use` trees, nested groups included, and inline in code) and `super::` chains that climb
//! to the crate root, skipping comments, string literals and `#[cfg(test)]` items, since
//! tests may import anything.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    fmt::Write as _,
    path::{Path, PathBuf},
};

/// A lexical token: only what path parsing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// Tokens with their 1-based line numbers; comments, strings, chars and lifetimes dropped.
fn tokenize(source: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Advances over chars[from..to], counting the newlines skipped.
    let skip = |from: usize, to: usize, line: &mut usize| {
        *line += chars[from..to.min(chars.len())].iter().filter(|c| **c == '\n').count();
        to
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            let mut j = i;
            while j < chars.len() {
                if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            i = skip(i, j, &mut line);
        } else if let Some(end) = raw_string_end(&chars, i) {
            i = skip(i, end, &mut line);
        } else if c == '"' || (c == 'b' && next == Some('"')) || (c == 'c' && next == Some('"')) {
            let mut j = if c == '"' { i + 1 } else { i + 2 };
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            i = skip(i, j + 1, &mut line);
        } else if c == '\'' || (c == 'b' && next == Some('\'')) {
            let start = if c == '\'' { i + 1 } else { i + 2 };
            if chars.get(start) == Some(&'\\') {
                let mut j = start + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if chars.get(start + 1) == Some(&'\'') {
                i = start + 2;
            } else {
                // A lifetime or label: drop the quote, its name is a harmless identifier.
                i = start;
            }
        } else if c.is_alphabetic() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let mut word: String = chars[i..j].iter().collect();
            // `r#ident` lexes as `r`, `#`, `ident`: fold it back into one identifier.
            let raw_ident_follows = chars.get(j + 1).is_some_and(|c| c.is_alphabetic() || *c == '_');
            if word == "r" && chars.get(j) == Some(&'#') && raw_ident_follows {
                let mut k = j + 1;
                while k < chars.len() && (chars[k].is_alphanumeric() || chars[k] == '_') {
                    k += 1;
                }
                word = chars[j + 1..k].iter().collect();
                i = k;
            } else {
                i = j;
            }
            tokens.push((Tok::Ident(word), line));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            tokens.push((Tok::PathSep, line));
            i += 2;
        } else {
            tokens.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    tokens
}

/// If a raw (byte, C) string literal starts at `i`, the index just past it.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(chars.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"' && (1..=hashes).all(|h| chars.get(j + h) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(chars.len())
}

fn is_punct(tokens: &[(Tok, usize)], i: usize, c: char) -> bool {
    matches!(tokens.get(i), Some((Tok::Punct(p), _)) if *p == c)
}

fn is_path_sep(tokens: &[(Tok, usize)], i: usize) -> bool {
    matches!(tokens.get(i), Some((Tok::PathSep, _)))
}

fn ident_at(tokens: &[(Tok, usize)], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some((Tok::Ident(name), _)) => Some(name),
        _ => None,
    }
}

/// Index of the token after the bracket that closes the one opening at `open`.
fn after_matching(tokens: &[(Tok, usize)], open: usize) -> usize {
    let mut depth = 0i32;
    for (j, (tok, _)) in tokens.iter().enumerate().skip(open) {
        match tok {
            Tok::Punct('{' | '(' | '[') => depth += 1,
            Tok::Punct('}' | ')' | ']') => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// True if the attribute starting at `i` (`#`) is exactly `#[cfg(test)]`.
fn is_cfg_test(tokens: &[(Tok, usize)], i: usize) -> bool {
    is_punct(tokens, i, '#')
        && is_punct(tokens, i + 1, '[')
        && ident_at(tokens, i + 2) == Some("cfg")
        && is_punct(tokens, i + 3, '(')
        && ident_at(tokens, i + 4) == Some("test")
        && is_punct(tokens, i + 5, ')')
        && is_punct(tokens, i + 6, ']')
}

/// The item after a `#[cfg(test)]` at `i`: where it ends, and the module name if it is an
/// out-of-line `mod name;` (whose file must then be skipped too).
fn skip_test_item(tokens: &[(Tok, usize)], i: usize) -> (usize, Option<String>) {
    let mut j = i;
    // Further attributes of the same item.
    while is_punct(tokens, j, '#') && is_punct(tokens, j + 1, '[') {
        j = after_matching(tokens, j + 1);
    }
    let start = j;
    while j < tokens.len() {
        match &tokens[j].0 {
            Tok::Punct(';') => {
                let names: Vec<&str> = (start..j).filter_map(|k| ident_at(tokens, k)).collect();
                let module = match names.as_slice() {
                    [.., "mod", name] => Some(name.to_string()),
                    _ => None,
                };
                return (j + 1, module);
            }
            Tok::Punct('{') => return (after_matching(tokens, j), None),
            Tok::Punct('(' | '[') => j = after_matching(tokens, j),
            _ => j += 1,
        }
    }
    (j, None)
}

/// What one source file says about its crate's top-level modules.
#[derive(Debug, Default, PartialEq, Eq)]
struct FileRefs {
    /// First path segments that resolve to the crate root, with their lines (`crate::x` → x).
    roots: Vec<(String, usize)>,
    /// Out-of-line child modules declared under `#[cfg(test)]`.
    test_modules: Vec<String>,
}

/// The first segments of the path (or `use` tree) starting at `i`: one for `x::…`, one per
/// element for `{x::…, y, z::{…}}`.
fn first_segments(tokens: &[(Tok, usize)], i: usize) -> Vec<(String, usize)> {
    match tokens.get(i) {
        Some((Tok::Ident(name), line)) => vec![(name.clone(), *line)],
        Some((Tok::Punct('{'), _)) => {
            let mut found = Vec::new();
            let mut depth = 0;
            let mut at_element_start = true;
            for (tok, line) in &tokens[i..] {
                match tok {
                    Tok::Punct('{') => {
                        depth += 1;
                        at_element_start = depth == 1;
                    }
                    Tok::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Tok::Punct(',') if depth == 1 => at_element_start = true,
                    Tok::Ident(name) if depth == 1 && at_element_start => {
                        found.push((name.clone(), *line));
                        at_element_start = false;
                    }
                    _ if depth == 1 => at_element_start = false,
                    _ => {}
                }
            }
            found
        }
        _ => Vec::new(),
    }
}

/// Parses one file whose module path below the crate root is `module_path` (`["controller"]`
/// for `controller.rs` or `controller/mod.rs`, `["controller", "loops"]` for
/// `controller/loops.rs`).
fn parse_file(source: &str, module_path: &[&str]) -> FileRefs {
    let tokens = tokenize(source);
    let mut refs = FileRefs::default();
    // Closing-brace depths of inline `mod name { … }` blocks we are in: each adds a level
    // that `super::` must climb.
    let mut inline_mods: Vec<i32> = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < tokens.len() {
        if is_cfg_test(&tokens, i) {
            let (end, module) = skip_test_item(&tokens, i + 7);
            refs.test_modules.extend(module.filter(|_| inline_mods.is_empty()));
            i = end;
            continue;
        }
        let previous_is_path = i > 0 && (tokens[i - 1].0 == Tok::PathSep || is_punct(&tokens, i - 1, '$'));
        match &tokens[i].0 {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth -= 1;
                if inline_mods.last() == Some(&depth) {
                    inline_mods.pop();
                }
            }
            Tok::Ident(word) if word == "mod" && is_punct(&tokens, i + 2, '{') => {
                inline_mods.push(depth);
            }
            Tok::Ident(word) if word == "crate" && !previous_is_path && is_path_sep(&tokens, i + 1) => {
                refs.roots.extend(first_segments(&tokens, i + 2));
            }
            Tok::Ident(word) if word == "super" && !previous_is_path => {
                let mut climbs = 0;
                let mut j = i;
                while ident_at(&tokens, j) == Some("super") && is_path_sep(&tokens, j + 1) {
                    climbs += 1;
                    j += 2;
                }
                if climbs > 0 && climbs == module_path.len() + inline_mods.len() {
                    refs.roots.extend(first_segments(&tokens, j));
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    refs.roots.retain(|(name, _)| !matches!(name.as_str(), "self" | "super" | "crate"));
    refs
}

/// The out-of-line top-level modules a crate root declares (`mod x;`), in order.
fn declared_modules(root_source: &str) -> Vec<String> {
    let tokens = tokenize(root_source);
    let mut modules = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        if depth == 0 && is_cfg_test(&tokens, i) {
            i = skip_test_item(&tokens, i + 7).0;
            continue;
        }
        match &tokens[i].0 {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => depth -= 1,
            Tok::Ident(word) if depth == 0 && word == "mod" && is_punct(&tokens, i + 2, ';') => {
                modules.extend(ident_at(&tokens, i + 1).map(str::to_string));
            }
            _ => {}
        }
        i += 1;
    }
    modules
}

/// Every `.rs` file under `dir`, sorted so that reports are stable.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `src/controller/loops.rs` → `["controller", "loops"]`; `src/controller/mod.rs` →
/// `["controller"]`.
fn module_path_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("file under src");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_string();
        if stem != "mod" {
            parts.push(stem);
        }
    }
    parts
}

/// One reference from a top-level module to another.
#[derive(Debug, Clone)]
struct Site {
    file: String,
    line: usize,
}

/// Edges between the top-level modules of the crate whose sources are in `src`, with
/// every place that makes each edge.
fn module_graph(src: &Path, root_file: &str) -> BTreeMap<String, BTreeMap<String, Vec<Site>>> {
    let root = std::fs::read_to_string(src.join(root_file)).unwrap_or_else(|e| panic!("read {root_file}: {e}"));
    let modules: BTreeSet<String> = declared_modules(&root).into_iter().collect();
    let mut parsed = Vec::new();
    let mut test_only: Vec<Vec<String>> = Vec::new();
    for file in rust_files(src) {
        let path = module_path_of(src, &file);
        let Some(top) = path.first().filter(|top| modules.contains(*top)).cloned() else { continue };
        let source = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let refs = parse_file(&source, &path.iter().map(String::as_str).collect::<Vec<_>>());
        test_only.extend(refs.test_modules.iter().map(|m| path.iter().cloned().chain([m.clone()]).collect()));
        parsed.push((file, path, top, refs));
    }
    let mut graph: BTreeMap<String, BTreeMap<String, Vec<Site>>> =
        modules.iter().map(|m| (m.clone(), BTreeMap::new())).collect();
    // Sites are shown from the workspace root (`app/src/…`), as the report names both crates.
    let workspace = src.parent().and_then(Path::parent).unwrap_or(src);
    for (file, path, top, refs) in parsed {
        if test_only.iter().any(|t| path.starts_with(t)) {
            continue;
        }
        let shown = file.strip_prefix(workspace).unwrap_or(&file).display().to_string();
        for (target, line) in refs.roots {
            if target != top && modules.contains(&target) {
                let edges = graph.entry(top.clone()).or_default();
                edges.entry(target).or_default().push(Site { file: shown.clone(), line });
            }
        }
    }
    graph
}

/// One shortest cycle through each group of mutually dependent modules.
fn cycles(graph: &BTreeMap<String, BTreeMap<String, Vec<Site>>>) -> Vec<Vec<String>> {
    let reaches = |from: &str, to: &str| -> Option<Vec<String>> {
        // Shortest path by breadth-first search, so the reported cycle is the simplest one.
        let mut previous: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = VecDeque::from([from.to_string()]);
        while let Some(node) = queue.pop_front() {
            for next in graph.get(&node).into_iter().flat_map(|e| e.keys()) {
                if next == to {
                    let mut path = vec![node.clone()];
                    while let Some(p) = previous.get(path.last().expect("non-empty")) {
                        path.push(p.clone());
                    }
                    path.reverse();
                    return Some(path);
                }
                if next != from && !previous.contains_key(next) {
                    previous.insert(next.clone(), node.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        None
    };
    let mut found: Vec<Vec<String>> = Vec::new();
    let mut covered: BTreeSet<String> = BTreeSet::new();
    for node in graph.keys() {
        if covered.contains(node) {
            continue;
        }
        if let Some(mut path) = reaches(node, node) {
            covered.extend(path.iter().cloned());
            path.push(node.clone());
            found.push(path);
        }
    }
    found
}

/// The failure message for a crate's cycles, or `None` when its modules form layers.
fn report(crate_name: &str, graph: &BTreeMap<String, BTreeMap<String, Vec<Site>>>) -> Option<String> {
    let found = cycles(graph);
    if found.is_empty() {
        return None;
    }
    let mut out = String::new();
    for cycle in found {
        let _ = writeln!(out, "{crate_name}: {}", cycle.join(" -> "));
        for pair in cycle.windows(2) {
            let sites = &graph[&pair[0]][&pair[1]];
            let _ = writeln!(out, "  {} -> {} ({} references):", pair[0], pair[1], sites.len());
            for site in sites {
                let _ = writeln!(out, "    {}:{}", site.file, site.line);
            }
        }
    }
    Some(out)
}

fn check_crate(crate_dir: &str) {
    // Where cargo runs this test now: a path baked in at build time may be another checkout's
    // (the build cache is shared), and reading a missing tree would check nothing.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR");
    let src = Path::new(&manifest).join("..").join(crate_dir).join("src");
    assert!(src.join("lib.rs").is_file(), "no {}", src.display());
    let graph = module_graph(&src, "lib.rs");
    for (from, edges) in &graph {
        eprintln!("{crate_dir}: {from} -> {}", edges.keys().cloned().collect::<Vec<_>>().join(", "));
    }
    if let Some(message) = report(crate_dir, &graph) {
        panic!("import cycles between top-level modules:\n{message}");
    }
}

#[test]
fn app_top_level_modules_form_layers() {
    check_crate("app");
}

#[test]
fn server_top_level_modules_form_layers() {
    check_crate("server");
}

#[test]
fn parser_finds_crate_paths_in_use_trees_and_code() {
    let names = |source: &str, path: &[&str]| -> Vec<String> {
        parse_file(source, path).roots.into_iter().map(|(name, _)| name).collect()
    };
    assert_eq!(names("use crate::{a::{b, c}, d::e};", &["x"]), ["a", "d"]);
    assert_eq!(names("use crate::{self, a, b::{self, c::{d, e}}, f as g};", &["x"]), ["a", "b", "f"]);
    assert_eq!(names("fn f() { let x = crate::ports::read_all(y); }", &["x"]), ["ports"]);
    assert_eq!(names("use crate::domain::Thing;\nuse crate::ports;", &["x"]), ["domain", "ports"]);
    // `$crate` and paths that merely contain a `crate` segment are not ours.
    assert!(names("macro_rules! m { () => { $crate::a::b() } }\nuse other::crate::z;", &["x"]).is_empty());
    assert!(names("pub(crate) fn f() {}", &["x"]).is_empty());
}

#[test]
fn parser_resolves_super_to_the_crate_root_only_from_the_top() {
    let names = |source: &str, path: &[&str]| -> Vec<String> {
        parse_file(source, path).roots.into_iter().map(|(name, _)| name).collect()
    };
    assert_eq!(names("use super::services::Census;", &["controller"]), ["services"]);
    assert_eq!(names("use super::{services, ports::Clock};", &["controller"]), ["services", "ports"]);
    assert!(names("use super::Telemetry;", &["controller", "loops"]).is_empty());
    assert_eq!(names("use super::super::ports::Clock;", &["controller", "loops"]), ["ports"]);
    // An inline module adds a level.
    assert!(names("mod inner { use super::services; }", &["controller"]).is_empty());
    assert_eq!(names("mod inner { use super::super::services; }", &["controller"]), ["services"]);
}

#[test]
fn parser_skips_comments_strings_and_test_items() {
    let parse = |source: &str| parse_file(source, &["x"]);
    let source = r##"
        // use crate::comment;
        /* crate::block /* nested crate::deeper */ still comment crate::c */
        /// Doc: crate::doc
        const S: &str = "crate::string \" crate::escaped";
        const R: &str = r#"crate::raw " crate::raw2"#;
        fn f<'a>(x: &'a str) -> char { let _ = b'{'; '{' }
        #[cfg(test)]
        mod tests { use crate::tested; fn g() { crate::more::h(); } }
        #[cfg(test)]
        mod fixtures;
        #[cfg(test)]
        use crate::only_in_tests;
        use crate::real;
    "##;
    let refs = parse(source);
    assert_eq!(refs.roots, [("real".to_string(), 14)]);
    assert_eq!(refs.test_modules, ["fixtures"]);
}

#[test]
fn cycles_are_found_and_reported_with_their_sites() {
    let site = |line| vec![Site { file: "src/a.rs".into(), line }];
    let mut graph: BTreeMap<String, BTreeMap<String, Vec<Site>>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into(), site(1));
    graph.entry("b".into()).or_default().insert("c".into(), site(2));
    graph.entry("c".into()).or_default().insert("a".into(), site(3));
    graph.entry("d".into()).or_default().insert("a".into(), site(4));
    assert_eq!(cycles(&graph), [vec!["a", "b", "c", "a"]]);
    let message = report("app", &graph).expect("a cycle");
    assert!(message.starts_with("app: a -> b -> c -> a\n"), "{message}");
    assert!(message.contains("    src/a.rs:3\n"), "{message}");
    graph.get_mut("c").expect("c").clear();
    assert!(report("app", &graph).is_none());
}

#[test]
fn top_level_modules_come_from_the_crate_root() {
    let root = "pub mod api;\n#[cfg(feature = \"ssr\")]\npub mod controller;\nmod inline { mod no; }\n\
                #[cfg(test)]\nmod tests;\npub(crate) mod web;";
    assert_eq!(declared_modules(root), ["api", "controller", "web"]);
}
