//! Test hygiene: parse the crate's Rust sources (with `syn`, not text search)
//! and find every test and every ignore attribute, wherever it hides: on a
//! function, behind `cfg_attr` (nested too), or inside any macro's tokens
//! (`proptest!`, `macro_rules!` bodies), at any depth.
//! (`file: fn name` identifies an ignored test: syn spans carry no line numbers here.)

use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Meta, Token};

/// What the parse found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub files: usize,
    pub tests: usize,
    /// `file: fn name` (or `file (inside a macro)`) of every ignore attribute.
    pub ignored: Vec<String>,
    pub unparsable: Vec<String>,
    /// Files that could not be read: the scan cannot vouch for them.
    pub unreadable: Vec<String>,
}

/// Parses every `.rs` file under `roots`, skipping only `target/` and `.git`
/// below a root (the replicas in `features/replicas` are scanned like any
/// code). A root itself is never skipped, so a replica's generated tree under
/// `target/` can be scanned when it is given as a root.
pub fn scan(roots: &[PathBuf]) -> Scan {
    let mut s = Scan::default();
    for root in roots {
        walk(root, &mut s, true);
    }
    s
}

fn walk(path: &Path, s: &mut Scan, root: bool) {
    let skip = path.file_name().is_some_and(|n| n == "target" || n == ".git");
    if skip && !root {
        return;
    }
    if path.is_dir() {
        let mut entries = Vec::new();
        match std::fs::read_dir(path) {
            Ok(dir) => {
                for e in dir {
                    match e {
                        Ok(e) => entries.push(e.path()),
                        Err(e) => s.unreadable.push(format!("{}: {e}", path.display())),
                    }
                }
            }
            Err(e) => s.unreadable.push(format!("{}: {e}", path.display())),
        }
        entries.sort();
        for e in entries {
            walk(&e, s, false);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        parse_file(path, s);
    } else if root && !path.exists() {
        s.unreadable.push(format!("{}: no such file or directory", path.display()));
    }
}

fn parse_file(path: &Path, s: &mut Scan) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return s.unreadable.push(format!("{}: {e}", path.display())),
    };
    match syn::parse_file(&text) {
        Ok(file) => {
            s.files += 1;
            Visitor { file: path.display().to_string(), scan: s }.visit_file(&file);
        }
        Err(e) => s.unparsable.push(format!("{}: {e}", path.display())),
    }
}

struct Visitor<'a> {
    file: String,
    scan: &'a mut Scan,
}

/// `#[test]`, `#[tokio::test]`, ...
fn is_test(meta: &Meta) -> bool {
    meta.path().segments.last().is_some_and(|s| s.ident == "test")
}

/// The ignore attribute, bare or with a reason, or `ignore` anywhere among the
/// attributes a `cfg_attr` (however nested) would apply.
fn is_ignore(meta: &Meta) -> bool {
    if meta.path().is_ident("ignore") {
        return true;
    }
    if !meta.path().is_ident("cfg_attr") {
        return false;
    }
    let Ok(list) = meta.require_list() else { return false };
    let Ok(args) = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) else { return false };
    args.iter().skip(1).any(is_ignore)
}

impl Visitor<'_> {
    fn fn_attrs(&mut self, attrs: &[syn::Attribute], name: &syn::Ident) {
        if attrs.iter().any(|a| is_test(&a.meta)) {
            self.scan.tests += 1;
        }
        if attrs.iter().any(|a| is_ignore(&a.meta)) {
            self.scan.ignored.push(format!("{}: fn {name}", self.file));
        }
    }

    /// Every `#[...]` in `tokens`, at any depth of groups.
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Punct(p) if p.as_char() == '#' => {
                    // `#[...]` or the inner form `#![...]`.
                    let next = match trees.get(i + 1) {
                        Some(TokenTree::Punct(bang)) if bang.as_char() == '!' => trees.get(i + 2),
                        other => other,
                    };
                    if let Some(TokenTree::Group(g)) = next.filter(|t| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket)) {
                        self.attr_tokens(g.stream());
                    }
                }
                TokenTree::Group(g) => self.tokens(g.stream()),
                _ => {}
            }
        }
    }

    fn attr_tokens(&mut self, attr: TokenStream) {
        let Ok(meta) = syn::parse2::<Meta>(attr) else { return };
        if is_test(&meta) {
            self.scan.tests += 1;
        }
        if is_ignore(&meta) {
            self.scan.ignored.push(format!("{} (inside a macro)", self.file));
        }
    }
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.fn_attrs(&f.attrs, &f.sig.ident);
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.fn_attrs(&f.attrs, &f.sig.ident);
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.fn_attrs(&f.attrs, &f.sig.ident);
        syn::visit::visit_trait_item_fn(self, f);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_source(source: &str) -> Scan {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("x.rs"), source).expect("write");
        scan(&[dir.path().to_path_buf()])
    }

    #[test]
    fn finds_ignore_wherever_it_hides() {
        let attr = format!("#[{}", "ignore");
        let cases = [
            format!("{attr}] #[test] fn a() {{}}"),
            format!("#[cfg_attr(unix, {})]\n#[test] fn a() {{}}", &attr[2..]),
            "#[cfg_attr(unix, cfg_attr(test, IGN))] #[test] fn a() {}".replace("IGN", &attr[2..]),
            format!("proptest! {{ #[test] #[cfg_attr(unix, {})] fn p(x in 0..1u8) {{}} }}", &attr[2..]),
            format!("macro_rules! m {{ () => {{ mod inner {{ {attr}] #[test] fn a() {{}} }} }} }}"),
            format!("some! {{ [ ( {attr} = \"why\"] #[test] fn a() {{}} ) ] }}"),
        ];
        for source in cases {
            let s = scan_source(&source);
            assert_eq!(s.ignored.len(), 1, "not found in: {source}");
            assert_eq!(s.tests, 1, "test not counted in: {source}");
        }
        assert!(scan_source("#[cfg_attr(unix, allow(dead_code))] #[test] fn a() {}").ignored.is_empty());
    }

    #[test]
    fn an_unreadable_root_is_reported() {
        let s = scan(&[PathBuf::from("/nonexistent/dashstream-hygiene")]);
        assert_eq!(s.unreadable.len(), 1, "{s:?}");
    }
}
