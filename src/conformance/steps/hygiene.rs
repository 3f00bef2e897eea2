//! Test-hygiene steps: the crate's sources parsed for tests and ignore
//! attributes, and a nested run proving that a step nobody wrote fails the run.

use cucumber::{given, then, when, World as _, WriterExt as _};

use crate::conformance::hygiene::scan;
use crate::conformance::world::DashWorld;

#[when("the crate's Rust sources are parsed")]
fn parse(w: &mut DashWorld) {
    let s = scan(&w.env().scan_roots);
    w.notes.push(format!("parsed {} Rust files: {} tests, {} ignored", s.files, s.tests, s.ignored.len()));
    w.scan = Some(s);
}

#[then(expr = "at least {int} tests are found")]
fn tests_found(w: &mut DashWorld, n: usize) -> anyhow::Result<()> {
    let s = w.scan.as_ref().expect("parsed");
    anyhow::ensure!(s.unparsable.is_empty(), "could not parse: {:?}", s.unparsable);
    anyhow::ensure!(s.tests >= n, "only {} tests found in {} files", s.tests, s.files);
    Ok(())
}

#[then("no test is marked ignored")]
fn none_ignored(w: &mut DashWorld) -> anyhow::Result<()> {
    let s = w.scan.as_ref().expect("parsed");
    anyhow::ensure!(s.unreadable.is_empty(), "could not read: {}", s.unreadable.join(", "));
    anyhow::ensure!(s.unparsable.is_empty(), "could not parse: {:?}", s.unparsable);
    anyhow::ensure!(s.ignored.is_empty(), "ignored tests: {}", s.ignored.join(", "));
    Ok(())
}

/// A tiny world for the nested run.
#[derive(Debug, Default, cucumber::World)]
struct Nested;

#[given("a step that exists")]
fn exists(_: &mut Nested) {}

#[when("a scenario with an undefined step is run the way the suite runs")]
async fn nested(w: &mut DashWorld) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let feature = dir.path().join("undefined.feature");
    std::fs::write(&feature, "Feature: nested\n  Scenario: has a step nobody wrote\n    Given a step that exists\n    Then a step that nobody defined\n")?;
    let writer = Nested::cucumber()
        .with_writer(cucumber::writer::Basic::raw(std::io::sink(), cucumber::writer::Coloring::Never, 0).summarized().normalized())
        .fail_on_skipped()
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
        .run(feature)
        .await;
    let failed = cucumber::writer::Stats::execution_has_failed(&writer);
    w.notes.push(format!("nested run with an undefined step: failed = {failed}"));
    w.nested_failed = Some(failed);
    Ok(())
}

#[then("that run fails")]
fn fails(w: &mut DashWorld) -> anyhow::Result<()> {
    anyhow::ensure!(w.nested_failed == Some(true), "a run with an undefined step passed");
    Ok(())
}
