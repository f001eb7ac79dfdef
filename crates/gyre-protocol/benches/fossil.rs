//! Throughput of `fossil::create` (and `apply`) on publication-sized payloads.
//!
//!     cargo bench -p gyre-protocol --bench fossil
//!
//! A plain timing loop rather than criterion: the numbers only need to be good enough to spot a
//! regression by eye, and this keeps the crate free of a heavy dev-dependency. Not run in CI.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gyre_protocol::fossil::{apply, create};

/// A JSON-ish payload of about `len` bytes, like a channel state snapshot.
fn payload(len: usize, seed: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0_u32;
    while out.len() < len {
        let score = i.wrapping_mul(2_654_435_761).wrapping_add(seed) % 100_000;
        out.extend_from_slice(format!("{{\"id\":{i},\"user\":\"u{i}\",\"score\":{score}}},").as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// `source` with a few values changed, as the next publication of the same channel would be.
fn next_version(source: &[u8]) -> Vec<u8> {
    let mut target = source.to_vec();
    for k in 1..=4 {
        let at = target.len() * k / 5;
        target[at] = b'#';
    }
    target
}

fn time(label: &str, bytes: usize, mut f: impl FnMut()) {
    // Calibrate to roughly half a second per measurement.
    let mut iters = 1_u64;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        let elapsed = start.elapsed();
        if elapsed >= Duration::from_millis(500) {
            let per = elapsed / iters as u32;
            let mib_s = bytes as f64 * iters as f64 / elapsed.as_secs_f64() / (1 << 20) as f64;
            println!("{label:<40} {per:>10.2?}/op {mib_s:>9.1} MiB/s of target");
            return;
        }
        iters *= 2;
    }
}

fn main() {
    for len in [1024, 64 * 1024] {
        let source = payload(len, 1);
        let similar = next_version(&source);
        let unrelated = payload(len, 7).into_iter().rev().collect::<Vec<u8>>();
        let kib = len / 1024;

        time(&format!("create {kib} KiB, similar"), len, || {
            black_box(create(black_box(&source), black_box(&similar)));
        });
        time(&format!("create {kib} KiB, identical"), len, || {
            black_box(create(black_box(&source), black_box(&source)));
        });
        time(&format!("create {kib} KiB, unrelated"), len, || {
            black_box(create(black_box(&source), black_box(&unrelated)));
        });
        let delta = create(&source, &similar);
        println!(
            "  similar delta: {} bytes for {} bytes",
            delta.len(),
            similar.len()
        );
        time(&format!("apply  {kib} KiB, similar"), len, || {
            black_box(apply(black_box(&source), black_box(&delta)).unwrap());
        });
    }
}
