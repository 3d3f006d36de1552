//! Micro-benchmarks of duplicate detection: picking a request's idempotency key, and looking it up in an
//! `idempotency_keys` table shaped like hookscope's (`key_hash INTEGER PRIMARY KEY`, the key's xxh3 hash) at 10k and
//! 1M keys.
//! The lookup is a B-tree search, so its cost should grow with log(n) (about 1.5x from 10k to 1M keys), not with n
//! (100x). After the criterion runs, a direct timing prints both costs and their ratio.
//! `cargo bench --bench duplicates`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hookscope::idempotency::request_key;
use rusqlite::{Connection, OptionalExtension, params};
use xxhash_rust::xxh3::xxh3_64;

const SIZES: [u64; 2] = [10_000, 1_000_000];

/// The UUID-shaped key number `n`, spread over the key space like random v4 UUIDs.
fn key(n: u64) -> Vec<u8> {
    let mut x = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        x & 0xfff,
        (n >> 40) & 0xfff,
        n & 0xffff_ffff_ffff
    )
    .into_bytes()
}

/// The hash hookscope stores for a key (`store::keys::key_hash`).
fn key_hash(key: &[u8]) -> i64 {
    i64::from_ne_bytes(xxh3_64(key).to_ne_bytes())
}

/// A database file holding `count` keys (a file in a temporary folder, like the real store, page cache warm).
fn table(count: u64) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut conn = Connection::open(dir.path().join("keys.db")).expect("database");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
         CREATE TABLE idempotency_keys (key_hash INTEGER PRIMARY KEY, first_id INTEGER NOT NULL);",
    )
    .expect("schema");
    let tx = conn.transaction().expect("transaction");
    {
        let mut insert = tx
            .prepare("INSERT INTO idempotency_keys (key_hash, first_id) VALUES (?1, ?2)")
            .expect("insert");
        for n in 0..count {
            insert.execute(params![key_hash(&key(n)), n as i64 + 1]).expect("row");
        }
    }
    tx.commit().expect("commit");
    (dir, conn)
}

/// The writer's lookup, verbatim (after its filter, and before it checks the key against the request's row).
fn lookup(conn: &Connection, key: &[u8]) -> Option<i64> {
    conn.prepare_cached("SELECT first_id FROM idempotency_keys WHERE key_hash = ?1")
        .expect("statement")
        .query_row([key_hash(key)], |row| row.get(0))
        .optional()
        .expect("lookup")
}

fn bench(c: &mut Criterion) {
    let body_key = "26053e97-f78a-4d25-a519-4eed22ba5c41";
    let headers: Vec<(&str, &[u8])> = vec![
        ("host", b"127.0.0.1:8080"),
        ("user-agent", b"provider-webhooks/2.3"),
        ("content-type", b"application/json"),
        ("content-length", b"1024"),
        ("webhook-id", b"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
    ];
    let mut group = c.benchmark_group("request_key");
    group.bench_function("body_key", |b| {
        b.iter(|| request_key(black_box(Some(body_key)), black_box(headers.iter().copied())))
    });
    group.bench_function("webhook_id_header", |b| {
        b.iter(|| request_key(black_box(None), black_box(headers.iter().copied())))
    });
    group.finish();

    let mut costs = Vec::new();
    let mut group = c.benchmark_group("duplicate_lookup");
    for count in SIZES {
        let (_dir, conn) = table(count);
        let probes: Vec<Vec<u8>> = (0..4096u64).map(|i| key((i * 7919) % count)).collect();
        let missing: Vec<Vec<u8>> = (0..4096u64).map(|i| key(count + i)).collect();
        let mut i = 0;
        group.bench_function(format!("hit_{count}_keys"), |b| {
            b.iter(|| {
                i = (i + 1) % probes.len();
                lookup(&conn, black_box(&probes[i]))
            })
        });
        group.bench_function(format!("miss_{count}_keys"), |b| {
            b.iter(|| {
                i = (i + 1) % missing.len();
                lookup(&conn, black_box(&missing[i]))
            })
        });
        // A direct timing for the summary below.
        let rounds = 200_000;
        let started = Instant::now();
        for round in 0..rounds {
            let probe = if round % 2 == 0 {
                &probes[round % probes.len()]
            } else {
                &missing[round % missing.len()]
            };
            black_box(lookup(&conn, probe));
        }
        costs.push((count, started.elapsed().as_nanos() as f64 / rounds as f64));
    }
    group.finish();

    let ((small, small_ns), (large, large_ns)) = (costs[0], costs[1]);
    println!();
    println!("duplicate lookup (half hits, half misses): {small} keys {small_ns:.0} ns, {large} keys {large_ns:.0} ns");
    println!(
        "growth {:.2}x for {}x the keys; logarithmic would be {:.2}x, linear {}x",
        large_ns / small_ns,
        large / small,
        (large as f64).log2() / (small as f64).log2(),
        large / small
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
