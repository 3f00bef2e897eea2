//! Which Kafka image the container backend runs.
//!
//! Default: the official `apache/kafka` image at a pinned version. `KAFKA_IMAGE`
//! (`name:tag`) overrides it. Without `KAFKA_IMAGE`, when the official image is
//! not on the Docker host but the locally built `dashstream/kafka` image is
//! (`ci/kafka-image` builds it from Maven Central jars, for machines without
//! any registry), the local one is used: same contract, same Kafka version.

/// Kafka version the suite pins.
pub const KAFKA_VERSION: &str = "4.1.1";
/// The official image.
pub const OFFICIAL_IMAGE: &str = "apache/kafka";
/// The image `ci/kafka-image` builds.
pub const LOCAL_IMAGE: &str = "dashstream/kafka";
/// Its tag.
pub const LOCAL_TAG: &str = "4.1.1-local";

/// A resolved image reference and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaImage {
    pub name: String,
    pub tag: String,
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
    if let Some((name, tag)) = std::env::var("KAFKA_IMAGE").ok().as_deref().and_then(parse_image) {
        return KafkaImage { name, tag, reason: "KAFKA_IMAGE" };
    }
    let official = format!("{OFFICIAL_IMAGE}:{KAFKA_VERSION}");
    let local = format!("{LOCAL_IMAGE}:{LOCAL_TAG}");
    if !present(&official).await && present(&local).await {
        return KafkaImage { name: LOCAL_IMAGE.into(), tag: LOCAL_TAG.into(), reason: "local build (official image not present)" };
    }
    KafkaImage { name: OFFICIAL_IMAGE.into(), tag: KAFKA_VERSION.into(), reason: "official default" }
}

async fn present(image: &str) -> bool {
    match testcontainers::bollard::Docker::connect_with_defaults() {
        Ok(docker) => docker.inspect_image(image).await.is_ok(),
        Err(_) => false,
    }
}
