//! Golden fossil deltas: for every `NAME.source` / `NAME.target` pair in
//! `tests/fixtures/fossil/golden`, `create` must emit exactly `NAME.delta`, the bytes the Go
//! encoder Centrifugo links (`shadowspore/fossil-delta`) produced for the same pair, and `apply`
//! must turn that delta back into the target.
//!
//! `GYRE_FOSSIL_GOLDEN_DIR` points the test at another directory laid out the same way.

use std::path::{Path, PathBuf};

use gyre_protocol::fossil::{apply, create};

/// Fewer cases than this means fixtures went missing, not that everything matched.
const MIN_CASES: usize = 15;

fn golden_dir() -> (PathBuf, bool) {
    match std::env::var_os("GYRE_FOSSIL_GOLDEN_DIR") {
        Some(dir) => (PathBuf::from(dir), true),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fossil/golden"),
            false,
        ),
    }
}

#[test]
fn create_matches_go_encoder_byte_for_byte() {
    let (dir, overridden) = golden_dir();
    let mut stems: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "source"))
        .map(|path| path.with_extension(""))
        .collect();
    stems.sort();
    if !overridden {
        assert!(stems.len() >= MIN_CASES, "only {} golden cases", stems.len());
    }
    assert!(!stems.is_empty(), "no golden cases in {}", dir.display());

    let mut failures = Vec::new();
    for stem in &stems {
        let read = |ext: &str| std::fs::read(stem.with_extension(ext)).unwrap();
        let (source, target, expected) = (read("source"), read("target"), read("delta"));
        let name = stem.file_name().unwrap().to_string_lossy().into_owned();

        let delta = create(&source, &target);
        if delta != expected {
            failures.push(format!(
                "{name}: create differs\n  ours: {}\n  go:   {}",
                String::from_utf8_lossy(&delta).escape_debug(),
                String::from_utf8_lossy(&expected).escape_debug()
            ));
        }
        match apply(&source, &expected) {
            Ok(out) if out == target => {}
            Ok(_) => failures.push(format!("{name}: applying the Go delta gives other bytes")),
            Err(e) => failures.push(format!("{name}: applying the Go delta fails: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
