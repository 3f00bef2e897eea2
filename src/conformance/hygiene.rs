//! Test hygiene: parse the crate's Rust sources (with `syn`, not text search)
//! and find every test and every ignore attribute.
//! (`file: fn name` identifies an ignored test: syn spans carry no line numbers here.)

use std::path::{Path, PathBuf};

use syn::visit::Visit;


/// What the parse found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub files: usize,
    pub tests: usize,
    /// `file:line` of every ignored test.
    pub ignored: Vec<String>,
    pub unparsable: Vec<String>,
}

/// Parses every `.rs` file under `roots` (skipping `target/` and `features/replicas/`, the deliberate bug replicas).
/// A root itself is never skipped, so a replica's generated tree can be scanned.
pub fn scan(roots: &[PathBuf]) -> Scan {
    let mut s = Scan::default();
    for root in roots {
        walk(root, &mut s, true);
    }
    s
}

fn walk(path: &Path, s: &mut Scan, root: bool) {
    let skip = path.ends_with("target") || path.ends_with("features/replicas") || path.file_name().is_some_and(|n| n == ".git");
    if skip && !root {
        return;
    }
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            walk(&e, s, false);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        let Ok(text) = std::fs::read_to_string(path) else { return };
        match syn::parse_file(&text) {
            Ok(file) => {
                s.files += 1;
                let mut v = Visitor { file: path.display().to_string(), scan: s };
                v.visit_file(&file);
            }
            Err(e) => s.unparsable.push(format!("{}: {e}", path.display())),
        }
    }
}

struct Visitor<'a> {
    file: String,
    scan: &'a mut Scan,
}

fn is_test_attr(a: &syn::Attribute) -> bool {
    a.path().segments.last().is_some_and(|s| s.ident == "test")
}

fn is_ignore_attr(a: &syn::Attribute) -> bool {
    if a.path().is_ident("ignore") {
        return true;
    }
    // #[cfg_attr(cond, ignore)] ignores too.
    a.path().is_ident("cfg_attr") && a.meta.require_list().is_ok_and(|l| l.tokens.to_string().split(',').skip(1).any(|t| t.trim().starts_with("ignore")))
}

impl Visitor<'_> {
    fn attrs(&mut self, attrs: &[syn::Attribute], name: &syn::Ident) {
        if attrs.iter().any(is_test_attr) {
            self.scan.tests += 1;
        }
        if attrs.iter().any(is_ignore_attr) {
            self.scan.ignored.push(format!("{}: fn {name}", self.file));
        }
    }
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.attrs(&f.attrs, &f.sig.ident);
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.attrs(&f.attrs, &f.sig.ident);
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Tests inside macros (proptest!): count test attributes and find ignore attributes in the tokens.
        let tokens: Vec<String> = m.tokens.clone().into_iter().map(|t| t.to_string()).collect();
        for w in tokens.windows(2) {
            if w[0] == "#" && (w[1] == "[test]" || w[1].replace(' ', "") == "[test]") {
                self.scan.tests += 1;
            }
            if w[0] == "#" && w[1].replace(' ', "").starts_with("[ignore") {
                self.scan.ignored.push(format!("{} (inside a macro)", self.file));
            }
        }
        syn::visit::visit_macro(self, m);
    }
}
