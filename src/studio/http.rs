//! The studio's HTTP side: a fixed set of routes (no route takes a file
//! path), a guard in front of all of them, and the embedded page.
//!
//! The guard refuses any request whose `Host` is not this server's port on
//! `localhost` or an IP address (a DNS-rebinding page reaches us under its
//! own name), whose `Origin` is another site's, or that the browser marks
//! as sent from another site (`Sec-Fetch-Site`), so no other page can read
//! or change the user's files through us. Changes are JSON POSTs, which a
//! cross-site form cannot send.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::service::{Failure, Studio};
use crate::core::Gender;

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");
const ICON: &str = include_str!("assets/icon.svg");

type Shared = State<Arc<Studio>>;

pub fn router(studio: Arc<Studio>, port: u16) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset(PAGE, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/app.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
        .route("/icon.svg", get(|| async { asset(ICON, "image/svg+xml") }))
        .route("/api/book", get(book))
        .route("/api/status", get(status))
        .route("/api/chapter/{n}", get(chapter))
        .route("/api/cast", get(cast).post(set_cast))
        .route("/api/voices", get(voices))
        .route("/api/speaker", axum::routing::post(set_speaker))
        .route("/api/audio/line/{i}", get(line_audio))
        .route("/api/audio/sample", get(sample_audio))
        .route("/api/render", get(render_status).post(start_render))
        .route("/out/{name}", get(output))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(middleware::from_fn_with_state(port, guard))
        .with_state(studio)
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Whether `host` (a `Host` header) names this server: `localhost` or an
/// IP address, at `port`. A domain name is refused even if it resolves
/// here: that is what a DNS-rebinding page looks like.
pub fn host_allowed(host: &str, port: u16) -> bool {
    let (name, given_port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        (inside, after.strip_prefix(':'))
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    let port_ok = given_port.map_or(port == 80, |p| p.parse::<u16>() == Ok(port));
    let name_ok = name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok();
    port_ok && name_ok
}

/// Whether `origin` (an `Origin` header) is this server's own page.
pub fn origin_allowed(origin: &str, port: u16) -> bool {
    origin
        .strip_prefix("http://")
        .is_some_and(|host| !host.contains('/') && host_allowed(host, port))
}

fn refuse(why: String) -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(serde_json::json!({ "error": why })),
    )
        .into_response()
}

async fn guard(State(port): State<u16>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    match text(header::HOST) {
        Some(host) if host_allowed(host, port) => {}
        host => {
            return refuse(format!(
                "castbook studio answers only to its own address (localhost or an IP, port {port}), not Host {host:?}"
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("?");
        if !origin_allowed(origin, port) {
            return refuse(format!(
                "castbook studio answers only to its own page, not to {origin}"
            ));
        }
    }
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site, "same-origin" | "none")
    {
        return refuse(format!(
            "castbook studio answers only to its own page, not to a {site} request"
        ));
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = match self {
            Failure::Bad(_) => StatusCode::BAD_REQUEST,
            Failure::NotFound(_) => StatusCode::NOT_FOUND,
            Failure::Stale(_) => StatusCode::CONFLICT,
            Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Runs `work` on a blocking thread (files, synthesis) and answers with it.
async fn blocking<T: Send + 'static>(
    studio: Arc<Studio>,
    work: impl FnOnce(&Arc<Studio>) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(move || work(&studio))
        .await
        .map_err(|e| Failure::Internal(format!("the request failed: {e}")))?
}

async fn book(State(studio): Shared) -> Result<Response, Failure> {
    blocking(studio, |s| Ok(Json(s.book()).into_response())).await
}

async fn status(State(studio): Shared) -> Result<Response, Failure> {
    blocking(studio, |s| Ok(Json(s.status()).into_response())).await
}

async fn chapter(State(studio): Shared, Path(n): Path<usize>) -> Result<Response, Failure> {
    blocking(studio, move |s| Ok(Json(s.chapter(n)?).into_response())).await
}

async fn cast(State(studio): Shared) -> Result<Response, Failure> {
    blocking(studio, |s| Ok(Json(s.cast()).into_response())).await
}

async fn voices(State(studio): Shared) -> Result<Response, Failure> {
    blocking(studio, |s| Ok(Json(s.voices()).into_response())).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeakerChange {
    segment: usize,
    /// None (`null`): no speaker.
    speaker: Option<String>,
    /// The script version the page shows.
    version: String,
}

async fn set_speaker(
    State(studio): Shared,
    Json(change): Json<SpeakerChange>,
) -> Result<Response, Failure> {
    blocking(studio, move |s| {
        let speaker = change.speaker.as_deref().map(str::trim);
        Ok(Json(s.set_speaker(change.segment, speaker, &change.version)?).into_response())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CastChange {
    /// None (`null`): the narrator.
    name: Option<String>,
    voice: Option<String>,
    gender: Option<Gender>,
    /// The voices.toml version the page shows.
    version: String,
}

async fn set_cast(
    State(studio): Shared,
    Json(change): Json<CastChange>,
) -> Result<Response, Failure> {
    blocking(studio, move |s| {
        let view = s.set_cast(
            change.name.as_deref(),
            change.voice.as_deref(),
            change.gender,
            &change.version,
        )?;
        Ok(Json(view).into_response())
    })
    .await
}

fn wav(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response()
}

async fn line_audio(State(studio): Shared, Path(i): Path<usize>) -> Result<Response, Failure> {
    blocking(studio, move |s| Ok(wav(s.line_audio(i)?))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sample {
    /// Absent: the narrator.
    name: Option<String>,
    /// The page's file versions: a new address when the voice may differ.
    #[serde(rename = "v")]
    _versions: Option<String>,
}

async fn sample_audio(
    State(studio): Shared,
    Query(sample): Query<Sample>,
) -> Result<Response, Failure> {
    blocking(studio, move |s| {
        Ok(wav(s.sample_audio(sample.name.as_deref())?))
    })
    .await
}

async fn render_status(State(studio): Shared) -> Result<Response, Failure> {
    blocking(studio, |s| Ok(Json(s.render_status()).into_response())).await
}

async fn start_render(
    State(studio): Shared,
    Json(_): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<Response, Failure> {
    blocking(studio, |s| Ok(Json(s.start_render()?).into_response())).await
}

/// An output file the manifest names, with single byte ranges (players
/// seek with them). Streamed in pieces: chapter WAVs are large.
async fn output(
    State(studio): Shared,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    blocking(studio, move |s| {
        let path = s
            .output_file(&name)
            .ok_or_else(|| Failure::NotFound("not found".into()))?;
        serve_file(path, range.as_deref())
    })
    .await
}

fn content_type(path: &std::path::Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("wav") => "audio/wav",
        Some("json") => "application/json",
        Some("mp3") => "audio/mpeg",
        Some("m4b" | "m4a") => "audio/mp4",
        Some("opus" | "ogg") => "audio/ogg",
        Some("vtt") => "text/vtt; charset=utf-8",
        Some("srt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `bytes=START-[END]` within `len`, as an inclusive range.
fn byte_range(range: &str, len: u64) -> Option<(u64, u64)> {
    let (start, end) = range.strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => len.checked_sub(1)?,
        end => end.parse::<u64>().ok()?.min(len.checked_sub(1)?),
    };
    (start <= end).then_some((start, end))
}

fn serve_file(path: PathBuf, range: Option<&str>) -> Result<Response, Failure> {
    use std::io::{Read, Seek, SeekFrom};
    let not_found = |_| Failure::NotFound("not found".into());
    let mut file = std::fs::File::open(&path).map_err(not_found)?;
    let len = file.metadata().map_err(not_found)?.len();
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, len),
        Some(range) => match byte_range(range, len) {
            Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end + 1),
            None => {
                return Ok((
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{len}"))],
                )
                    .into_response());
            }
        },
    };
    file.seek(SeekFrom::Start(start)).map_err(not_found)?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    std::thread::spawn(move || {
        let mut left = end - start;
        let mut file = file;
        while left > 0 {
            let mut piece = vec![0u8; left.min(256 * 1024) as usize];
            let result = file.read_exact(&mut piece).map(|()| piece);
            let failed = result.is_err();
            if sender.blocking_send(result).is_err() || failed {
                break;
            }
            left -= (256 * 1024u64).min(left);
        }
    });
    let mut response = Response::new(Body::from_stream(Pieces(receiver)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {start}-{}/{len}", end - 1);
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&value).expect("ASCII"),
        );
    }
    Ok(response)
}

/// A file's pieces as the body stream axum wants.
struct Pieces(tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>);

impl futures_core::Stream for Pieces {
    type Item = std::io::Result<Vec<u8>>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_servers_own_names_are_answered() {
        for ok in [
            "127.0.0.1:4870",
            "localhost:4870",
            "LOCALHOST:4870",
            "[::1]:4870",
            "192.168.1.9:4870",
        ] {
            assert!(host_allowed(ok, 4870), "{ok}");
        }
        for bad in [
            "evil.example:4870",
            "127.0.0.1:4871",
            "127.0.0.1",
            "localhost.evil.example:4870",
            "[::1",
            "",
            "127.0.0.1:4870:4870",
        ] {
            assert!(!host_allowed(bad, 4870), "{bad}");
        }
        assert!(origin_allowed("http://127.0.0.1:4870", 4870));
        for bad in [
            "null",
            "https://127.0.0.1:4870",
            "http://evil.example:4870",
            "http://127.0.0.1:4870/x",
            "http://127.0.0.1:9",
        ] {
            assert!(!origin_allowed(bad, 4870), "{bad}");
        }
    }

    #[test]
    fn byte_ranges_stay_inside_the_file() {
        assert_eq!(byte_range("bytes=0-", 10), Some((0, 9)));
        assert_eq!(byte_range("bytes=2-5", 10), Some((2, 5)));
        assert_eq!(byte_range("bytes=2-50", 10), Some((2, 9)));
        assert_eq!(byte_range("bytes=12-", 10), None);
        assert_eq!(byte_range("bytes=-5", 10), None);
        assert_eq!(byte_range("bytes=0-", 0), None);
        assert_eq!(byte_range("items=0-1", 10), None);
    }
}
