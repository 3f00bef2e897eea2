//! Which Kafka image the container backend runs.
//!
//! Default: the official `apache/kafka` image at the pinned version, or the
//! version asked for (`--kafka-version`, or the `KAFKA_VERSION` environment
//! variable that `ci/kafka-image` reads too). `KAFKA_IMAGE` (`name:tag`)
//! overrides both. Without `KAFKA_IMAGE`, when the official image is not on the
//! Docker host but the locally built `dashstream/kafka:<version>-local` is
//! (`ci/kafka-image` builds it from Maven Central jars, for machines without
//! any registry), the local one is used: same contract, same Kafka version.

use std::sync::OnceLock;

/// Kafka version the suite pins.
pub const KAFKA_VERSION: &str = "4.1.1";
/// The official image.
pub const OFFICIAL_IMAGE: &str = "apache/kafka";
/// The image `ci/kafka-image` builds.
pub const LOCAL_IMAGE: &str = "dashstream/kafka";
/// The environment variable naming the Kafka version (as for `ci/kafka-image`).
pub const ENV_VERSION: &str = "KAFKA_VERSION";

static VERSION: OnceLock<String> = OnceLock::new();

/// Sets the Kafka version of every container broker of this process
/// (`--kafka-version`); the first call wins.
pub fn use_version(version: &str) {
    let _ = VERSION.set(version.to_string());
}

/// The Kafka version container brokers run: [`use_version`]'s, else
/// `KAFKA_VERSION`'s, else [`KAFKA_VERSION`].
pub fn version() -> String {
    VERSION.get().cloned().or_else(|| std::env::var(ENV_VERSION).ok().filter(|v| !v.trim().is_empty())).unwrap_or_else(|| KAFKA_VERSION.to_string())
}

/// The tag `ci/kafka-image` gives a version's local build.
pub fn local_tag(version: &str) -> String {
    format!("{version}-local")
}

/// A resolved image reference and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaImage {
    pub name: String,
    pub tag: String,
    /// The Kafka version it runs (as asked for; `KAFKA_IMAGE` may say otherwise in its tag).
    pub version: String,
    pub reason: &'static str,
}

impl std::fmt::Display for KafkaImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

/// Splits `name:tag` (the tag is after the last `:` that follows the last `/`).
pub fn parse_image(s: &str) -> Option<(String, String)> {
    let slash = s.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match s[slash..].rfind(':') {
        Some(i) => (&s[..slash + i], &s[slash + i + 1..]),
        None => (s, "latest"),
    };
    (!name.is_empty() && !tag.is_empty()).then(|| (name.to_string(), tag.to_string()))
}

/// Chooses the image: `KAFKA_IMAGE`, else the official one if present, else the local build if present, else official.
pub async fn resolve() -> KafkaImage {
    let version = version();
    if let Some((name, tag)) = std::env::var("KAFKA_IMAGE").ok().as_deref().and_then(parse_image) {
        return KafkaImage { name, tag, version, reason: "KAFKA_IMAGE" };
    }
    let official = format!("{OFFICIAL_IMAGE}:{version}");
    let local = local_tag(&version);
    if !present(&official).await && present(&format!("{LOCAL_IMAGE}:{local}")).await {
        return KafkaImage { name: LOCAL_IMAGE.into(), tag: local, version, reason: "local build (official image not present)" };
    }
    KafkaImage { name: OFFICIAL_IMAGE.into(), tag: version.clone(), version, reason: "official image" }
}

async fn present(image: &str) -> bool {
    match testcontainers::bollard::Docker::connect_with_defaults() {
        Ok(docker) => docker.inspect_image(image).await.is_ok(),
        Err(_) => false,
    }
}
