//! Docker host discovery on fake machines (home directories and socket files):
//! no real Docker needed.

use std::path::{Path, PathBuf};

use dashstream::conformance::fake_docker::{self as fake, FakeMachine};
use dashstream::docker::{candidates, discover, DiscoveryEnv, HttpPing};

fn fake_daemon(path: &Path) {
    fake::daemon(path).unwrap();
}

fn dead_socket(path: &Path) {
    fake::dead_socket(path).unwrap();
}

fn fake() -> FakeMachine {
    FakeMachine::new().unwrap()
}

fn home(f: &FakeMachine) -> PathBuf {
    f.env.home.clone().unwrap()
}

fn ping() -> HttpPing {
    HttpPing { timeout: std::time::Duration::from_secs(2) }
}

#[test]
fn docker_host_variable_comes_first() {
    let f = fake();
    let sock = home(&f).join("custom/docker.sock");
    fake_daemon(&sock);
    fake_daemon(&f.env.root.join("var/run/docker.sock"));
    let env = DiscoveryEnv { docker_host: Some(format!("unix://{}", sock.display())), ..f.env.clone() };
    let found = discover(&env, &ping()).unwrap();
    assert_eq!(found.source, "DOCKER_HOST");
    assert_eq!(found.version, "99.0-fake");
}

#[test]
fn colima_socket_is_found_through_docker_host() {
    let f = fake();
    let sock = home(&f).join(".colima/default/docker.sock");
    fake_daemon(&sock);
    let env = DiscoveryEnv { docker_host: Some(format!("unix://{}", sock.display())), ..f.env.clone() };
    assert_eq!(discover(&env, &ping()).unwrap().host, format!("unix://{}", sock.display()));
}

#[test]
fn colima_socket_is_found_by_probing_when_nothing_is_configured() {
    let f = fake();
    let sock = home(&f).join(".colima/default/docker.sock");
    fake_daemon(&sock);
    let found = discover(&f.env, &ping()).unwrap();
    assert_eq!(found.source, "Colima socket");
    assert_eq!(found.host, format!("unix://{}", sock.display()));
}

#[test]
fn properties_file_docker_host_is_used_alone_even_when_another_engine_answers() {
    let f = fake();
    let a = home(&f).join("a.sock");
    let b = home(&f).join("b.sock");
    fake_daemon(&b);
    fake_daemon(&f.env.root.join("var/run/docker.sock"));
    dead_socket(&a);
    std::fs::write(
        home(&f).join(".testcontainers.properties"),
        format!("# comment\ndocker.host=unix://{}\ntc.host = unix://{}\n", a.display(), b.display()),
    )
    .unwrap();
    let err = discover(&f.env, &ping()).unwrap_err();
    assert_eq!(err.explicit.as_deref(), Some("~/.testcontainers.properties docker.host"));
    assert_eq!(err.tried.len(), 1, "{err}");
    assert!(err.tried[0].reason.starts_with("exists but does not answer"), "{}", err.tried[0].reason);
}

#[test]
fn properties_file_tc_host_when_docker_host_is_not_set() {
    let f = fake();
    let b = home(&f).join("b.sock");
    fake_daemon(&b);
    std::fs::write(home(&f).join(".testcontainers.properties"), format!("tc.host = unix://{}\n", b.display())).unwrap();
    let found = discover(&f.env, &ping()).unwrap();
    assert_eq!(found.source, "~/.testcontainers.properties tc.host");
}

#[test]
fn sockets_are_probed_in_the_documented_order() {
    let f = fake();
    let env = &f.env;
    let (h, x) = (home(&f), env.xdg_runtime_dir.clone().unwrap());
    let expected = vec![
        env.root.join("var/run/docker.sock"),
        h.join(".colima/default/docker.sock"),
        h.join(".colima/docker.sock"),
        h.join(".config/colima/default/docker.sock"),
        x.join("docker.sock"),
        h.join(".docker/run/docker.sock"),
        x.join("podman/podman.sock"),
    ];
    let got: Vec<PathBuf> = candidates(env).into_iter().filter_map(|c| c.ok()?.socket).collect();
    assert_eq!(got, expected);
}

#[test]
fn an_existing_socket_that_does_not_answer_is_skipped_with_its_reason() {
    let f = fake();
    dead_socket(&f.env.root.join("var/run/docker.sock"));
    let podman = f.env.xdg_runtime_dir.clone().unwrap().join("podman/podman.sock");
    fake_daemon(&podman);
    let found = discover(&f.env, &ping()).unwrap();
    assert_eq!(found.source, "Podman socket");
    let dead = found.skipped.iter().find(|t| t.source == "default socket").unwrap();
    assert!(dead.reason.contains("exists but does not answer") && dead.reason.contains("cannot connect"), "{}", dead.reason);
}

#[test]
fn with_no_docker_at_all_the_error_lists_every_place_tried_and_the_fixes() {
    let f = fake();
    dead_socket(&home(&f).join(".colima/default/docker.sock"));
    let err = discover(&f.env, &ping()).unwrap_err();
    let text = err.to_string();
    assert_eq!(err.tried.len(), 9, "{text}"); // DOCKER_HOST, the properties file, 7 sockets
    for needle in [
        "DOCKER_HOST: not set",
        "~/.testcontainers.properties",
        "var/run/docker.sock): no such socket",
        ".colima/default/docker.sock): exists but does not answer",
        ".colima/docker.sock): no such socket",
        ".config/colima/default/docker.sock): no such socket",
        "run-user/docker.sock): no such socket",
        ".docker/run/docker.sock): no such socket",
        "podman/podman.sock): no such socket",
        "colima start",
        "DOCKER_HOST=",
        "--broker mock",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn a_tcp_docker_host_that_refuses_is_reported() {
    let f = fake();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = DiscoveryEnv { docker_host: Some(format!("tcp://127.0.0.1:{port}")), ..f.env.clone() };
    let err = discover(&env, &ping()).unwrap_err();
    assert!(err.tried[0].reason.contains("does not answer"), "{:?}", err.tried[0]);
    assert_eq!(err.explicit.as_deref(), Some("DOCKER_HOST"), "an explicit host is never replaced");
}
