//! Compiles proto/dashstream.proto with protox (pure Rust): no system `protoc`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/dashstream.proto");
    let fds = protox::compile(["proto/dashstream.proto"], ["proto"])?;
    let mut config = prost_build::Config::new();
    config
        .btree_map(["."])
        .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
        .message_attribute(".", "#[serde(default, deny_unknown_fields)]")
        .enum_attribute(".dashstream.v1.Envelope.payload", "#[serde(rename_all = \"snake_case\")]");
    config.compile_fds(fds)?;
    Ok(())
}
