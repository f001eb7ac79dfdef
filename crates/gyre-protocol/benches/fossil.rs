//! Throughput of `fossil::create` (and `apply`) on publication-sized payloads.
//!
//!     cargo bench -p gyre-protocol --bench fossil
//!     cargo bench -p gyre-protocol --bench fossil -- --warm-up-time 1 --measurement-time 3
//!
//! Payloads are JSON-ish channel snapshots of 1 KiB and 64 KiB; the target is the same snapshot
//! with four bytes changed (`similar`, the case delta compression exists for), the source itself
//! (`identical`) or a different snapshot reversed (`unrelated`, the worst case: no match, every
//! position hashed). Throughput is bytes of target per second. Not run in CI.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

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

fn benches(c: &mut Criterion) {
    let mut create_group = c.benchmark_group("fossil_create");
    let mut deltas = Vec::new();
    for len in [1024, 64 * 1024] {
        let source = payload(len, 1);
        let similar = next_version(&source);
        let unrelated = payload(len, 7).into_iter().rev().collect::<Vec<u8>>();
        let size = format!("{}KiB", len / 1024);
        create_group.throughput(Throughput::Bytes(len as u64));
        for (shape, target) in [
            ("similar", &similar),
            ("identical", &source),
            ("unrelated", &unrelated),
        ] {
            create_group.bench_function(BenchmarkId::new(shape, &size), |b| {
                b.iter(|| create(black_box(&source), black_box(target)));
            });
        }
        let delta = create(&source, &similar);
        assert_eq!(apply(&source, &delta).expect("valid delta"), similar);
        eprintln!("similar {size}: delta of {} bytes", delta.len());
        deltas.push((size, source, delta));
    }
    create_group.finish();

    let mut apply_group = c.benchmark_group("fossil_apply");
    for (size, source, delta) in &deltas {
        apply_group.throughput(Throughput::Bytes(source.len() as u64));
        apply_group.bench_function(BenchmarkId::new("similar", size), |b| {
            b.iter(|| apply(black_box(source), black_box(delta)).expect("valid delta"));
        });
    }
    apply_group.finish();
}

criterion_group!(fossil, benches);
criterion_main!(fossil);
