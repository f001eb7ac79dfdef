//! The committed generated code (`src/generated/`) must be what the `.proto` files in `proto/`
//! produce. Regenerate after editing a schema (or upgrading prost/tonic) with:
//!
//! ```sh
//! GYRE_REGENERATE=1 cargo test -p gyre-grpc --test codegen
//! ```
//!
//! Generation is pure Rust (protox parses the schemas, tonic-prost-build writes the code), so no
//! `protoc` binary is needed and the normal build has no build script.

use std::path::{Path, PathBuf};

use prost::Message as _;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn descriptors(file: &str) -> prost_types::FileDescriptorSet {
    protox::Compiler::new([crate_dir().join("proto")])
        .expect("proto include dir")
        .include_imports(true)
        .include_source_info(false)
        .open_file(file)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .file_descriptor_set()
}

/// Generates every file into `out` and returns their names.
fn generate(out: &Path) -> Vec<&'static str> {
    let api = descriptors("api.proto");
    // Bytes fields as `bytes::Bytes`: payloads pass to and from the executor without copies.
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .generate_default_stubs(true)
        .bytes(".")
        .out_dir(out)
        .compile_fds(api.clone())
        .expect("generating the API code");
    std::fs::write(out.join("api_descriptor.bin"), api.encode_to_vec()).unwrap();

    // The uni stream server is written by hand (pushes leave the core already encoded); only
    // the messages and a client are generated.
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .bytes(".")
        .out_dir(out)
        .compile_fds(descriptors("unistream.proto"))
        .expect("generating the uni stream code");
    vec![
        "centrifugal.centrifugo.api.rs",
        "api_descriptor.bin",
        "centrifugal.centrifugo.unistream.rs",
    ]
}

#[test]
fn committed_code_is_current() {
    let out = std::env::temp_dir().join(format!("gyre-grpc-codegen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let files = generate(&out);
    let committed = crate_dir().join("src/generated");
    let regenerate = std::env::var_os("GYRE_REGENERATE").is_some();
    let mut stale = Vec::new();
    for name in files {
        let fresh = std::fs::read(out.join(name)).unwrap();
        let path = committed.join(name);
        if regenerate {
            std::fs::write(&path, &fresh).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&fresh[..]) {
            stale.push(name);
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `GYRE_REGENERATE=1 cargo test -p gyre-grpc --test codegen`"
    );
}
