//! The browser view, embedded at build time: `web/dist/index.html` (one file,
//! scripts and styles inlined; built from `web/src` by `npm run build`, and
//! `ci/web` checks that rebuilding gives the same bytes). Served at `/` with no
//! network access needed at run time.

/// The page served at `/`.
pub const INDEX_HTML: &str = include_str!("../../web/dist/index.html");
