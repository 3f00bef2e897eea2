//! Docker host discovery on fake machines (no real Docker involved).

use cucumber::{given, then, when};
use crate::conformance::fake_docker::{self as fake, FakeMachine};
use crate::docker::{discover, HttpPing};

use crate::conformance::world::DashWorld;

fn machine(w: &mut DashWorld) -> anyhow::Result<&FakeMachine> {
    if w.machine.is_none() {
        w.machine = Some(FakeMachine::new()?);
    }
    Ok(w.machine.as_ref().expect("just set"))
}

#[given(expr = "a laptop where Colima answers on {string}")]
fn colima(w: &mut DashWorld, path: String) -> anyhow::Result<()> {
    let p = machine(w)?.path(&path);
    fake::daemon(&p)?;
    Ok(())
}

#[given(expr = "a laptop where a stopped Docker left {string}")]
fn stopped(w: &mut DashWorld, path: String) -> anyhow::Result<()> {
    let p = machine(w)?.path(&path);
    fake::dead_socket(&p)?;
    Ok(())
}

#[given("a laptop with no Docker at all")]
fn nothing(w: &mut DashWorld) -> anyhow::Result<()> {
    machine(w)?;
    Ok(())
}

#[given(expr = "DOCKER_HOST points at {string}")]
fn docker_host(w: &mut DashWorld, path: String) -> anyhow::Result<()> {
    let p = machine(w)?.path(&path);
    w.docker_host = Some(format!("unix://{}", p.display()));
    Ok(())
}

#[given(expr = "~\\/.testcontainers.properties sets docker.host to {string}")]
fn properties(w: &mut DashWorld, path: String) -> anyhow::Result<()> {
    let m = machine(w)?;
    let host = format!("unix://{}", m.path(&path).display());
    let file = m.path("~/.testcontainers.properties");
    std::fs::write(&file, format!("# written by the scenario\ndocker.host={host}\n"))?;
    Ok(())
}

#[when("the suite looks for a Docker host")]
fn look(w: &mut DashWorld) -> anyhow::Result<()> {
    let m = machine(w)?;
    let mut env = m.env.clone();
    env.docker_host = w.docker_host.clone();
    w.discovery = Some(discover(&env, &HttpPing::default()));
    Ok(())
}

#[then(expr = "it uses {string}, found through {string}")]
fn uses(w: &mut DashWorld, path: String, source: String) -> anyhow::Result<()> {
    let want = format!("unix://{}", machine(w)?.path(&path).display());
    match w.discovery.as_ref().expect("looked") {
        Ok(found) if found.host == want && found.source == source => {
            w.notes.push(format!("found {} through {} (Docker {})", path, found.source, found.version));
            Ok(())
        }
        Ok(found) => anyhow::bail!("found {} through {}, expected {want} through {source}", found.host, found.source),
        Err(e) => anyhow::bail!("nothing found: {e}"),
    }
}

#[then(expr = "{string} was skipped because it {string}")]
fn skipped(w: &mut DashWorld, path: String, why: String) -> anyhow::Result<()> {
    let host = format!("unix://{}", machine(w)?.path(&path).display());
    let found = w.discovery.as_ref().expect("looked").as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
    let t = found.skipped.iter().find(|t| t.host.as_deref() == Some(host.as_str()));
    match t {
        Some(t) if t.reason.contains(&why) => Ok(()),
        Some(t) => anyhow::bail!("{path} skipped for {:?}", t.reason),
        None => anyhow::bail!("{path} not among the places tried: {:?}", found.skipped),
    }
}

#[then("it finds none")]
fn none(w: &mut DashWorld) -> anyhow::Result<()> {
    match w.discovery.as_ref().expect("looked") {
        Err(e) => {
            w.notes.push(format!("error shown to the user:\n{e}"));
            Ok(())
        }
        Ok(f) => anyhow::bail!("found {} on a machine without Docker", f.host),
    }
}

#[then(expr = "the error lists all {int} usual sockets and DOCKER_HOST")]
fn lists(w: &mut DashWorld, n: usize) -> anyhow::Result<()> {
    let e = w.discovery.as_ref().expect("looked").as_ref().err().ok_or_else(|| anyhow::anyhow!("no error"))?;
    let sockets = e.tried.iter().filter(|t| t.host.as_deref().is_some_and(|h| h.starts_with("unix://"))).count();
    anyhow::ensure!(sockets == n, "{sockets} sockets listed, expected {n}:\n{e}");
    anyhow::ensure!(e.tried.iter().any(|t| t.source == "DOCKER_HOST"), "DOCKER_HOST not listed:\n{e}");
    Ok(())
}

#[then(expr = "the error names {string} as the only place tried, because it set the host explicitly")]
fn only_explicit(w: &mut DashWorld, source: String) -> anyhow::Result<()> {
    let e = w.discovery.as_ref().expect("looked").as_ref().err().ok_or_else(|| anyhow::anyhow!("no error"))?;
    let sources: Vec<&str> = e.tried.iter().map(|t| t.source.as_str()).collect();
    anyhow::ensure!(sources == [source.as_str()], "places tried: {sources:?}, expected only {source:?}:\n{e}");
    anyhow::ensure!(e.explicit.as_deref() == Some(source.as_str()), "not marked explicit ({:?}):\n{e}", e.explicit);
    let shown = e.to_string();
    anyhow::ensure!(shown.contains(&source) && shown.contains("not searched"), "the message does not say so:\n{shown}");
    w.notes.push(format!("error shown to the user:\n{shown}"));
    Ok(())
}

#[then("the error explains how to fix it")]
fn explains(w: &mut DashWorld) -> anyhow::Result<()> {
    let e = w.discovery.as_ref().expect("looked").as_ref().err().ok_or_else(|| anyhow::anyhow!("no error"))?.to_string();
    for needle in ["colima start", "DOCKER_HOST=", "--broker mock"] {
        anyhow::ensure!(e.contains(needle), "the error does not mention {needle:?}:\n{e}");
    }
    Ok(())
}
