//! Cross-implementation check: deltas from `create` are applied by the official SDKs' own fossil
//! decoders (centrifuge-js under node, centrifuge-python in the interop venv) and must reproduce
//! the target byte for byte.
//!
//! Both runtimes come from `tests/interop` (`tests/interop/run.sh --collect-only` installs them).
//! When one is missing the test says so on stderr and passes, unless `GYRE_REQUIRE_SDK_FOSSIL=1`,
//! which turns the missing runtime into a failure (scripts/test.sh sets it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use gyre_protocol::fossil::{apply, create};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn runners() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fossil")
}

/// Reports an unavailable runtime: a failure when required, a loud skip otherwise.
fn unavailable(what: &str) {
    let required = std::env::var("GYRE_REQUIRE_SDK_FOSSIL").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "GYRE_REQUIRE_SDK_FOSSIL=1 but {what}; run tests/interop/run.sh --collect-only"
    );
    // Straight to the process's stderr: the test harness swallows `eprintln!` of passing tests,
    // and a skip must not look like a pass.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED fossil SDK cross-check: {what} (run tests/interop/run.sh --collect-only)"
    );
}

/// Small deterministic generator so the case set is the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..n).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }
}

/// Source/target pairs: the golden fixtures plus generated "previous publication / next
/// publication" pairs, textual and binary, similar and unrelated, tiny and large.
fn cases() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut cases = Vec::new();
    let golden = runners().join("golden");
    let mut stems: Vec<PathBuf> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "source"))
        .map(|p| p.with_extension(""))
        .collect();
    stems.sort();
    for stem in stems {
        let name = format!("golden_{}", stem.file_name().unwrap().to_string_lossy());
        let source = std::fs::read(stem.with_extension("source")).unwrap();
        let target = std::fs::read(stem.with_extension("target")).unwrap();
        cases.push((name, source, target));
    }

    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let binary: Vec<u8> = (0..=255).collect();
    let alphabets: [&[u8]; 4] = [&binary, b"ab", b"{}\":,abcdef0123", "é€😀x".as_bytes()];
    for i in 0..60 {
        let alphabet = alphabets[i % alphabets.len()];
        let len = [0, 3, 16, 17, 40, 300, 1024, 5000, 65_536][rng.below(9)];
        let source = rng.bytes(len, alphabet);
        let mut target = source.clone();
        for _ in 0..rng.below(10) {
            let at = rng.below(target.len() + 1);
            match rng.below(3) {
                0 => {
                    let end = (at + rng.below(50)).min(target.len());
                    target.drain(at..end);
                }
                1 => {
                    let n = rng.below(50);
                    let fresh = rng.bytes(n, alphabet);
                    target.splice(at..at, fresh);
                }
                _ => {
                    let from = rng.below(source.len() + 1);
                    let end = (from + rng.below(200)).min(source.len());
                    target.splice(at..at, source[from..end].iter().copied());
                }
            }
        }
        if i % 7 == 0 {
            let len = rng.below(400);
            target = rng.bytes(len, alphabet);
        }
        cases.push((format!("gen_{i:02}"), source, target));
    }
    cases
}

/// Writes every case with its delta into a fresh directory and returns it.
fn write_cases(tag: &str) -> (PathBuf, Vec<(String, Vec<u8>)>) {
    let dir = std::env::temp_dir().join(format!("gyre-fossil-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut expected = Vec::new();
    for (name, source, target) in cases() {
        let delta = create(&source, &target);
        // The Rust decoder agrees before the SDKs are asked.
        assert_eq!(apply(&source, &delta).unwrap(), target, "{name}");
        std::fs::write(dir.join(format!("{name}.source")), &source).unwrap();
        std::fs::write(dir.join(format!("{name}.delta")), &delta).unwrap();
        expected.push((name, target));
    }
    (dir, expected)
}

/// Runs one SDK runner over the cases and compares its `.TAG.out` files with the targets.
fn check_sdk(tag: &str, mut command: Command) {
    let (dir, expected) = write_cases(tag);
    let output = command.arg(&dir).output().expect("runner could not start");
    assert!(
        output.status.success(),
        "{tag} runner failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&output.stdout).trim());

    let mut failures = Vec::new();
    for (name, target) in &expected {
        let out = dir.join(format!("{name}.{tag}.out"));
        let err = dir.join(format!("{name}.{tag}.err"));
        match std::fs::read(&out) {
            Ok(bytes) if &bytes == target => {}
            Ok(bytes) => failures.push(format!(
                "{name}: {} bytes, expected {}",
                bytes.len(),
                target.len()
            )),
            Err(_) => failures.push(format!(
                "{name}: {}",
                std::fs::read_to_string(&err).unwrap_or_else(|_| "no output".into())
            )),
        }
    }
    assert!(expected.len() >= 75, "only {} cases", expected.len());
    assert!(
        failures.is_empty(),
        "{tag} decoder disagrees:\n{}",
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn centrifuge_js_applies_our_deltas() {
    let bundle = repo_root().join("tests/interop/node_modules/centrifuge/build/index.js");
    if !bundle.is_file() {
        return unavailable(&format!("{} is missing", bundle.display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return unavailable("node is not on PATH");
    }
    let mut command = Command::new("node");
    command.arg(runners().join("apply_js.cjs")).arg(&bundle);
    check_sdk("js", command);
}

#[test]
fn centrifuge_python_applies_our_deltas() {
    let python = repo_root().join("tests/interop/.venv/bin/python");
    if !python.is_file() {
        return unavailable(&format!("{} is missing", python.display()));
    }
    let mut command = Command::new(python);
    command.arg(runners().join("apply_py.py"));
    check_sdk("py", command);
}
