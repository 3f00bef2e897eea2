//! Compiles proto/dashstream.proto with protox (pure Rust): no system `protoc`,
//! and writes its descriptor set next to the generated code.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/dashstream.proto");
    let fds = protox::compile(["proto/dashstream.proto"], ["proto"])?;
    // The schema itself, for checking legacy frames field by field and for other protobuf libraries in tests.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("dashstream.fds"), prost::Message::encode_to_vec(&fds))?;
    let mut config = prost_build::Config::new();
    config
        .btree_map(["."])
        .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]")
        .message_attribute(".", "#[serde(default, deny_unknown_fields)]")
        .enum_attribute(".dashstream.v1.Envelope.payload", "#[serde(rename_all = \"snake_case\")]");
    config.compile_fds(fds)?;
    Ok(())
}
