//! The modules of `core/src` form layers: a module imports only from modules of layers below
//! its own, never from one above it or beside it. [`LAYERS`] is the table, kept here and
//! nowhere else; `docs/ARCHITECTURE.md` ("Layers") shows the same table, and this test checks
//! that it does.
//!
//! The check reads every source file of a module (its tests included) and looks at each
//! `crate::` path outside comments: `use crate::plan::Side;`, `crate::engine::now_ns()`,
//! `use crate::{a, b}`, and names re-exported by `lib.rs` (`crate::Error` is `error`'s).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may import from the modules of the layers before its
/// own, and from no other.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["path"],
    &["vocab"],
    &["filter", "location", "state"],
    &["transport"],
    &["compare"],
    &["profile"],
    &["scan", "versions"],
    &["plan"],
    &["engine"],
];

/// The layer of every module.
fn layer_of() -> BTreeMap<&'static str, usize> {
    let mut layers = BTreeMap::new();
    for (n, modules) in LAYERS.iter().enumerate() {
        for m in *modules {
            assert!(layers.insert(*m, n).is_none(), "{m} is in two layers");
        }
    }
    layers
}

fn src() -> PathBuf {
    // At run time, so the check can be pointed at another tree.
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    root.join("src")
}

/// The top-level modules of the crate, from the files of `src`: `x.rs` or `x/mod.rs`.
fn modules(src: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let is_module = match path.extension() {
            Some(ext) => ext == "rs" && name != "lib",
            None => path.join("mod.rs").exists(),
        };
        if is_module {
            out.insert(name);
        }
    }
    out
}

/// Every `.rs` file below `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files of module `m`: `m.rs`, and everything below `m/`.
fn files_of(src: &Path, m: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src.join(format!("{m}.rs"));
    if file.exists() {
        out.push(file);
    }
    if src.join(m).is_dir() {
        files(&src.join(m), &mut out);
    }
    out.sort();
    out
}

/// `line` without its comment (a `//` outside a string literal).
fn code(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first names of the `crate::` paths in `code`, with their offsets: `crate::plan::Side`
/// gives `plan`, `crate::{error::Error, path::RelPath}` gives `error` and `path`.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("crate::") {
        let at = from + found;
        from = at + "crate::".len();
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `my_crate::` and the like
        }
        let rest = &code[from..];
        let Some(group) = rest.strip_prefix('{') else {
            out.push((at, ident(rest).to_string()));
            continue;
        };
        // `crate::{a::X, b::{Y, Z}}`: the first name of each item at the top of the group.
        let (mut depth, mut start) = (0, 0);
        for (i, c) in group.char_indices() {
            let item_ends = match c {
                '{' => {
                    depth += 1;
                    false
                }
                '}' if depth == 0 => true,
                '}' => {
                    depth -= 1;
                    false
                }
                ',' => depth == 0,
                _ => false,
            };
            if item_ends {
                out.push((at, ident(group[start..i].trim()).to_string()));
                start = i + 1;
                if c == '}' {
                    break;
                }
            }
        }
    }
    out.retain(|(_, name)| !name.is_empty());
    out
}

/// The names `lib.rs` re-exports, and the module each comes from.
fn reexports(src: &Path) -> BTreeMap<String, String> {
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let code: String = lib.lines().map(|l| format!("{}\n", code(l))).collect();
    let mut out = BTreeMap::new();
    for stmt in code.split(';') {
        let Some(path) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let (module, names) = path.split_once("::").unwrap();
        let names = names.trim().trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim();
            let name = name.rsplit(" as ").next().unwrap().trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    out
}

/// Every import of one module from another: (importer, imported, file, line number, line).
fn imports(src: &Path) -> Vec<(String, String, PathBuf, usize, String)> {
    let modules = modules(src);
    let reexported = reexports(src);
    let mut out = Vec::new();
    for m in &modules {
        for file in files_of(src, m) {
            let text = fs::read_to_string(&file).unwrap();
            let lines: Vec<&str> = text.lines().map(code).collect();
            let code = lines.join("\n");
            for (at, name) in crate_paths(&code) {
                let target = match reexported.get(&name) {
                    _ if modules.contains(&name) => name,
                    Some(module) => module.clone(),
                    None => continue,
                };
                if &target != m {
                    let line = code[..at].matches('\n').count();
                    out.push((
                        m.clone(),
                        target,
                        file.clone(),
                        line + 1,
                        lines[line].into(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_module_is_in_one_layer() {
    let src = src();
    let layers = layer_of();
    let modules = modules(&src);
    let missing: Vec<&String> = modules
        .iter()
        .filter(|m| !layers.contains_key(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "modules of core/src in no layer of core/tests/layers.rs (and docs/ARCHITECTURE.md): {missing:?}"
    );
    let gone: Vec<&&str> = layers.keys().filter(|m| !modules.contains(**m)).collect();
    assert!(
        gone.is_empty(),
        "layers name modules core/src lacks: {gone:?}"
    );
}

/// Issue 11, item 7: no module imports from a module above it (scan → engine for the cancel
/// token, state ↔ plan for `Side`, state → scan for `Listing`, profile ↔ plan for the
/// conflict policies, transport → engine were the ones there).
#[test]
fn no_module_imports_from_a_module_above_or_beside_it() {
    let src = src();
    let layers = layer_of();
    let mut wrong = Vec::new();
    for (from, to, file, line, text) in imports(&src) {
        let (Some(&a), Some(&b)) = (layers.get(from.as_str()), layers.get(to.as_str())) else {
            continue; // every_module_is_in_one_layer says which
        };
        if b >= a {
            let file = file
                .strip_prefix(&src)
                .unwrap_or(&file)
                .display()
                .to_string();
            wrong.push(format!(
                "{file}:{line}: {from} (layer {a}) imports {to} (layer {b}): {}",
                text.trim()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that reach up or sideways:\n{}",
        wrong.join("\n")
    );
}

/// The table in `docs/ARCHITECTURE.md` says what [`LAYERS`] says: rows `| n | `module` | …`.
#[test]
fn the_documented_layers_are_these() {
    let doc_path = src().join("../../docs/ARCHITECTURE.md");
    let doc = fs::read_to_string(&doc_path).unwrap();
    let mut documented = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[0].is_empty() {
            continue;
        }
        let (Ok(layer), Some(module)) = (
            cells[1].parse::<usize>(),
            cells[2].strip_prefix('`').and_then(|m| m.strip_suffix('`')),
        ) else {
            continue;
        };
        documented.insert(module.to_string(), layer);
    }
    let expected: BTreeMap<String, usize> = layer_of()
        .into_iter()
        .map(|(m, l)| (m.to_string(), l))
        .collect();
    assert_eq!(
        documented, expected,
        "the layer table of docs/ARCHITECTURE.md differs from core/tests/layers.rs"
    );
}

#[test]
fn the_reader_finds_every_kind_of_path() {
    let names = |code: &str| -> Vec<String> {
        crate_paths(code)
            .into_iter()
            .map(|(_, name)| name)
            .collect()
    };
    assert_eq!(names("use crate::plan::Side;"), ["plan"]);
    assert_eq!(
        names("use crate::{\n    error::Error,\n    path::{RelPath, X},\n};"),
        ["error", "path"]
    );
    assert_eq!(
        names("let x = crate::engine::now_ns() + crate::Error::x();"),
        ["engine", "Error"]
    );
    assert!(names("my_crate::plan").is_empty());
    assert_eq!(
        code("let u = \"sftp://h\"; // crate::engine"),
        "let u = \"sftp://h\"; "
    );
}
