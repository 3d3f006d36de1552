//! Starting and stopping the real binary: every bad configuration ends with one clear sentence, never a panic.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_hookscope");

fn run_to_end(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("HOOKSCOPE_LISTEN")
        .env_remove("HOOKSCOPE_DB")
        .stdin(Stdio::null())
        .output()
        .expect("run hookscope")
}

/// Asserts that hookscope refused to start with one sentence on stderr that contains `expected`.
fn assert_refused(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should have failed: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    let lines: Vec<_> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one sentence expected, got: {stderr}");
    assert!(lines[0].starts_with("hookscope: "), "{stderr}");
    assert!(lines[0].contains(expected), "expected {expected:?} in: {stderr}");
}

/// A hookscope process that has printed its banner.
pub struct Running {
    pub child: Child,
    pub url: String,
}

pub fn start(db: &Path) -> Running {
    start_with(db, &[], Stdio::inherit())
}

/// Starts hookscope on `db` with more flags, its log (at `warn`) going to `log`.
pub fn start_with(db: &Path, args: &[&str], log: Stdio) -> Running {
    let mut child = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("HOOKSCOPE_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start hookscope");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let url = first
        .split_whitespace()
        .last()
        .filter(|url| url.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in banner: {first}"))
        .to_owned();
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Running { child, url }
}

impl Running {
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("send SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "hookscope did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn taken_port_is_refused_with_one_sentence() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("h.db");
    let output = run_to_end(&["--listen", &addr, "--db", db.to_str().expect("utf-8 path")]);
    assert_refused(&output, "already in use");
}

#[test]
fn sqlite_file_of_another_program_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&db).expect("create");
    conn.execute_batch("CREATE TABLE invoices (id INTEGER); INSERT INTO invoices VALUES (1);")
        .expect("fill");
    drop(conn);
    let before = std::fs::read(&db).expect("read");
    let output = run_to_end(&["--listen", "127.0.0.1:0", "--db", db.to_str().expect("path")]);
    assert_refused(&output, "another program");
    assert_eq!(std::fs::read(&db).expect("read"), before);
}

#[test]
fn file_that_is_not_sqlite_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("notes.txt");
    std::fs::write(&db, "my precious notes, not a database\n").expect("write");
    let output = run_to_end(&["--listen", "127.0.0.1:0", "--db", db.to_str().expect("path")]);
    assert_refused(&output, "not a SQLite database");
    assert_eq!(
        std::fs::read_to_string(&db).expect("read"),
        "my precious notes, not a database\n"
    );
}

#[test]
fn database_locked_by_another_process_is_refused_after_waiting() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("locked.db");
    let holder = rusqlite::Connection::open(&db).expect("open");
    holder
        .execute_batch("BEGIN EXCLUSIVE; CREATE TABLE t (x);")
        .expect("lock");
    let started = Instant::now();
    let output = run_to_end(&["--listen", "127.0.0.1:0", "--db", db.to_str().expect("path")]);
    assert_refused(&output, "locked by another process");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "it waits a few seconds first"
    );
    drop(holder);
}

#[test]
fn unwritable_database_location_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let db = file.join("sub/h.db");
    let output = run_to_end(&["--listen", "127.0.0.1:0", "--db", db.to_str().expect("path")]);
    assert_refused(&output, "cannot create the folder");
}

#[test]
fn folder_as_database_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let output = run_to_end(&["--listen", "127.0.0.1:0", "--db", dir.path().to_str().expect("path")]);
    assert_refused(&output, "is a folder");
}

#[test]
fn bad_flag_values_are_one_sentence() {
    assert_refused(&run_to_end(&["--max-body", "lots"]), "--max-body");
    assert_refused(&run_to_end(&["--listen", "nowhere"]), "--listen");
    assert_refused(&run_to_end(&["--status", "99"]), "--status");
    assert_refused(&run_to_end(&["--max-body", "0"]), "--max-body must be at least 1");
    assert_refused(
        &run_to_end(&["--respond", "/flaky=99"]),
        "status 99 is not one hookscope answers with",
    );
    assert_refused(&run_to_end(&["--respond", "flaky=200"]), "a path pattern starts with /");
}

#[test]
fn help_explains_every_flag() {
    let output = run_to_end(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--listen",
        "--db",
        "--max-body",
        "--keep",
        "--sync",
        "--status",
        "HOOKSCOPE_LISTEN",
        "HOOKSCOPE_DB",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn empty_file_becomes_a_new_database_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("empty.db");
    std::fs::write(&db, "").expect("create empty file");
    let running = start(&db);
    assert_eq!(raw_http::post(&running.url), 200);
    let status = running.terminate();
    assert!(status.success(), "exit status {status}");
    let conn = rusqlite::Connection::open(&db).expect("reopen");
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM requests", [], |row| row.get(0))
        .expect("count");
    assert_eq!(stored, 1);
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("check");
    assert_eq!(integrity, "ok");
}

#[test]
fn store_of_an_earlier_development_build_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("old.db");
    let conn = rusqlite::Connection::open(&db).expect("create");
    conn.execute_batch("CREATE TABLE requests_1 (id INTEGER PRIMARY KEY); INSERT INTO requests_1 VALUES (1);")
        .expect("fill");
    conn.pragma_update(None, "application_id", 0x486b_5370).expect("ours");
    conn.pragma_update(None, "user_version", 6).expect("version");
    drop(conn);
    let before = std::fs::read(&db).expect("read");
    let output = run_to_end(&["--listen", "127.0.0.1:0", "--db", db.to_str().expect("path")]);
    assert_refused(&output, "earlier development build of hookscope (schema version 6)");
    assert!(String::from_utf8_lossy(&output.stderr).contains("move it aside or delete it"));
    assert_eq!(std::fs::read(&db).expect("read"), before);
}

/// Everything a store's file says about its shape and contents, to compare across a restart.
#[derive(Debug, PartialEq)]
struct StoreSnapshot {
    schema: Vec<(String, String, Option<String>)>,
    counters: Vec<(String, i64)>,
    ids: Vec<i64>,
    version: i64,
}

fn store_snapshot(db: &Path) -> StoreSnapshot {
    let conn = rusqlite::Connection::open(db).expect("open");
    let schema = conn
        .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name")
        .expect("schema")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("rows")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("schema rows");
    let counters = conn
        .prepare("SELECT name, value FROM counters ORDER BY name")
        .expect("counters")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("rows")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("counter rows");
    let ids = conn
        .prepare("SELECT id FROM requests ORDER BY id")
        .expect("ids")
        .query_map([], |row| row.get(0))
        .expect("rows")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("id rows");
    let version = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("version");
    StoreSnapshot {
        schema,
        counters,
        ids,
        version,
    }
}

#[test]
fn store_of_the_current_version_reopens_unchanged() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("current.db");
    let running = start(&db);
    for _ in 0..3 {
        assert_eq!(raw_http::post(&running.url), 200);
    }
    assert!(running.terminate().success());
    let before = store_snapshot(&db);
    assert_eq!(before.ids, vec![1, 2, 3]);
    assert_eq!(before.version, 12);
    assert!(start(&db).terminate().success());
    assert_eq!(store_snapshot(&db), before);
}

/// The first lines hookscope prints when it starts with `args` on a database in `dir`.
fn banner(dir: &Path, args: &[&str]) -> String {
    let mut child = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(dir.join("b.db"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("HOOKSCOPE_TOKEN")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start");
    let stdout = child.stdout.take().expect("stdout");
    // The banner ends with the sample curl.
    let mut banner = Vec::new();
    for line in BufReader::new(stdout).lines().take(12) {
        let line = line.unwrap_or_default();
        let last = line.contains("curl -X POST");
        banner.push(line);
        if last {
            break;
        }
    }
    child.kill().expect("kill");
    let _ = child.wait();
    banner.join("\n")
}

#[test]
fn banner_prints_the_inspector_url_and_a_curl() {
    let dir = tempfile::tempdir().expect("dir");
    let text = banner(dir.path(), &[]);
    assert!(text.contains("inspector: http://127.0.0.1:"), "{text}");
    assert!(text.contains("curl -X POST http://127.0.0.1:"), "{text}");
    assert!(
        text.contains("retention: the newest 100,000 requests are kept"),
        "{text}"
    );
    let unlimited = banner(dir.path(), &["--keep", "0"]);
    assert!(
        unlimited.contains("retention: every request is kept (--keep 0)"),
        "{unlimited}"
    );
}

#[test]
fn behind_a_tunnel_the_banner_gives_the_public_url_with_the_token() {
    let dir = tempfile::tempdir().expect("dir");
    let text = banner(
        dir.path(),
        &["--public-url", "https://t.example.dev/", "--token", "abc"],
    );
    assert!(
        text.contains("send to:   https://t.example.dev  (the address providers use)"),
        "{text}"
    );
    assert!(text.contains("inspector: https://t.example.dev/?token=abc"), "{text}");
    assert!(text.contains("curl -X POST https://t.example.dev/hooks/demo"), "{text}");
    let refused = run_to_end(&["--listen", "127.0.0.1:0", "--public-url", "t.example.dev"]);
    assert_refused(&refused, "--public-url");
}

#[test]
fn a_hookscope_toml_in_the_folder_is_applied_and_named_and_a_mistake_in_it_is_one_sentence() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("hookscope.toml"),
        "[[endpoint]]\nname = \"flaky\"\npath = \"/flaky\"\nrespond = [{ status = 500 }]\n",
    )
    .expect("write");
    let output = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--db", "h.db"])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .env_remove("HOOKSCOPE_CONFIG")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start");
    let mut child = output;
    let stdout = child.stdout.take().expect("stdout");
    let mut banner = Vec::new();
    for line in BufReader::new(stdout).lines().take(12) {
        let line = line.unwrap_or_default();
        let last = line.contains("curl -X POST");
        banner.push(line);
        if last {
            break;
        }
    }
    let url = banner[0].split_whitespace().last().expect("URL").to_owned();
    assert!(
        banner
            .iter()
            .any(|line| line.contains("config:    hookscope.toml (1 endpoint)")),
        "{banner:?}"
    );
    assert_eq!(raw_http::post_body(&url, "/flaky", "{}"), 500);
    child.kill().expect("kill");
    let _ = child.wait();

    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[[endpoint]]\nname = \"a\"\npath = \"/a\"\ntoken = \"hunter2\"\n",
    )
    .expect("write");
    let output = run_to_end(&["--listen", "127.0.0.1:0", "--config", broken.to_str().expect("path")]);
    assert_refused(&output, "broken.toml:4:");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("token") && !stderr.contains("hunter2"), "{stderr}");
}

/// The idempotency key in the banner's sample curl.
fn sample_key(banner: &str) -> String {
    let start = banner.find("\"idempotency_key\":\"").expect("a key in the sample") + "\"idempotency_key\":\"".len();
    banner[start..].split('"').next().expect("key").to_owned()
}

#[test]
fn the_banners_sample_has_a_fresh_key_each_start_so_the_readme_session_is_no_duplicate() {
    let dir = tempfile::tempdir().expect("dir");
    let (first, second) = (
        sample_key(&banner(dir.path(), &[])),
        sample_key(&banner(dir.path(), &[])),
    );
    assert_ne!(first, second);
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README");
    assert!(!readme.contains(&first) && !readme.contains(&second));
    assert!(uuid::Uuid::try_parse(&first).is_ok(), "{first}");
}

#[test]
fn logs_are_plain_words_without_colour_codes_and_a_full_database_names_its_limit() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--max-db-size", "256KiB", "--db"])
        .arg(dir.path().join("log.db"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hookscope");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let url = first.split_whitespace().last().expect("URL").to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    let valid = r#"{"event":"invoices.created","message":"m","idempotency_key":"5f1c6f0e-7f7e-4a8e-9d55-1f5e0c4b8a11","environment":"staging","data":{"id":1}}"#;
    assert_eq!(raw_http::post_body(&url, "/log", valid), 200);
    let big = format!("\"{}\"", "x".repeat(16 * 1024));
    let full = (0..64).any(|_| raw_http::post_body(&url, "/fill", &big) == 507);
    assert!(full, "the database filled up");
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().expect("SIGTERM");
    let output = child.wait_with_output().expect("wait");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!log.contains('\u{1b}'), "no colour codes in a piped log: {log}");
    assert!(log.contains("valid=true") && log.contains("duplicate_of=none"), "{log}");
    assert!(!log.contains("Some("), "{log}");
    assert!(log.contains("--max-db-size"), "{log}");
}

#[test]
fn a_token_given_on_loopback_guards_the_inspector_there_too() {
    let dir = tempfile::tempdir().expect("dir");
    let running = start_with(&dir.path().join("t.db"), &["--token", "s3cret"], Stdio::inherit());
    assert_eq!(raw_http::get(&running.url, "/_/api/stats", None), 401);
    assert_eq!(raw_http::get(&running.url, "/_/api/stats", Some("s3cret")), 200);
    assert_eq!(raw_http::post(&running.url), 200, "capture needs no token");
    assert!(running.terminate().success());
}

#[test]
fn a_database_already_over_its_size_limit_is_warned_about_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("big.db");
    create_store(&db);
    let size = std::fs::metadata(&db).expect("database").len();
    assert!(size > 4096, "a store is more than a page: {size}");
    let running = start_with(&db, &["--max-db-size", "4KiB"], Stdio::piped());
    let mut child = running.child;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("SIGTERM");
    let mut log = String::new();
    use std::io::Read as _;
    child.stderr.take().expect("log").read_to_string(&mut log).expect("log");
    assert!(child.wait().expect("exit").success());
    let warning: Vec<&str> = log.lines().filter(|line| line.contains("over --max-db-size")).collect();
    assert_eq!(warning.len(), 1, "{log}");
    assert!(
        warning[0].contains("captures are answered 507 until requests are deleted"),
        "{log}"
    );
}

/// Creates a hookscope store at `db` and stops.
fn create_store(db: &Path) {
    assert!(start(db).terminate().success());
}

/// Minimal blocking POST over a raw socket, so these process tests need no async runtime.
mod raw_http {
    use std::io::{Read, Write};

    pub fn get(base: &str, path: &str, bearer: Option<&str>) -> u16 {
        let authorization = bearer
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        exchange(base, &format!("GET {path} HTTP/1.1\r\n{authorization}\r\n"))
    }

    pub fn post(base: &str) -> u16 {
        post_body(base, "/hook", "{}")
    }

    pub fn post_body(base: &str, path: &str, body: &str) -> u16 {
        exchange(
            base,
            &format!(
                "POST {path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
    }

    /// Sends a request (its line, headers, blank line and body) with `Host` and `Connection: close` added after
    /// the request line; returns the answer's status.
    fn exchange(base: &str, head: &str) -> u16 {
        let authority = base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(authority).expect("connect");
        let (request_line, rest) = head.split_once("\r\n").expect("a request line");
        write!(
            stream,
            "{request_line}\r\nHost: {authority}\r\nConnection: close\r\n{rest}"
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }
}
