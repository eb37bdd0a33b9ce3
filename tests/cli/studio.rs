//! `castbook studio` over plain HTTP, request bytes exactly as written (an
//! HTTP client would tidy the paths we want to send): a stale write is
//! refused, a foreign Host or Origin is refused, and no path trick reads
//! or writes a file other than the ones the studio names.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};

use crate::{Test, sample_story};

struct Studio {
    child: Child,
    port: u16,
    test: Test,
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Studio {
    fn start(test: Test) -> Studio {
        let test = test.args(&["studio", "story.txt", "-o", "out", "--port", "0"]);
        let mut child = test
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start castbook studio");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address");
        let port = line
            .trim()
            .strip_prefix("castbook studio: http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Studio { child, port, test }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sends `head` (request line and headers, without the blank line) and `body`.
    fn send(&self, head: &str, body: &str) -> Reply {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let request = format!(
            "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).expect("read reply");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad reply: {text:?}"));
        Reply {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        }
    }

    fn get(&self, target: &str) -> Reply {
        self.send(
            &format!("GET {target} HTTP/1.1\r\nHost: {}", self.host()),
            "",
        )
    }

    fn post(&self, target: &str, json: &serde_json::Value) -> Reply {
        self.send(
            &format!(
                "POST {target} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nContent-Type: application/json",
                host = self.host()
            ),
            &json.to_string(),
        )
    }

    fn json(&self, target: &str) -> serde_json::Value {
        let reply = self.get(target);
        assert_eq!(reply.status, 200, "{target}: {}", reply.body);
        serde_json::from_str(&reply.body).expect("JSON")
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.test.path().join(name)).unwrap_or_default()
    }

    /// The first dialogue line of chapter 1 and the script's version.
    fn first_line(&self) -> (u64, String) {
        let chapter = self.json("/api/chapter/1");
        let line = chapter["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["k"] == "d")
            .unwrap()["i"]
            .as_u64()
            .unwrap();
        let book = self.json("/api/book");
        let version = book["files"]["script"]["version"]
            .as_str()
            .unwrap()
            .to_owned();
        (line, version)
    }
}

impl Drop for Studio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn studio() -> Studio {
    Studio::start(
        Test::new()
            .story(&sample_story())
            .voices("[narrator]\nvoice = \"espeak:en-us\"  # kept\n")
            .file("secret.txt", "TOP-SECRET-7391\n")
            .file("out/secret-in-out.txt", "OUT-SECRET-2210\n")
            .file("out/01-one.wav", "RIFF-not-really-a-wav")
            .file(
                "out/manifest.json",
                r#"{"chapters": [
                    {"index": 1, "title": "One", "file": "01-one.wav", "duration_s": 1.0},
                    {"index": 2, "title": "Trick", "file": "../secret.txt", "duration_s": 1.0},
                    {"index": 3, "title": "Trick", "file": "/etc/passwd", "duration_s": 1.0}]}"#,
            ),
    )
}

/// Every file under `dir` with a hash of its contents, except the segment
/// cache (the output folder is the studio's to write: hearing a line fills
/// the cache).
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            if name == "out/.cache" {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                let hash = blake3::hash(&std::fs::read(&path).unwrap()).to_hex()[..16].to_owned();
                out.push((name, hash));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_stale_write_is_refused_and_the_file_left_alone() {
    let studio = studio();
    let (line, version) = studio.first_line();
    let change = |speaker: &str, version: &str| serde_json::json!({"segment": line, "speaker": speaker, "version": version});
    let first = studio.post("/api/speaker", &change("Fennick", &version));
    assert_eq!(first.status, 200, "{}", first.body);
    let script = studio.read("story.txt.script");
    assert!(script.contains("\n@Fennick: \""), "{script}");
    // The same page again, with the version it had: refused.
    let stale = studio.post("/api/speaker", &change("Maren Holt", &version));
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.body.contains("changed since"), "{}", stale.body);
    assert_eq!(studio.read("story.txt.script"), script);
    // An editor changes the file under the page: the page's version is stale.
    let current: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    let current = current["files"]["script"]["version"].as_str().unwrap();
    let edited = script.replace("@Fennick:", "@Someone Else:");
    std::fs::write(studio.test.path().join("story.txt.script"), &edited).unwrap();
    let stale = studio.post("/api/speaker", &change("Maren Holt", current));
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(studio.read("story.txt.script"), edited);
    // voices.toml too.
    let voices = studio.read("voices.toml");
    let stale = studio.post(
        "/api/cast",
        &serde_json::json!({"name": null, "voice": "espeak:en-gb-x-rp", "version": "0000"}),
    );
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(studio.read("voices.toml"), voices);
    // With the current version it is written, comments kept.
    let book = studio.json("/api/book");
    let ok = studio.post(
        "/api/cast",
        &serde_json::json!({"name": null, "voice": "espeak:en-gb-x-rp",
            "version": book["files"]["voices"]["version"]}),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(
        studio
            .read("voices.toml")
            .starts_with("[narrator]\nvoice = \"espeak:en-gb-x-rp\"  # kept\n"),
        "{}",
        studio.read("voices.toml")
    );
}

#[test]
fn foreign_hosts_origins_and_sites_are_refused() {
    let studio = studio();
    let port = studio.port;
    let (line, version) = studio.first_line();
    let before = snapshot(studio.test.path());
    let body =
        serde_json::json!({"segment": line, "speaker": "Fennick", "version": version}).to_string();
    let host = studio.host();
    for (head, why) in [
        (
            format!("GET / HTTP/1.1\r\nHost: evil.example:{port}"),
            "rebinding name",
        ),
        (
            format!("GET /api/book HTTP/1.1\r\nHost: localhost.evil.example:{port}"),
            "rebinding name",
        ),
        (
            "GET /api/book HTTP/1.1\r\nHost: 127.0.0.1:1".to_owned(),
            "other port",
        ),
        ("GET /api/book HTTP/1.0".to_owned(), "no Host"),
        (
            format!("GET /api/book HTTP/1.1\r\nHost: {host}\r\nOrigin: http://evil.example"),
            "foreign origin",
        ),
        (
            format!("GET /api/book HTTP/1.1\r\nHost: {host}\r\nOrigin: null"),
            "opaque origin",
        ),
        (
            format!(
                "GET /api/audio/line/{line} HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: cross-site"
            ),
            "cross-site fetch",
        ),
        (
            format!("GET /api/book HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-site"),
            "same-site fetch",
        ),
        (
            format!(
                "POST /api/speaker HTTP/1.1\r\nHost: {host}\r\nOrigin: http://evil.example\r\nContent-Type: application/json"
            ),
            "cross-site write",
        ),
        (
            format!(
                "POST /api/speaker HTTP/1.1\r\nHost: evil.example:{port}\r\nContent-Type: application/json"
            ),
            "rebinding write",
        ),
    ] {
        let reply = studio.send(&head, &body);
        assert_eq!(reply.status, 403, "{why}: {head}\n{}", reply.body);
        assert!(!reply.body.contains("Lighthouse"), "{why}: {}", reply.body);
    }
    // A form post (no JSON content type) can't write either.
    let form = studio.send(
        &format!("POST /api/speaker HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain"),
        &body,
    );
    assert_eq!(form.status, 415, "{}", form.body);
    assert_eq!(snapshot(studio.test.path()), before, "nothing written");
    // Its own page, under its own names, is answered.
    for name in [host.clone(), format!("localhost:{port}")] {
        let reply = studio.send(&format!("GET / HTTP/1.1\r\nHost: {name}"), "");
        assert_eq!(reply.status, 200, "{name}");
        assert!(reply.body.contains("castbook studio"));
        assert!(
            reply.head.to_lowercase().contains("x-frame-options: deny"),
            "{}",
            reply.head
        );
    }
}

#[test]
fn path_tricks_reach_no_other_file() {
    let studio = studio();
    let secrets = [
        "TOP-SECRET-7391",
        "OUT-SECRET-2210",
        "root:x:0:0",
        "[narrator]",
        "Gull Point shook",
    ];
    let listed = studio.get("/out/01-one.wav");
    assert_eq!(listed.status, 200, "a file the manifest names is served");
    assert_eq!(listed.body, "RIFF-not-really-a-wav");
    assert_eq!(studio.get("/out/manifest.json").status, 200);
    let host = studio.host();
    for target in [
        "/out/secret-in-out.txt".to_owned(),
        "/out/../secret.txt".to_owned(),
        "/out/..%2fsecret.txt".to_owned(),
        "/out/%2e%2e%2fsecret.txt".to_owned(),
        "/out/%2e%2e/secret.txt".to_owned(),
        "/out/..%5csecret.txt".to_owned(),
        "/out/%2Fetc%2Fpasswd".to_owned(),
        "/out//etc/passwd".to_owned(),
        "/out/%00".to_owned(),
        "/../secret.txt".to_owned(),
        "/%2e%2e/secret.txt".to_owned(),
        "/../../../../etc/passwd".to_owned(),
        "//etc/passwd".to_owned(),
        "/secret.txt".to_owned(),
        "/story.txt".to_owned(),
        "/voices.toml".to_owned(),
        "/app.js/../secret.txt".to_owned(),
        "/api/chapter/..%2f..%2fsecret.txt".to_owned(),
        "/api/audio/line/..%2fsecret.txt".to_owned(),
        "/api/audio/sample?name=../../secret.txt".to_owned(),
        "/etc/passwd".to_owned(),
        format!("http://{host}/../secret.txt"),
        format!("http://{host}/out/..%2fsecret.txt"),
    ] {
        let reply = studio.get(&target);
        assert!(
            (400..500).contains(&reply.status),
            "{target}: {} {}",
            reply.status,
            reply.body
        );
        for secret in secrets {
            assert!(!reply.body.contains(secret), "{target} leaked {secret}");
        }
    }
    // Writes: only the script and voices.toml, whatever names the page sends.
    let before = snapshot(studio.test.path());
    let (line, version) = studio.first_line();
    for (target, body) in [
        (
            "/api/speaker",
            serde_json::json!({"segment": line, "speaker": "Ann", "version": version, "path": "/tmp/x"}),
        ),
        (
            "/api/speaker",
            serde_json::json!({"segment": line, "speaker": "../../etc/passwd:", "version": version}),
        ),
        (
            "/api/speaker",
            serde_json::json!({"segment": 1_000_000, "speaker": "Ann", "version": version}),
        ),
        (
            "/api/cast",
            serde_json::json!({"name": "../../secret", "voice": "espeak:en-us", "version": "x"}),
        ),
        (
            "/api/cast",
            serde_json::json!({"name": null, "voice": "piper:/etc/passwd", "version": "x", "file": "/tmp/y"}),
        ),
    ] {
        let reply = studio.post(target, &body);
        assert!(
            (400..500).contains(&reply.status),
            "{target} {body}: {} {}",
            reply.status,
            reply.body
        );
    }
    assert_eq!(snapshot(studio.test.path()), before, "nothing written");
    let written = studio.post(
        "/api/speaker",
        &serde_json::json!({"segment": line, "speaker": "../../secret.txt", "version": version}),
    );
    assert_eq!(written.status, 200, "any name is a name: {}", written.body);
    let after = snapshot(studio.test.path());
    let changed: Vec<&str> = after
        .iter()
        .filter(|file| !before.contains(file))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(changed, ["story.txt.script"]);
    assert_eq!(studio.read("secret.txt"), "TOP-SECRET-7391\n");
}

#[test]
fn what_it_cannot_open_stops_it_with_one_line() {
    let out = Test::new()
        .args(&["studio", "missing.txt", "--port", "0"])
        .fails(2);
    assert!(out.stderr.contains("missing.txt"), "{}", out.stderr);
    let out = Test::new()
        .story(&sample_story())
        .file("notes.txt", "my own notes\n")
        .args(&[
            "studio",
            "story.txt",
            "--script",
            "notes.txt",
            "--port",
            "0",
        ])
        .fails(2);
    assert!(
        out.stderr
            .contains("notes.txt exists and is not a castbook script"),
        "{}",
        out.stderr
    );
    assert_eq!(out.read("notes.txt"), b"my own notes\n");
    let out = Test::new()
        .story(&sample_story())
        .voices("[narrator]\nvoic = \"espeak:en-us\"\n")
        .args(&["studio", "story.txt", "--port", "0"])
        .fails(2);
    assert!(out.stderr.contains("voices.toml:2:1"), "{}", out.stderr);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Test::new()
        .story(&sample_story())
        .args(&["studio", "story.txt", "--port", &port])
        .fails(2);
    assert!(
        out.stderr.contains("another program uses that port"),
        "{}",
        out.stderr
    );
}
