//! What the README says of the repository holds: data flows one way, so no
//! two of the library's modules import each other, and nothing a newcomer
//! runs needs the team's workbench beside the clone ([`WORKBENCH`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The library's source files (the binary's `main.rs`, `cli/` and
/// `explain.rs` left out) with their module paths: `src/data/corpus.rs` is
/// `data::corpus`, `src/model/mod.rs` is `model`.
fn library_modules() -> Vec<(Vec<String>, PathBuf)> {
    rust_files(Path::new("src"))
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix("src").unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            let binary = ["main", "cli", "explain"].contains(&parts.first().map_or("", String::as_str));
            (!binary).then_some((parts, path))
        })
        .collect()
}

/// The code of a file without its comments (doc links name modules without importing them).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n")
}

/// Every `crate::a::b…`, `super::…` and `self::…` path in `code`, resolved
/// against the module `at` (`super` is its parent, whether it is a file or a
/// folder's `mod.rs`).
fn paths(code: &str, at: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let code = expand_groups(code);
    let words: Vec<&str> = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).collect();
    for word in words {
        let mut parts = word.split("::").filter(|p| !p.is_empty()).map(str::to_string);
        let Some(head) = parts.next() else { continue };
        let base: Vec<String> = match head.as_str() {
            "crate" => Vec::new(),
            "super" => at[..at.len().saturating_sub(1)].to_vec(),
            "self" => at.to_vec(),
            _ => continue,
        };
        out.push(base.into_iter().chain(parts).collect());
    }
    out
}

/// The names `lib.rs` re-exports at the crate's root (`pub use error::{Error, Result}`),
/// each with the module it comes from: `crate::Error` is an import of `error`.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = code(Path::new("src/lib.rs"));
    let mut out = BTreeMap::new();
    for line in lib.lines().filter_map(|l| l.trim().strip_prefix("pub use ")) {
        let line = line.trim_end_matches(';');
        let Some((module, names)) = line.split_once("::") else { continue };
        for name in names.trim_matches(['{', '}']).split(',') {
            out.insert(name.trim().to_string(), module.to_string());
        }
    }
    out
}

/// `use a::b::{c, d::e}` written out as `a::b::c a::b::d::e` (one level of
/// braces, as the crate's imports have).
fn expand_groups(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(open) = rest.find("::{") {
        let prefix_start =
            rest[..open].rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).map_or(0, |i| i + 1);
        let Some(close) = rest[open..].find('}').map(|i| open + i) else { break };
        out.push_str(&rest[..prefix_start]);
        let prefix = &rest[prefix_start..open];
        for item in rest[open + 3..close].split(',').map(str::trim).filter(|i| !i.is_empty()) {
            out.push_str(&format!(" {prefix}::{} ", item.split_whitespace().next().unwrap_or("")));
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn no_two_modules_import_each_other() {
    let modules = library_modules();
    let known: BTreeSet<Vec<String>> = modules.iter().map(|(m, _)| m.clone()).collect();
    let reexports = root_reexports();
    assert_eq!(reexports.get("Error").map(String::as_str), Some("error"));
    let mut imports: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, path) in &modules {
        for mut p in paths(&code(path), module) {
            if let Some(origin) = p.first().and_then(|name| reexports.get(name)) {
                p.insert(0, origin.clone());
            }
            // The longest known module the path names; a module's own parent or children do not count.
            let Some(target) = (1..=p.len()).rev().map(|k| p[..k].to_vec()).find(|k| known.contains(k)) else {
                continue;
            };
            let related = target.starts_with(module) || module.starts_with(&target);
            if !related {
                imports.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    let mut both_ways = Vec::new();
    for (a, targets) in &imports {
        for b in targets {
            if a < b && imports.get(b).is_some_and(|t| t.contains(a)) {
                both_ways.push(format!("{} <-> {}", a.join("::"), b.join("::")));
            }
        }
    }
    assert!(both_ways.is_empty(), "modules that import each other: {both_ways:?}");
    assert!(imports.contains_key(&vec!["train".to_string()]), "the scan finds imports at all");
}

/// The team's workbench beside the clone, spelled in two parts so that this
/// file, which looks for it, does not name it itself.
const WORKBENCH: &str = concat!("..", "/shared");

#[test]
fn the_readme_and_the_help_need_nothing_beside_the_clone() {
    let mut files = vec![PathBuf::from("README.md")];
    files.extend(rust_files(Path::new("src")));
    files.extend(rust_files(Path::new("tests")));
    files.extend(std::fs::read_dir("bench").unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()));
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(WORKBENCH), "{} names {WORKBENCH}, which a user's clone does not have", path.display());
    }
}
